"""Soak: thousands of mixed jobs through the whole stack, then memory and Redis keys.

The mix (one round of 20): small PNGs async and sync, a receipt, a text-layer PDF of three
pages, a scanned PDF of two pages, an upload the gateway refuses (415), one it accepts that
the worker cannot decode (failed: undecodable_image), and a cancel. Every accepted job must
end as expected (none lost), no answer may be a 5xx, the RSS of every worker child and
gateway process after the last job must be within 15% of its RSS after the first 10% of
jobs (at least 50; both sampled with the service idle between jobs, and every child has
first read each kind of input once, see Soak.warm), and once the (short) result TTL
has passed Redis holds no job keys and its memory is back near where it started.

CI runs SOAK_JOBS=200 (about 2 minutes on 2 shared cores); `make soak` runs 2,200 (2,090 accepted
jobs: one submission in 20 is an upload the gateway refuses).
"""
from __future__ import annotations

import io
import os
import threading
import time
from collections import Counter
from pathlib import Path

import requests
from PIL import Image

from tests.conftest import render_text_image
from tests.core.pdfmaker import Text, image_pdf, text_pdf
from tests.service.helpers import b64

from .conftest import report

JOBS = int(os.environ.get("SOAK_JOBS", "200"))
CLIENTS = 6
RESULT_TTL = 20  # seconds: jobs, uploads and results expire this long after they finish
RSS_TOLERANCE = 0.15


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Inputs:
    def __init__(self, receipt: bytes):
        self.pngs = [render_text_image([f"Invoice {n:05d}", f"Total {n * 37 % 1000}.{n % 100:02d}"])
                     for n in range(8)]
        self.receipt = receipt
        self.text_pdf = text_pdf([[Text(f"Page {p} of the quarterly report", 72, 700)] for p in range(1, 4)])
        scans = [Image.open(io.BytesIO(render_text_image([f"Scanned page {p}", "Signed and dated"]))).convert("RGB")
                 for p in (1, 2)]
        self.scan_pdf = image_pdf(scans, resolution=150)
        buffer = io.BytesIO(self.pngs[0])
        good = buffer.getvalue()
        self.broken_png = good[:60] + bytes(len(good) - 60)  # the header is fine, the pixels are not


# (kind, how it is sent, expected final status or HTTP status)
ROUND = [
    ("png", "async", "succeeded"), ("png", "sync", 200), ("png", "async", "succeeded"),
    ("text_pdf", "async", "succeeded"), ("png", "async", "succeeded"), ("garbage", "async", 415),
    ("png", "sync", 200), ("receipt", "async", "succeeded"), ("png", "async", "succeeded"),
    ("broken_png", "async", "failed"), ("png", "sync", 200), ("scan_pdf", "async", "succeeded"),
    ("png", "async", "succeeded"), ("receipt", "cancel", "canceled"), ("png", "async", "succeeded"),
    ("text_pdf", "sync", 200), ("png", "async", "succeeded"), ("png", "sync", 200),
    ("png", "async", "succeeded"), ("broken_png", "sync", 422),
]


class Soak:
    def __init__(self, base_url: str, inputs: Inputs, jobs: int):
        self.base_url = base_url
        self.inputs = inputs
        self.jobs = jobs
        self.next = 0
        self.done = 0
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.problems: list[str] = []
        self.http: Counter[int] = Counter()
        self.milestones: dict[int, threading.Event] = {}
        self.running = threading.Event()  # cleared: clients finish their job in hand and wait
        self.running.set()
        self.active = 0

    def body(self, kind: str, index: int) -> dict:
        data = {"png": self.inputs.pngs[index % len(self.inputs.pngs)], "receipt": self.inputs.receipt,
                "text_pdf": self.inputs.text_pdf, "scan_pdf": self.inputs.scan_pdf,
                "broken_png": self.inputs.broken_png, "garbage": os.urandom(512)}[kind]
        return {"image": b64(data)}

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(method, self.base_url + path, timeout=180, **kwargs)
        with self.lock:
            self.http[response.status_code] += 1
        if response.status_code >= 500:
            self.problem(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return response

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def run_one(self, index: int) -> None:
        kind, how, expected = ROUND[index % len(ROUND)]
        body = self.body(kind, index)
        if how == "sync":
            response = self.call("POST", "/ocr", json=body)
            outcome = response.status_code
            if outcome != expected:
                self.problem(f"job {index} ({kind} sync): {outcome} {response.text[:200]}")
            with self.lock:
                self.outcomes[f"sync {outcome}"] += 1
            return
        response = self.call("POST", "/jobs", json=body)
        if response.status_code != 202:
            if response.status_code != expected:
                self.problem(f"job {index} ({kind}): {response.status_code} {response.text[:200]}")
            with self.lock:
                self.outcomes[f"refused {response.status_code}"] += 1
            return
        job_id = response.json()["id"]
        if how == "cancel":
            cancel = self.call("DELETE", f"/jobs/{job_id}")
            if cancel.status_code == 409:  # it finished first: fine, it must have succeeded
                expected = "succeeded"
        deadline = time.monotonic() + 300
        while True:
            poll = self.call("GET", f"/jobs/{job_id}")
            status = poll.json()["status"] if poll.status_code == 200 else f"http {poll.status_code}"
            if status in {"succeeded", "failed", "canceled"} or poll.status_code != 200:
                break
            if time.monotonic() > deadline:
                status = "unfinished"
                break
            time.sleep(0.1)
        with self.lock:
            self.outcomes[status] += 1
        if status != expected:
            self.problem(f"job {index} ({kind} {how}): {status}, expected {expected}")

    def client(self) -> None:
        while True:
            self.running.wait()
            with self.lock:
                if self.next >= self.jobs:
                    return
                index, self.next = self.next, self.next + 1
                self.active += 1
            try:
                self.run_one(index)
            except Exception as exc:  # a connection error is a failure of the service too
                self.problem(f"job {index}: {type(exc).__name__}: {exc}")
            with self.lock:
                self.done += 1
                self.active -= 1
                event = self.milestones.get(self.done)
                if event is not None:
                    self.running.clear()  # pause at the milestone: RSS is sampled with the service idle
            if event is not None:
                event.set()

    def at(self, done: int) -> threading.Event:
        self.milestones[done] = threading.Event()
        return self.milestones[done]

    def wait_idle(self, timeout: float = 600) -> None:
        """Until no job is in hand (paused at a milestone): every worker child between jobs."""
        deadline = time.monotonic() + timeout
        while self.active and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the last job's result is written; its child has trimmed its heap

    def resume(self) -> None:
        self.running.set()

    def warm(self, children: int) -> None:
        """Each kind of input the mix reads, `children` jobs of it at once, so that every
        (idle) child takes one. A child's first receipt or PDF builds kernels and buffers
        for its shapes (OpenVINO keeps them per shape, up to a ceiling) and loads PDFium:
        a first-time cost, not a leak, which the baseline must not depend on the luck of
        which child got what."""
        for kind in ("receipt", "scan_pdf", "text_pdf", "png"):
            ids = [self.call("POST", "/jobs", json=self.body(kind, n)).json()["id"] for n in range(children)]
            for job_id in ids:
                deadline = time.monotonic() + 300
                while (status := self.call("GET", f"/jobs/{job_id}").json()["status"]) in ("queued", "running"):
                    assert time.monotonic() < deadline, f"warm-up {kind} job {job_id} never finished"
                    time.sleep(0.1)
                assert status == "succeeded", f"warm-up {kind} job: {status}"


def sample_rss(stack) -> dict[str, float | None]:
    """RSS (MiB) of every worker child and every gateway worker process, by a stable name."""
    sample: dict[str, float | None] = {}
    for name, proc in stack.processes.procs.items():
        if name.startswith("worker"):
            for index, pid in enumerate(sorted(children_of(proc.pid))):
                sample[f"{name} child {index} ({pid})"] = rss_mib(pid)
        elif name == "web":
            sample[f"web arbiter ({proc.pid})"] = rss_mib(proc.pid)
            for index, pid in enumerate(sorted(children_of(proc.pid))):
                sample[f"web worker {index} ({pid})"] = rss_mib(pid)
    return sample


def redis_state(redis) -> dict:
    keys = [key.decode() for key in redis.scan_iter("*", count=1000)]
    kinds = Counter(":".join(key.split(":")[:2]) if key.startswith("ocr:") else key.split(".")[0] for key in keys)
    return {"used_memory": int(redis.info("memory")["used_memory"]), "keys": len(keys), "kinds": dict(kinds)}


def test_soak_mixed_jobs(fault_stacks, receipt_jpeg):
    stack = fault_stacks("soak", {"OCR_WORKER_CHILDREN": "2", "OCR_RESULT_TTL": str(RESULT_TTL)})
    inputs = Inputs(receipt_jpeg)
    soak = Soak(stack.base_url, inputs, JOBS)
    baseline = redis_state(stack.redis)
    soak.warm(children=2)
    early_mark, late_mark = max(50, JOBS // 10), JOBS  # 2,000 jobs: after 200 and after 2,000
    early, late = soak.at(early_mark), soak.at(late_mark)
    threads = [threading.Thread(target=soak.client, daemon=True) for _ in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    assert early.wait(3600), "the soak stalled"
    soak.wait_idle()
    rss_early = sample_rss(stack)
    soak.resume()
    assert late.wait(3 * 3600), "the soak stalled"
    soak.wait_idle()
    rss_late = sample_rss(stack)
    soak.resume()
    for thread in threads:
        thread.join(60)
    took = time.monotonic() - started

    # Once the TTL has passed, nothing of the jobs remains.
    time.sleep(RESULT_TTL + 5)
    deadline = time.monotonic() + 60
    while (after := redis_state(stack.redis))["kinds"].keys() & {"ocr:job", "ocr:upload", "ocr:done"}:
        if time.monotonic() > deadline:
            break
        time.sleep(2)

    growth = {name: round((rss_late.get(name) or 0) / value - 1, 3)
              for name, value in rss_early.items() if value and rss_late.get(name)}
    figures = {"jobs": JOBS, "seconds": round(took), "outcomes": dict(soak.outcomes), "http": dict(soak.http),
               "problems": len(soak.problems),
               "rss_after_first_10pct_mib": {k: round(v or 0, 1) for k, v in rss_early.items()},
               "rss_after_last_mib": {k: round(v or 0, 1) for k, v in rss_late.items()}, "rss_growth": growth,
               "redis_before": baseline, "redis_after_ttl": after}
    report("soak", **figures)

    assert not soak.problems, soak.problems[:10]
    assert not any(status >= 500 for status in soak.http), soak.http
    assert soak.outcomes["unfinished"] == 0 and not any(k.startswith("http 404") for k in soak.outcomes)
    assert set(rss_early) == set(rss_late), "a worker child or gateway process was replaced during the soak"
    assert all(abs(g) <= RSS_TOLERANCE for g in growth.values()), growth
    leaked = after["kinds"].keys() & {"ocr:job", "ocr:upload", "ocr:done"}
    assert not leaked, after
    assert after["used_memory"] <= baseline["used_memory"] + 2 * 1024 * 1024, (baseline, after)
