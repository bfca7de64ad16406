"""Accuracy and speed on sroie-dev: this pipeline beside its peers, RapidOCR (with the same
model files) and faster-paddle (its bundled PP-OCRv6 small, or tiny beside ppocrv5-mobile).

Every engine runs in a child process of this one run, fed the same images in
alternation (so machine noise hits all alike), with the same thread count.

    python -m bench.sroie [--models ppocrv6-small ppocrv5-mobile] [--threads 2] [--limit N]
                          [--backends onnxruntime openvino-bf16] [--peers rapidocr faster-paddle]

Ours runs on the default backend ("auto": openvino-bf16 on CPUs with native bf16, else
onnxruntime), or once per backend named ("ours" is onnxruntime, "ours-openvino-bf16"
OpenVINO), all in the same alternation; per-stage seconds (det includes post-processing
and crops) are printed per engine.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from .metrics import Line, Tally, load_ground_truth
from ocrcore.session import BACKENDS, DEFAULT_BACKEND

from .results import json_option, machine, save
from .runners import PEERS, make_engine, ours_kinds

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sroie-dev"


def bench_model(model: str, threads: int, images: list[Path], rounds: int, overrides: dict, kinds: list[str]) -> dict:
    engines = {kind: make_engine(kind, model, threads, overrides) for kind in kinds}
    tallies = {kind: Tally() for kind in kinds}
    seconds: dict[str, list[float]] = {kind: [] for kind in kinds}
    stages: dict[str, dict[str, float]] = {kind: {} for kind in kinds}
    warm = images[0].read_bytes()
    for run in engines.values():
        run(warm)  # load sessions and first-shape allocations outside the timing
    for round_no in range(rounds):
        for image in images:
            data = image.read_bytes()
            truth = load_ground_truth(DATASET / "box" / (image.stem + ".csv"))
            step = round_no + len(seconds[kinds[0]])
            order = kinds[step % len(kinds) :] + kinds[: step % len(kinds)]  # rotate who goes first
            for kind in order:
                elapsed, lines, stage = engines[kind](data)
                seconds[kind].append(elapsed)
                for name, value in stage.items():
                    stages[kind][name] = stages[kind].get(name, 0.0) + value
                if round_no == 0:
                    tallies[kind].add([Line(t, b) for t, _, b in lines], truth)
    report = {}
    for kind, run in engines.items():
        peak = run.close()
        total = sum(seconds[kind])
        report[kind] = {
            **tallies[kind].summary(),
            "median_s": statistics.median(seconds[kind]),
            "img_per_s": len(seconds[kind]) / total,
            "peak_rss_mb": peak / 2**20,
            **{f"{name}_s": value / len(seconds[kind]) for name, value in stages[kind].items()},
        }
    return report


def print_report(model: str, report: dict) -> None:
    keys = ("det_precision", "det_recall", "det_f1", "word_f1", "cer", "median_s", "img_per_s", "peak_rss_mb", "det_s", "cls_s", "rec_s")
    kinds = list(report)
    ours = [k for k in kinds if k not in PEERS]
    peers = [k for k in kinds if k in PEERS]
    pairs = [(k, peer) for k in ours for peer in peers] + [(k, ours[0]) for k in ours[1:]]
    print(f"\n== {model} ==")
    print(f"{'metric':<14}" + "".join(f"{k:>15}" for k in kinds) + "".join(f"{a + '/' + b:>28}" for a, b in pairs))
    for key in keys:
        values = [report[k].get(key, float("nan")) for k in kinds]
        ratios = [report[a].get(key, float("nan")) / report[b][key] if report[b].get(key) else float("nan") for a, b in pairs]
        print(f"{key:<14}" + "".join(f"{v:>15.4f}" for v in values) + "".join(f"{r:>28.3f}" for r in ratios))
    for a, b in pairs:
        print(f"throughput ratio {a}/{b}: {report[a]['img_per_s'] / report[b]['img_per_s']:.3f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["ppocrv6-small", "ppocrv5-mobile"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="first N images only")
    parser.add_argument("--rounds", type=int, default=1, help="timed passes over the images")
    parser.add_argument("--overrides", type=json.loads, default={}, help='ours only, e.g. {"det": {"limit_side": 1280}}')
    json_option(parser, "sroie")
    parser.add_argument("--backends", nargs="+", default=[DEFAULT_BACKEND], help=f"ours on each of {BACKENDS}")
    parser.add_argument("--peers", nargs="*", default=list(PEERS), choices=PEERS, help="peers beside ours (none: ours only)")
    args = parser.parse_args()

    images = sorted((DATASET / "img").glob("*.jpg"))
    if args.limit:
        images = images[: args.limit]
    kinds = ours_kinds(args.backends) + list(args.peers)
    started = machine()
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    print(f"sroie-dev: {len(images)} images, {args.threads} threads, {args.rounds} round(s); {time.strftime('%Y-%m-%d %H:%M')}; load {load}")
    results = {}
    for model in args.models:
        results[model] = bench_model(model, args.threads, images, args.rounds, args.overrides, kinds)
        print_report(model, results[model])
    print(f"load at the end: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    save("sroie", {"images": len(images), "threads": args.threads, "rounds": args.rounds, "models": results},
         args.json, started)


if __name__ == "__main__":
    main()
