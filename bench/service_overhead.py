"""What the service adds on top of the OCR itself: a sync POST /ocr round trip vs the in-process pipeline.

Starts the real stack (Redis, `python -m worker`, gunicorn) on free ports, then times the
same image both ways, interleaved so drift and neighbours' load hit both alike:

    .venv/bin/python -m bench.service_overhead [IMAGE ...] [--repeat 10]

In-process uses an OcrEngine with as many threads as the worker child gets, so the
difference is the service: HTTP, validation, Redis, Celery hand-off, BLPOP wake-up, JSON.
"""
from __future__ import annotations

import argparse
import base64
import statistics
import tempfile
import time
from pathlib import Path

import requests

from ocrcore import OcrEngine
from worker.cores import plan_core_groups
from ops.run_local import LocalStack

from .results import json_option, machine, save

REPO = Path(__file__).resolve().parents[1]
DEFAULT_IMAGES = [REPO.parent / "shared" / "datasets" / "sroie-dev" / "img" / "000.jpg"]


def small_text_image(directory: Path) -> Path:
    """A small two-line PNG: the pipeline is quick, so the fixed per-request cost shows."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 40)
    image = Image.new("RGB", (420, 170), "white")
    draw = ImageDraw.Draw(image)
    draw.text((30, 25), "HELLO WORLD", fill="black", font=font)
    draw.text((30, 90), "Invoice 12345", fill="black", font=font)
    path = directory / "small-text.png"
    image.save(path)
    return path


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f}"


def measure(image: Path, base_url: str, engine: OcrEngine, repeat: int) -> dict[str, list[float]]:
    data = image.read_bytes()
    body = {"image": base64.b64encode(data).decode()}
    session = requests.Session()
    # Warm both sides (model pages, allocator, connection) before timing.
    engine.run(data)
    session.post(f"{base_url}/ocr", json=body, timeout=300).raise_for_status()

    times: dict[str, list[float]] = {k: [] for k in ("inproc", "json", "multipart", "worker_time")}
    for _ in range(repeat):
        started = time.perf_counter()
        engine.run(data)
        times["inproc"].append(time.perf_counter() - started)

        started = time.perf_counter()
        response = session.post(f"{base_url}/ocr", json=body, timeout=300)
        times["json"].append(time.perf_counter() - started)
        response.raise_for_status()
        times["worker_time"].append(response.json()["processing_time"])

        started = time.perf_counter()
        response = session.post(f"{base_url}/ocr", files={"file": (image.name, data)}, timeout=300)
        times["multipart"].append(time.perf_counter() - started)
        response.raise_for_status()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", type=Path,
                        help="default: a SROIE receipt and a small generated text image")
    parser.add_argument("--repeat", type=int, default=10)
    json_option(parser, "service_overhead")
    args = parser.parse_args()
    started = machine()
    figures: dict[str, dict[str, float]] = {}

    group = plan_core_groups(children=1).groups[0]
    with tempfile.TemporaryDirectory(prefix="service-overhead-") as tmp:
        stack = LocalStack(env={"OCR_WORKER_CHILDREN": "1", "OCR_WEB_WORKERS": "1"}, log_dir=Path(tmp))
        images = args.images or [*DEFAULT_IMAGES, small_text_image(Path(tmp))]
        try:
            stack.start_redis()
            stack.start_worker()
            base_url = stack.start_gateway()
            stack.wait_ready(base_url)
            engine = OcrEngine(threads=len(group))
            engine.warmup()
            print(f"worker: 1 child on CPUs {list(group)}, {len(group)} onnxruntime threads; "
                  f"in-process engine: {len(group)} threads; {args.repeat} runs each, medians in ms\n")
            header = (f"{'image':<16}{'in-process':>11}{'worker':>9}{'/ocr json':>11}{'/ocr form':>11}"
                      f"{'transport':>11}{'overhead':>10}")
            print(header)
            print("-" * len(header))
            for image in images:
                t = measure(image, base_url, engine, args.repeat)
                transport = statistics.median([j - w for j, w in zip(t["json"], t["worker_time"])])
                overhead = statistics.median(t["json"]) - statistics.median(t["inproc"])
                figures[image.name] = {f"{key}_ms": statistics.median(t[key]) * 1000
                                       for key in ("inproc", "worker_time", "json", "multipart")}
                figures[image.name].update(worker_ms=figures[image.name].pop("worker_time_ms"),
                                           transport_ms=transport * 1000, overhead_ms=overhead * 1000)
                print(f"{image.name:<16}{median_ms(t['inproc']):>11}{median_ms(t['worker_time']):>9}"
                      f"{median_ms(t['json']):>11}{median_ms(t['multipart']):>11}"
                      f"{transport * 1000:>11.1f}{overhead * 1000:>10.1f}")
            print("\nworker    = processing_time the job reports (the pipeline inside the Celery child)"
                  "\ntransport = /ocr JSON round trip - that job's processing_time (HTTP, checks, Redis, Celery, BLPOP)"
                  "\noverhead  = median /ocr JSON round trip - median in-process run")
        finally:
            stack.stop_all()
    save("service_overhead", {"repeat": args.repeat, "images": figures}, args.json, started)


if __name__ == "__main__":
    main()
