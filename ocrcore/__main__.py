"""CLI: python -m ocrcore IMAGE [IMAGE ...] [--model NAME] -> JSON on stdout."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .engine import OcrEngine
from .errors import OcrError
from .registry import DEFAULT_MODEL, MODEL_SETS
from .types import OcrOptions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocrcore", description="OCR images to JSON.")
    parser.add_argument("images", nargs="+", type=Path, help="image files (JPEG, PNG, WebP, BMP, TIFF, GIF)")
    parser.add_argument("--model", choices=MODEL_SETS, default=DEFAULT_MODEL, help="model set")
    parser.add_argument("--no-angle-cls", action="store_true", help="skip the 0/180 line classifier")
    parser.add_argument("--det-limit-side", type=int, default=None, help="longest side fed to detection")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: usable CPUs)")
    args = parser.parse_args(argv)

    threads = args.threads or len(os.sched_getaffinity(0))
    engine = OcrEngine(threads=threads, default_model=args.model)
    options = OcrOptions(use_angle_cls=not args.no_angle_cls, det_limit_side=args.det_limit_side)
    outputs = []
    for path in args.images:
        try:
            outputs.append(engine.run(path.read_bytes(), options).to_dict())
        except (OSError, OcrError) as exc:
            print(f"ocrcore: {path}: {exc}", file=sys.stderr)
            return 1
    json.dump(outputs[0] if len(outputs) == 1 else outputs, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
