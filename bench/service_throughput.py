"""Receipts per second through the whole service, beside its peers in-process on the same images.

Starts the real stack (Redis, `python -m worker`, gunicorn) on free ports with the core
groups asked for, then alternates two timed phases over the same receipts, so drift and
neighbours' load hit both alike:

- service: `clients` threads each POST /ocr (JSON, base64) the receipts, all at once;
- peers: RapidOCR 3.10 and faster-paddle 1.0.4 (small), each in its own process, with as many
  threads as the machine has CPUs (the service gets all cores too), the receipts one after
  another.

Before any of that, on the fresh service (its children warmed up as they start, nothing
more), an --pdf-pages scanned PDF (bench.documents' A4 pages at 150 dpi, images only) through
POST /ocr, cold, beside each peer reading the PDF's page images one after another.

A third, latency figure: one client alone, the receipts one after another (p50 seconds),
what a single interactive caller sees. Run it once per core-group layout to compare them:

    .venv/bin/python -m bench.service_throughput [--cores-per-group 1|2] [--clients 4] [--rounds 2]
                                                 [--peers rapidocr faster-paddle] [--pdf-pages 8]
"""
from __future__ import annotations

import argparse
import base64
import io
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.results import machine, save
from bench.runners import PEERS, EngineProcess
from ops.run_local import LocalStack
from ocrcore.session import resolve_backend
from worker.cores import plan_core_groups

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sroie-dev" / "img"


def service_phase(base_url: str, bodies: list[dict], clients: int) -> float:
    """Seconds for `clients` threads to send every receipt once between them."""
    queue = list(range(len(bodies)))
    lock = threading.Lock()
    errors: list[str] = []

    def client() -> None:
        session = requests.Session()
        while True:
            with lock:
                if not queue:
                    return
                index = queue.pop()
            response = session.post(f"{base_url}/ocr", json=bodies[index], timeout=600)
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"the service refused receipts: {errors[:3]}")
    return time.perf_counter() - started


def latencies(base_url: str, bodies: list[dict]) -> list[float]:
    session = requests.Session()
    seconds = []
    for body in bodies:
        started = time.perf_counter()
        session.post(f"{base_url}/ocr", json=body, timeout=600).raise_for_status()
        seconds.append(time.perf_counter() - started)
    return seconds


def scanned_pdf(pages: int) -> tuple[bytes, list[bytes]]:
    """A PDF of `pages` of bench.documents' A4 pages (JPEGs as they are, 150 dpi), and the JPEGs."""
    from PIL import Image

    from bench.documents import make_pages

    jpegs = [page.jpeg for page in make_pages((pages + 1) // 2)][:pages]
    images = [Image.open(io.BytesIO(jpeg)) for jpeg in jpegs]
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=150.0)
    return out.getvalue(), jpegs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores-per-group", type=int, default=None,
                        help="OCR_CORES_PER_GROUP (default: the service's)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit", type=int, default=30, help="first N receipts")
    parser.add_argument("--model", default="ppocrv6-small")
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=PEERS)
    parser.add_argument("--pdf-pages", type=int, default=8, help="the cold PDF's pages (0: none)")
    parser.add_argument("--json", type=Path, default=None,
                        help="write the results here (default: bench/results/service_throughput-BACKEND-CxT.json)")
    args = parser.parse_args()
    started = machine()

    images = sorted(DATASET.glob("*.jpg"))[: args.limit]
    datas = [image.read_bytes() for image in images]
    bodies = [{"image": base64.b64encode(data).decode()} for data in datas]
    plan = plan_core_groups(args.cores_per_group)
    backend = resolve_backend(os.environ.get("OCR_BACKEND", "auto"))
    layout = f"{len(plan.groups)}x{len(plan.groups[0])}"
    cpus = len(os.sched_getaffinity(0))
    env = {"OCR_WEB_WORKERS": "2", "OCR_DEFAULT_MODEL": args.model, "OCR_SYNC_TIMEOUT": "900"}
    if args.cores_per_group:
        env["OCR_CORES_PER_GROUP"] = str(args.cores_per_group)
    peers = {name: EngineProcess(name, args.model, cpus) for name in args.peers}
    pdf, page_images = scanned_pdf(args.pdf_pages) if args.pdf_pages else (b"", [])
    pdf_figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="service-throughput-") as tmp:
        stack = LocalStack(env=env, log_dir=Path(tmp))
        try:
            stack.start_redis()
            stack.start_worker()
            base_url = stack.start_gateway()
            stack.wait_ready(base_url)
            for peer in peers.values():
                peer(datas[0])
            if pdf:
                t0 = time.perf_counter()
                response = requests.post(f"{base_url}/ocr", files={"file": ("scan.pdf", pdf, "application/pdf")},
                                         timeout=900)
                cold = time.perf_counter() - t0
                if response.status_code != 200:
                    raise SystemExit(f"the service refused the PDF: {response.status_code} {response.text[:200]}")
                print(f"{args.pdf_pages}-page scanned PDF through /ocr on the fresh service: {cold:.2f} s")
                pdf_figures["service_s"] = cold
                for name, peer in peers.items():
                    t0 = time.perf_counter()
                    for image in page_images:
                        peer(image)
                    seconds = time.perf_counter() - t0
                    print(f"  {name} in-process on its page images: {seconds:.2f} s; service {seconds / cold:.3f}x")
                    pdf_figures[f"{name}_s"] = seconds
            service_phase(base_url, bodies[: len(plan.groups) * 2], args.clients)  # every child warm
            print(f"\n{len(images)} receipts, {args.model}; service: {len(plan.groups)} child(ren) x "
                  f"{len(plan.groups[0])} thread(s), {args.clients} clients; peers in-process ({', '.join(peers)}), "
                  f"{cpus} threads; {args.rounds} round(s), alternating\n")
            service_s: list[float] = []
            peer_s: dict[str, list[float]] = {name: [] for name in peers}
            for round_no in range(args.rounds):
                phases = ["service", *peers]
                phases = phases[round_no % len(phases):] + phases[: round_no % len(phases)]
                for phase in phases:
                    if phase == "service":
                        service_s.append(service_phase(base_url, bodies, args.clients))
                    else:
                        t0 = time.perf_counter()
                        for data in datas:
                            peers[phase](data)
                        peer_s[phase].append(time.perf_counter() - t0)
                print(f"round {round_no + 1}: service {len(images) / service_s[-1]:.3f} img/s, "
                      + ", ".join(f"{name} {len(images) / s[-1]:.3f} img/s" for name, s in peer_s.items()))
            alone = latencies(base_url, bodies)
            service_rate = len(images) * args.rounds / sum(service_s)
            print(f"\nservice throughput     {service_rate:.3f} img/s")
            peer_rates = {name: len(images) * args.rounds / sum(seconds) for name, seconds in peer_s.items()}
            for name, peer_rate in peer_rates.items():
                print(f"{name + ' in-process':<22} {peer_rate:.3f} img/s; "
                      f"ratio service/{name} {service_rate / peer_rate:.3f}x")
            print(f"one client, p50        {statistics.median(alone):.3f} s per receipt "
                  f"(p90 {statistics.quantiles(alone, n=10)[-1]:.3f} s)")
            name = f"service_throughput-{backend}-{layout}"
            save(name, {"backend": backend, "layout": layout, "children": len(plan.groups),
                        "threads": len(plan.groups[0]), "clients": args.clients, "receipts": len(images),
                        "rounds": args.rounds, "model": args.model, "service_rps": service_rate,
                        # peer_rps and ratio: RapidOCR's, as before; every peer's under "peers"
                        "peer_rps": peer_rates.get("rapidocr"),
                        "ratio": service_rate / peer_rates["rapidocr"] if "rapidocr" in peer_rates else None,
                        "peers": {name: {"rps": r, "ratio": service_rate / r} for name, r in peer_rates.items()},
                        "pdf": pdf_figures, "p50_s": statistics.median(alone),
                        "p90_s": statistics.quantiles(alone, n=10)[-1]}, args.json, started)
        finally:
            stack.stop_all()
            for peer in peers.values():
                peer.close()


if __name__ == "__main__":
    main()
