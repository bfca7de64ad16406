"""f32 against int8 model files, side by side in one process: stage seconds and accuracy.

    python -m bench.quantized --rec qdq=models/ppocrv6-small/ppocrv6_small_rec.qdq.onnx
                              [--det NAME=PATH ...] [--limit 20] [--pages 0] [--threads 2]

Each variant is the default pipeline (ppocrv6-small, onnxruntime, 2 lanes) with its
recognition (--rec) or detection (--det) session built from another file; "f32" is the
shipped set. All variants get every image in turn, who goes first rotating, after one
warm-up image, so the machine's noise (it is shared) hits them alike: compare the ratios.
Scored as bench.sroie (det F1, word F1, CER on sroie-dev) and bench.documents (page CER,
--pages per language; 0: none). Tools/quantize.py makes the files.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from ocrcore import OcrEngine
from ocrcore.session import load_model

from .documents import Score, make_pages
from .metrics import Line, Tally, load_ground_truth
from .sroie import DATASET


def make_variant(threads: int, rec: Path | None, det: Path | None) -> OcrEngine:
    engine = OcrEngine(threads=threads, backend="onnxruntime")
    loaded = engine._models(engine.default_model)
    if rec:
        loaded.rec = load_model("onnxruntime", rec, threads, lanes=engine.lanes)
    if det:
        loaded.det = load_model("onnxruntime", det, threads, arena=True, shape_cache=False)
    return engine


def _pairs(values: list[str]) -> dict[str, Path]:
    return {v.split("=", 1)[0]: Path(v.split("=", 1)[1]) for v in values}


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rec", nargs="*", default=[], help="NAME=PATH: a variant with this recogniser")
    parser.add_argument("--det", nargs="*", default=[], help="NAME=PATH: a variant with this detector")
    parser.add_argument("--limit", type=int, default=20, help="sroie-dev receipts (0: all)")
    parser.add_argument("--pages", type=int, default=0, help="bench.documents pages per language")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    variants = {"f32": make_variant(args.threads, None, None)}
    variants.update({name: make_variant(args.threads, path, None) for name, path in _pairs(args.rec).items()})
    variants.update({name: make_variant(args.threads, None, path) for name, path in _pairs(args.det).items()})
    names = list(variants)
    images = sorted((DATASET / "img").glob("*.jpg"))
    images = images[: args.limit] if args.limit else images
    pages = make_pages(args.pages) if args.pages else []
    load = _load()
    print(f"{len(images)} receipts, {len(pages)} pages, {args.threads} threads; {time.strftime('%H:%M')} load {load}")
    warm = images[0].read_bytes()
    for engine in variants.values():
        engine.run(warm)

    tallies = {n: Tally() for n in names}
    stages: dict[str, dict[str, float]] = {n: {} for n in names}
    for step, image in enumerate(images):
        data = image.read_bytes()
        truth = load_ground_truth(DATASET / "box" / (image.stem + ".csv"))
        for name in names[step % len(names):] + names[: step % len(names)]:
            result = variants[name].run(data)
            for stage, seconds in result.timings.items():
                stages[name][stage] = stages[name].get(stage, 0.0) + seconds / len(images)
            tallies[name].add([Line(line.text, line.bounding_box) for line in result.lines], truth)
    scores = {n: {"zh": Score(), "en": Score()} for n in names}
    for step, page in enumerate(pages):
        for name in names[step % len(names):] + names[: step % len(names)]:
            result = variants[name].run(page.jpeg)
            scores[name][page.lang].add([line.text for line in result.lines], page.lines, page.lang)

    print(f"{'':<16}" + "".join(f"{n:>12}" for n in names))
    summaries = {n: tallies[n].summary() for n in names}
    rows: list[tuple[str, dict[str, float]]] = [
        (k, {n: summaries[n][k] for n in names}) for k in ("det_f1", "word_f1", "cer")
    ]
    rows += [(f"{s}_s", {n: stages[n].get(s, 0.0) for n in names}) for s in ("det", "cls", "rec")]
    if pages:
        rows += [(f"doc_{lang}_cer", {n: scores[n][lang].cer for n in names}) for lang in ("en", "zh")]
        rows += [("doc_en_word_f1", {n: scores[n]["en"].word_f1 for n in names})]
    for label, values in rows:
        print(f"{label:<16}" + "".join(f"{values[n]:>12.4f}" for n in names))
    for name in names[1:]:
        ratios = {s: stages["f32"][s] / stages[name][s] for s in ("det", "rec") if stages[name].get(s)}
        print(f"speed {name} vs f32: " + ", ".join(f"{s} {r:.3f}x" for s, r in ratios.items()))
    print(f"load at the end: {_load()}")


if __name__ == "__main__":
    main()
