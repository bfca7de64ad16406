"""RSS stability: 300 runs over images of varied sizes; RSS after 300 vs after the first 30.

    python -m bench.memory [--runs 300] [--model ppocrv6-small] [--backend onnxruntime openvino-bf16 ...]

Each backend runs in a process of its own (a worker child's RSS is one backend's), one
after the other, over the same images and scales; the last lines compare them.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

import cv2
import psutil

from ocrcore import OcrEngine, OcrOptions
from ocrcore.session import BACKENDS

from .results import json_option, machine, save

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sroie-dev"
LIMIT = 0.15  # the growth the issue allows from run 30 to the last


def measure(backend: str, runs: int, model: str | None, threads: int) -> dict[int, float]:
    rng = random.Random(7)
    images = [cv2.imread(str(p)) for p in sorted((DATASET / "img").glob("*.jpg"))]
    engine = OcrEngine(threads=threads, default_model=model, backend=backend)
    process = psutil.Process()
    marks = {}
    for run in range(1, runs + 1):
        image = images[rng.randrange(len(images))]
        scale = rng.uniform(0.4, 1.6)  # every run a new input shape for det, cls and rec
        varied = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        engine.run(varied, OcrOptions())
        if run in (30, runs) or run % 50 == 0:
            marks[run] = process.memory_info().rss / 2**20
            print(f"{backend} run {run:4d}: rss {marks[run]:7.1f} MiB", flush=True)
    return marks


def summary(backend: str, marks: dict[int, float], runs: int) -> str:
    growth = marks[runs] / marks[30] - 1
    return (f"{backend}: RSS after 30: {marks[30]:.1f} MiB; after {runs}: {marks[runs]:.1f} MiB; "
            f"growth {growth:+.1%} (limit {LIMIT:+.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", nargs="+", default=["onnxruntime", "openvino-bf16"], choices=BACKENDS)
    parser.add_argument("--marks", action="store_true", help=argparse.SUPPRESS)  # one backend, marks on the last line
    json_option(parser, "memory")
    args = parser.parse_args()
    started = machine()
    if args.marks:
        marks = measure(args.backend[0], args.runs, args.model, args.threads)
        print(json.dumps(marks), flush=True)
        return
    results = {}
    for backend in dict.fromkeys(args.backend):
        command = [sys.executable, "-m", "bench.memory", "--runs", str(args.runs), "--threads", str(args.threads),
                   "--backend", backend, "--marks"] + (["--model", args.model] if args.model else [])
        repo = Path(__file__).resolve().parents[1]
        out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, cwd=repo)
        lines = out.stdout.strip().splitlines()
        print("\n".join(lines[:-1]), flush=True)
        results[backend] = {int(run): rss for run, rss in json.loads(lines[-1]).items()}
    for backend, marks in results.items():
        print(summary(backend, marks, args.runs))
    save("memory", {"runs": args.runs, "model": args.model, "threads": args.threads,
                    "rss_mib": {backend: {str(run): rss for run, rss in marks.items()} for backend, marks in results.items()}},
         args.json, started)


if __name__ == "__main__":
    main()
