"""Accuracy and speed on sroie-dev: this pipeline beside RapidOCR with the same model files.

Both engines run in child processes of this one run, fed the same images in
alternation (so machine noise hits both alike), with the same thread count.

    python -m bench.sroie [--models ppocrv6-small ppocrv5-mobile] [--threads 2] [--limit N]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from .metrics import Line, Tally, load_ground_truth
from .runners import EngineProcess

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sroie-dev"
ENGINES = ("ours", "rapidocr")


def bench_model(model: str, threads: int, images: list[Path], rounds: int, overrides: dict) -> dict:
    engines = {kind: EngineProcess(kind, model, threads, overrides if kind == "ours" else None) for kind in ENGINES}
    tallies = {kind: Tally() for kind in ENGINES}
    seconds: dict[str, list[float]] = {kind: [] for kind in ENGINES}
    warm = images[0].read_bytes()
    for run in engines.values():
        run(warm)  # load sessions and first-shape allocations outside the timing
    for round_no in range(rounds):
        for image in images:
            data = image.read_bytes()
            truth = load_ground_truth(DATASET / "box" / (image.stem + ".csv"))
            order = ENGINES if (round_no + len(seconds["ours"])) % 2 == 0 else ENGINES[::-1]
            for kind in order:
                elapsed, lines = engines[kind](data)
                seconds[kind].append(elapsed)
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
        }
    return report


def print_report(model: str, report: dict) -> None:
    keys = ("det_precision", "det_recall", "det_f1", "word_f1", "cer", "median_s", "img_per_s", "peak_rss_mb")
    print(f"\n== {model} ==")
    print(f"{'metric':<14}" + "".join(f"{k:>12}" for k in ENGINES) + f"{'ours/peer':>12}")
    for key in keys:
        ours, peer = report["ours"][key], report["rapidocr"][key]
        ratio = ours / peer if peer else float("nan")
        print(f"{key:<14}{ours:>12.4f}{peer:>12.4f}{ratio:>12.3f}")
    print(f"throughput ratio ours/peer: {report['ours']['img_per_s'] / report['rapidocr']['img_per_s']:.3f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["ppocrv6-small", "ppocrv5-mobile"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="first N images only")
    parser.add_argument("--rounds", type=int, default=1, help="timed passes over the images")
    parser.add_argument("--overrides", type=json.loads, default={}, help='ours only, e.g. {"det": {"limit_side": 1280}}')
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    images = sorted((DATASET / "img").glob("*.jpg"))
    if args.limit:
        images = images[: args.limit]
    print(f"sroie-dev: {len(images)} images, {args.threads} threads, {args.rounds} round(s); {time.strftime('%Y-%m-%d %H:%M')}")
    results = {}
    for model in args.models:
        results[model] = bench_model(model, args.threads, images, args.rounds, args.overrides)
        print_report(model, results[model])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
