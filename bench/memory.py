"""RSS stability: 300 runs over images of varied sizes; RSS after 300 vs after the first 30.

    python -m bench.memory [--runs 300] [--model ppocrv6-small] [--backend onnxruntime]
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

import cv2
import psutil

from ocrcore import OcrEngine, OcrOptions

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sroie-dev"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", default="onnxruntime", help="ocrcore.session.BACKENDS")
    args = parser.parse_args()

    rng = random.Random(7)
    images = [cv2.imread(str(p)) for p in sorted((DATASET / "img").glob("*.jpg"))]
    engine = OcrEngine(threads=args.threads, default_model=args.model, backend=args.backend)
    process = psutil.Process()
    marks = {}
    for run in range(1, args.runs + 1):
        image = images[rng.randrange(len(images))]
        scale = rng.uniform(0.4, 1.6)  # every run a new input shape for det, cls and rec
        varied = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        engine.run(varied, OcrOptions())
        if run in (30, args.runs) or run % 50 == 0:
            marks[run] = process.memory_info().rss / 2**20
            print(f"run {run:4d}: rss {marks[run]:7.1f} MiB", flush=True)
    growth = marks[args.runs] / marks[30] - 1
    print(f"{args.backend}: RSS after 30: {marks[30]:.1f} MiB; after {args.runs}: {marks[args.runs]:.1f} MiB; growth {growth:+.1%} (limit +15%)")


if __name__ == "__main__":
    main()
