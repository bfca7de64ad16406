"""Accuracy on document pages: A4 text pages in Chinese and English, ours beside RapidOCR and
faster-paddle (its bundled PP-OCRv6 small, or tiny beside ppocrv5-mobile).

Pages are generated here, deterministically (fixed seed), from bench/doctext/ (public
domain and CC0 prose, see its README): 1240x1754 (A4 at 150 dpi), real fonts (DejaVu
Sans/Serif for English, Noto Sans/Serif CJK for Chinese, from Debian's fonts-dejavu-core
and fonts-noto-cjk), paragraphs wrapped to the page, then mild scan damage: a skew of at
most 1 degree, a slight blur, grey-level noise and JPEG compression. The line
transcripts are exactly the wrapped lines. Both engines get the same JPEG bytes, with the
same threads, each in its own process (bench/runners.py); RapidOCR with our model files.

Reported per model set and language: page CER (edit distance over the page's text in
reading order / its length; whitespace ignored for Chinese, runs of whitespace counted
as one space for English) and, for English, bag-of-words F1 (case-insensitive).

    python -m bench.documents [--models ppocrv6-small ppocrv5-mobile] [--pages 4] [--out DIR]
                              [--backends onnxruntime openvino-bf16] [--rounds N]
                              [--peers rapidocr faster-paddle]

Ours runs on the default backend ("auto", labelled as what it resolves to here) unless
--backends names others.

Also seconds per page, end to end and per stage (det includes post-processing and crops),
each engine fed every page in turn (who goes first rotates), after one warm-up page.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocrcore.session import BACKENDS, DEFAULT_BACKEND

from .metrics import edit_distance
from .pagekit import FONTS, MARGIN, PAGE, scan_damage, wrap
from .results import json_option, machine, save
from .runners import PEERS, make_engine, ours_kinds

TEXTS = Path(__file__).resolve().parent / "doctext"
SEED = 14


@dataclass
class Page:
    lang: str
    jpeg: bytes
    lines: list[str]


def make_page(lang: str, number: int, rng: np.random.Generator) -> Page:
    """One page: paragraphs from a rotating start in the text, until the page is full."""
    paragraphs = [p.strip() for p in (TEXTS / f"{lang}.txt").read_text(encoding="utf-8").splitlines() if p.strip()]
    font_path = FONTS[lang][number % 2]
    size = int(rng.integers(24, 33))
    font = ImageFont.truetype(font_path, size)
    leading = int(size * rng.uniform(1.45, 1.8))
    image = Image.new("L", PAGE, 255)
    draw = ImageDraw.Draw(image)
    width = PAGE[0] - 2 * MARGIN
    y, lines, index = MARGIN, [], number * 3
    while True:
        paragraph = paragraphs[index % len(paragraphs)]
        index += 1
        indent = 2 * size if lang == "zh" else 0  # Chinese paragraphs start two characters in
        wrapped = wrap(paragraph, font, width, lang, indent)
        if y + leading * len(wrapped) > PAGE[1] - MARGIN:
            break
        for i, text in enumerate(wrapped):
            draw.text((MARGIN + (indent if i == 0 else 0), y), text, fill=int(rng.integers(0, 40)), font=font)
            lines.append(text)
            y += leading
        y += leading // 2  # paragraph gap
    return Page(lang, scan_damage(image, rng), lines)


def make_pages(per_language: int) -> list[Page]:
    rng = np.random.default_rng(SEED)
    return [make_page(lang, n, rng) for lang in ("zh", "en") for n in range(per_language)]


def _text(lines: list[str], lang: str) -> str:
    joined = " ".join(lines)
    return re.sub(r"\s+", "", joined) if lang == "zh" else re.sub(r"\s+", " ", joined).strip()


def _words(lines: list[str]) -> Counter:
    return Counter(w for line in lines for w in line.upper().split())


@dataclass
class Score:
    edits: int = 0
    chars: int = 0
    word_tp: int = 0
    word_pred: int = 0
    word_truth: int = 0

    def add(self, predicted: list[str], truth: list[str], lang: str) -> None:
        gt = _text(truth, lang)
        self.edits += edit_distance(_text(predicted, lang), gt)
        self.chars += len(gt)
        pw, tw = _words(predicted), _words(truth)
        self.word_tp += sum((pw & tw).values())
        self.word_pred += sum(pw.values())
        self.word_truth += sum(tw.values())

    @property
    def cer(self) -> float:
        return self.edits / self.chars if self.chars else 0.0

    @property
    def word_f1(self) -> float:
        return 2 * self.word_tp / (self.word_pred + self.word_truth) if self.word_pred + self.word_truth else 0.0


def bench_model(model: str, threads: int, pages: list[Page], kinds: list[str], rounds: int = 1) -> tuple[dict, dict]:
    """Scores per engine and language, and per engine its mean seconds per page (total and per stage)."""
    engines = {kind: make_engine(kind, model, threads) for kind in kinds}
    scores = {kind: {"zh": Score(), "en": Score()} for kind in kinds}
    times: dict[str, dict[str, float]] = {kind: {} for kind in kinds}
    for run in engines.values():
        run(pages[0].jpeg)  # sessions and first-shape allocations outside the timing
    step = 0
    for round_no in range(rounds):
        for page in pages:
            order = kinds[step % len(kinds) :] + kinds[: step % len(kinds)]
            step += 1
            for kind in order:
                elapsed, lines, stages = engines[kind](page.jpeg)
                for name, value in {"total": elapsed, **stages}.items():
                    times[kind][name] = times[kind].get(name, 0.0) + value / (len(pages) * rounds)
                if round_no == 0:
                    scores[kind][page.lang].add([text for text, _, _ in lines], page.lines, page.lang)
    for kind, run in engines.items():
        times[kind]["peak_rss_mb"] = run.close() / 2**20
    return scores, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["ppocrv6-small", "ppocrv5-mobile"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pages", type=int, default=4, help="pages per language")
    parser.add_argument("--out", type=Path, help="also write the pages (JPEG) and their transcripts here")
    parser.add_argument("--backends", nargs="+", default=[DEFAULT_BACKEND], help=f"ours on each of {BACKENDS}")
    parser.add_argument("--rounds", type=int, default=1, help="timed passes over the pages")
    parser.add_argument("--peers", nargs="*", default=list(PEERS), choices=PEERS)
    json_option(parser, "documents")
    args = parser.parse_args()

    pages = make_pages(args.pages)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for i, page in enumerate(pages):
            (args.out / f"{i:02d}-{page.lang}.jpg").write_bytes(page.jpeg)
            (args.out / f"{i:02d}-{page.lang}.txt").write_text("\n".join(page.lines) + "\n", encoding="utf-8")
    counts = Counter(p.lang for p in pages)
    chars = {lang: sum(len(_text(p.lines, lang)) for p in pages if p.lang == lang) for lang in counts}
    print(f"document pages: {counts['zh']} Chinese ({chars['zh']} chars), {counts['en']} English ({chars['en']} chars), seed {SEED}")
    ours = ours_kinds(args.backends)
    kinds = ours + list(args.peers)
    started = machine()
    saved: dict[str, dict] = {}
    print(f"load {' '.join(open('/proc/loadavg').read().split()[:3])}, {args.threads} threads, {args.rounds} round(s)")
    for model in args.models:
        scores, times = bench_model(model, args.threads, pages, kinds, args.rounds)
        saved[model] = {kind: {"zh_cer": scores[kind]["zh"].cer, "en_cer": scores[kind]["en"].cer,
                               "en_word_f1": scores[kind]["en"].word_f1,
                               **{(key if key == "peak_rss_mb" else f"{key}_s"): value
                                  for key, value in times[kind].items()}} for kind in kinds}
        print(f"\n== {model} ==")
        print(f"{'metric':<14}" + "".join(f"{k:>15}" for k in kinds))
        rows = [("zh CER", lambda s: s["zh"].cer), ("en CER", lambda s: s["en"].cer), ("en word F1", lambda s: s["en"].word_f1)]
        for name, get in rows:
            print(f"{name:<14}" + "".join(f"{get(scores[k]):>15.4f}" for k in kinds))
        for key in ("total", "det", "cls", "rec", "peak_rss_mb"):
            label = key if key == "peak_rss_mb" else f"{key} s/page"
            print(f"{label:<14}" + "".join(f"{times[k].get(key, float('nan')):>15.3f}" for k in kinds))
        for kind in ours:
            for peer in args.peers:
                ratios = {key: times[peer][key] / times[kind][key] for key in ("total", "det", "rec")
                          if times[kind].get(key) and times[peer].get(key)}
                print(f"speed {kind} vs {peer}: " + ", ".join(f"{key} {r:.3f}x" for key, r in ratios.items()))
        if len(ours) > 1:
            for kind in ours[1:]:
                ratios = {key: times[kinds[0]][key] / times[kind][key] for key in ("total", "det", "rec") if times[kind].get(key)}
                print(f"speed {kind} vs {kinds[0]}: " + ", ".join(f"{key} {r:.3f}x" for key, r in ratios.items()))
    print(f"load at the end: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    save("documents", {"pages": dict(counts), "chars": chars, "threads": args.threads, "rounds": args.rounds,
                       "models": saved}, args.json, started)


if __name__ == "__main__":
    main()
