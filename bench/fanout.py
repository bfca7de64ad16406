"""Fan-out and fairness on the real stack: a document's wall time split into page tasks or not,
sync latency while a long document runs, and two documents progressing side by side.

Starts Redis, `python -m worker` (2 children x 1 core, OCR_CORES_PER_GROUP=1) and gunicorn on
free ports (ops/run_local.py, the commands the images run), makes scanned PDFs from the
sroie-dev receipts (200 dpi, cycled), and prints:

0. what two children can give on this machine now: receipts read by two engines at once (one
   thread each, one per CPU, in processes of their own) against one engine alone. On a
   shared VM (neighbours' load, vCPUs that may share a physical core) this is well under 2x,
   and it bounds the speed-up of step 1;
1. the wall time of a --pages document (default 20) run as one task (OCR_FANOUT_MIN_PAGES=0,
   the worker restarted) and split into page tasks (the default), and the ratio; the two
   results are compared (processing times aside) and must be identical;
2. the p50 of 10 sync POST /ocr calls of one receipt on the idle service, and while a
   --big document (default 200 pages) runs, and the ratio;
3. two --pages documents submitted together: when each read its first page, how far each
   had got when the first finished, and when each finished.

    .venv/bin/python -m bench.fanout [--pages 20] [--big 200] [--repeat 2] [--calls 10] [--cores-per-group 1]

--cores-per-group 2 runs the same steps on one child of 2 threads (OPERATIONS.md, "Sizing
workers"): there the split has no second child to give pages to.

The machine is shared and timings are noisy: the runs are repeated and medians printed.
"""
from __future__ import annotations

import argparse
import base64
import io
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from PIL import Image

from bench.results import machine, save
from ocrcore.session import resolve_backend
from ops.run_local import LocalStack
from worker.cores import plan_core_groups

REPO = Path(__file__).resolve().parents[1]
RECEIPTS = REPO.parent / "shared" / "datasets" / "sroie-dev" / "img"
STACK_ENV = {
    "OCR_WEB_WORKERS": "1",
    "OCR_HEARTBEAT_INTERVAL": "0.5",
    "OCR_MAX_UPLOAD_BYTES": str(96 * 1024 * 1024),  # 200 receipt pages are ~30 MB, past the 20 MB default
    "OCR_SYNC_TIMEOUT": "600",
    "OCR_LOG_FORMAT": "text",
}
ONE_TASK = {"OCR_FANOUT_MIN_PAGES": "0"}


def scanned_pdf(pages: int) -> bytes:
    """`pages` receipts from sroie-dev (in name order, cycled), one per page at 200 dpi, no text layer."""
    paths = sorted(RECEIPTS.glob("*.jpg"))
    images = [Image.open(paths[n % len(paths)]).convert("RGB") for n in range(pages)]
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=200.0)
    return out.getvalue()


def _engine_run(cpu: int, images: list[bytes], start: Any, out: Any) -> None:
    os.sched_setaffinity(0, {cpu})
    from ocrcore import OcrEngine

    engine = OcrEngine(threads=1)
    engine.warmup()
    start.wait()
    started = time.perf_counter()
    for image in images:
        engine.run(image)
    out.put(time.perf_counter() - started)


def parallel_ceiling(images: list[bytes]) -> tuple[float, float, float]:
    """(seconds alone, seconds of two at once, throughput ratio): the same receipts read by one
    engine on CPU 0, then by two engines on CPUs 0 and 1 at the same time."""
    cpus = sorted(os.sched_getaffinity(0))[:2]

    def run(on: list[int]) -> float:
        start, out = multiprocessing.Barrier(len(on)), multiprocessing.Queue()
        procs = [multiprocessing.Process(target=_engine_run, args=(cpu, images, start, out)) for cpu in on]
        for proc in procs:
            proc.start()
        took = max(out.get() for _ in procs)
        for proc in procs:
            proc.join()
        return took

    alone, pair = run(cpus[:1]), run(cpus)
    return alone, pair, 2 * alone / pair


def timeless(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items() if k != "processing_time"}
    if isinstance(value, list):
        return [timeless(v) for v in value]
    return value


class Service:
    """The stack, with a worker that can be restarted with fan-out on or off."""

    def __init__(self, log_dir: Path, cores_per_group: int):
        self.children = len(plan_core_groups(cores_per_group).groups)
        env = {**STACK_ENV, "OCR_CORES_PER_GROUP": str(cores_per_group), "OCR_WORKER_CHILDREN": str(self.children)}
        self.stack = LocalStack(env=env, log_dir=log_dir)
        self.stack.start_redis()
        self.base_url = self.stack.start_gateway()
        self.session = requests.Session()

    def start_worker(self, env: dict[str, str]) -> None:
        if "worker" in self.stack.procs:
            self.stack.stop("worker", timeout=60)
        self.stack.start_worker(env=env)
        deadline = time.monotonic() + 300
        while True:  # both children warm and beating
            try:
                if self.session.get(f"{self.base_url}/readyz", timeout=5).json().get("workers", 0) >= self.children:
                    return
            except (requests.RequestException, ValueError):
                pass
            assert time.monotonic() < deadline, "the worker's children never came up"
            time.sleep(0.2)

    def submit(self, name: str, pdf: bytes) -> str:
        response = self.session.post(f"{self.base_url}/jobs", files={"file": (name, pdf)}, timeout=120)
        response.raise_for_status()
        return str(response.json()["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.session.get(f"{self.base_url}/jobs/{job_id}", timeout=30).json()
        return body

    def wait(self, job_id: str, poll: float = 0.2) -> dict[str, Any]:
        while (body := self.job(job_id))["status"] in ("queued", "running"):
            time.sleep(poll)
        assert body["status"] == "succeeded", body
        return body

    def sync(self, image: bytes) -> float:
        started = time.perf_counter()
        response = self.session.post(f"{self.base_url}/ocr", json={"image": base64.b64encode(image).decode()},
                                     timeout=600)
        took = time.perf_counter() - started
        response.raise_for_status()
        return took

    def close(self) -> None:
        self.stack.stop_all()


def wall_times(service: Service, pdf: bytes, repeat: int) -> tuple[list[float], dict[str, Any]]:
    times, result = [], {}
    for _ in range(repeat):
        started = time.perf_counter()
        body = service.wait(service.submit("document.pdf", pdf))
        times.append(time.perf_counter() - started)
        result = body["result"]
    return times, result


def fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.1f}" for t in times) + f" s -> median {statistics.median(times):.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="pages of the timed document")
    parser.add_argument("--big", type=int, default=200, help="pages of the document the sync calls run beside")
    parser.add_argument("--repeat", type=int, default=2, help="runs of the timed document in each mode")
    parser.add_argument("--calls", type=int, default=10, help="sync calls in each fairness sample")
    parser.add_argument("--cores-per-group", type=int, default=1, help="OCR_CORES_PER_GROUP of the stack")
    parser.add_argument("--json", type=Path, default=None,
                        help="write the results here (default: bench/results/fanout-BACKEND.json)")
    args = parser.parse_args()
    measured_on = machine()  # the load as the run begins
    backend = resolve_backend(os.environ.get("OCR_BACKEND", "auto"))

    document, big = scanned_pdf(args.pages), scanned_pdf(args.big)
    receipt = sorted(RECEIPTS.glob("*.jpg"))[0].read_bytes()
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        service = Service(Path(tmp), args.cores_per_group)
        try:
            print(f"stack: {service.children} worker child(ren) x {args.cores_per_group} core(s) "
                  f"(OCR_CORES_PER_GROUP={args.cores_per_group}); {args.pages}-page document "
                  f"({len(document) / 1e6:.1f} MB), {args.big}-page document ({len(big) / 1e6:.1f} MB), "
                  "sroie-dev receipts at 200 dpi\n")

            alone, pair, ceiling = parallel_ceiling([p.read_bytes() for p in sorted(RECEIPTS.glob("*.jpg"))[:4]])
            print("0. two engines at once (1 thread, one CPU each) against one alone, 4 receipts each")
            print(f"   alone {alone:.1f} s, two at once {pair:.1f} s: throughput {ceiling:.2f}x "
                  "(2x on two free cores)\n")

            one: list[float] = []
            fan: list[float] = []
            for _ in range(args.repeat):  # the modes in turn, so the machine's load drifts over both alike
                service.start_worker(ONE_TASK)
                service.sync(receipt)  # warm both sides
                times, one_result = wall_times(service, document, 1)
                one += times
                service.start_worker({})
                service.sync(receipt)
                times, fan_result = wall_times(service, document, 1)
                fan += times
            ratio = statistics.median(one) / statistics.median(fan)
            same = timeless(one_result) == timeless(fan_result)
            print(f"1. {args.pages}-page document, wall time from POST /jobs to succeeded")
            print(f"   one task (OCR_FANOUT_MIN_PAGES=0): {fmt(one)}")
            print(f"   fan-out (page tasks):              {fmt(fan)}")
            print(f"   speed-up: {ratio:.2f}x (target >= 1.8x; two engines gave {ceiling:.2f}x in step 0); "
                  f"results identical: {'yes' if same else 'NO'}\n")

            idle = [service.sync(receipt) for _ in range(args.calls)]
            job_id = service.submit("big.pdf", big)
            while service.job(job_id)["progress"]["done"] < 1:
                time.sleep(0.2)
            busy = [service.sync(receipt) for _ in range(args.calls)]
            progress = service.job(job_id)["progress"]
            service.session.delete(f"{service.base_url}/jobs/{job_id}", timeout=30)
            p50_idle, p50_busy = statistics.median(idle), statistics.median(busy)
            print(f"2. sync POST /ocr of {sorted(RECEIPTS.glob('*.jpg'))[0].name}, p50 of {args.calls} calls")
            print(f"   idle service:                   {p50_idle:.2f} s (min {min(idle):.2f}, max {max(idle):.2f})")
            print(f"   during a {args.big}-page job:        {p50_busy:.2f} s (min {min(busy):.2f}, max {max(busy):.2f};"
                  f" the job read {progress['done']} pages meanwhile)")
            print(f"   ratio: {p50_busy / p50_idle:.2f}x (target <= 2x)\n")

            time.sleep(3)  # the canceled job's pages in hand end
            started = time.perf_counter()
            ids = [service.submit("a.pdf", document), service.submit("b.pdf", document)]
            first: dict[str, float] = {}
            finished: dict[str, float] = {}
            at_first_finish: list[int] = []
            while len(finished) < 2:
                bodies = [service.job(job_id) for job_id in ids]
                now = time.perf_counter() - started
                for job_id, body in zip(ids, bodies, strict=True):
                    if body["progress"]["done"] >= 1:
                        first.setdefault(job_id, now)
                    if body["status"] == "succeeded" and job_id not in finished:
                        finished[job_id] = now
                        if not at_first_finish:
                            at_first_finish = [b["progress"]["done"] for b in bodies]
                    assert body["status"] in ("queued", "running", "succeeded"), body
                time.sleep(0.2)
            a, b = ids
            print(f"3. two {args.pages}-page documents submitted together")
            print(f"   first page read after: A {first[a]:.1f} s, B {first[b]:.1f} s")
            print(f"   when the first finished: A {at_first_finish[0]}/{args.pages}, "
                  f"B {at_first_finish[1]}/{args.pages} pages")
            print(f"   finished after: A {finished[a]:.1f} s, B {finished[b]:.1f} s "
                  f"(both progress: {'yes' if min(at_first_finish) >= args.pages // 2 else 'NO'})")
            name = "fanout-" + backend + (f"-cpg{args.cores_per_group}" if args.cores_per_group != 1 else "")
            save(name, {"backend": backend, "children": service.children, "cores_per_group": args.cores_per_group,
                        "pages": args.pages, "big": args.big, "calls": args.calls, "parallel_ceiling": ceiling,
                        "one_task_s": statistics.median(one), "page_tasks_s": statistics.median(fan),
                        "speedup": ratio, "identical": same, "sync_idle_s": p50_idle, "sync_busy_s": p50_busy,
                        "sync_ratio": p50_busy / p50_idle, "pages_at_first_finish": at_first_finish},
                 args.json, measured_on)
        finally:
            service.close()


if __name__ == "__main__":
    main()
