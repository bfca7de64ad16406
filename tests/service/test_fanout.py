"""Jobs split into page tasks (worker/fanout.py) on a real stack: two children of one core each.

A document's pages are read by both children, and the merged result is the one the same
job gives run as one task (the worker restarted with OCR_FANOUT_MIN_PAGES=0), in every
output format, searchable PDFs included; a cancel stops the pages not started; a page that
fails fails the job with its page number; a sync job goes ahead of queued page tasks. The
stack is private (the tests restart its worker).
"""
from __future__ import annotations

import io
import re
import time
from typing import Any

import pytest
import requests
from PIL import Image

from jobs.model import PartOutcome
from tests.conftest import render_text_image
from tests.core.pdfmaker import Text, image_pdf, text_pdf
from tests.sroie import RECEIPT

from .helpers import OCR_TIMEOUT, b64, wait_for

FANOUT_ENV = {
    "OCR_WORKER_CHILDREN": "2",
    "OCR_CORES_PER_GROUP": "1",
    "OCR_HEARTBEAT_INTERVAL": "0.5",
    "OCR_JOB_LEASE_TTL": "3",
}
WORDS = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT"]


@pytest.fixture(scope="module")
def stack(start_service):
    stack = start_service("fanout-service", FANOUT_ENV)
    wait_children(stack, 2)
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def six_pages() -> bytes:
    """Six scanned pages, each with its own words (quick to read: a line or two each)."""
    pages = [Image.open(io.BytesIO(render_text_image([f"PAGE {n} SAYS {word}", f"Invoice {n * 1111}"], size=36)))
             for n, word in enumerate(WORDS, start=1)]
    return image_pdf(pages, resolution=100)


@pytest.fixture(scope="module")
def receipts_pdf() -> bytes:
    """Eight scanned receipts: a page takes a second or more on one core."""
    return image_pdf([Image.open(RECEIPT)] * 8, resolution=200)


def children(stack) -> set[str]:
    return {m.decode() for m in stack.redis.zrange("ocr:workers", 0, -1)}


def wait_children(stack, count: int, exclude: frozenset[str] | set[str] = frozenset(), timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while len(children(stack) - exclude) < count:
        assert time.monotonic() < deadline, f"{count} children never came up: {children(stack)}"
        time.sleep(0.2)


def submit(stack, files: list[tuple[str, bytes]], **fields: Any) -> dict:
    response = requests.post(stack.url("/jobs"), files=[("file", f) for f in files],
                             data={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()},
                             timeout=30)
    assert response.status_code == 202, response.text
    return response.json()


def documents(stack, result: dict) -> list[list[bytes]]:
    """A pdf job's documents, each as its objects' bytes in order (streams as stored), but for the
    embedded font's program: each worker process builds that font once, and fontTools stamps
    it with the time (and qpdf's file /ID, in the trailer, is random), so only they differ
    between two children writing the same document."""
    import pikepdf

    entries = [f["result"] for f in result["files"] if f["result"]] if "files" in result else [result]
    urls = list(dict.fromkeys(entry["url"] for entry in entries))
    out = []
    for url in urls:
        with pikepdf.open(io.BytesIO(requests.get(stack.url(url), timeout=30).content)) as pdf:
            fonts = {obj.FontFile2.objgen for obj in pdf.objects
                     if isinstance(obj, pikepdf.Dictionary) and "/FontFile2" in obj}
            out.append([b"<font program>" if obj.objgen in fonts
                        else obj.read_raw_bytes() + obj.stream_dict.unparse() if isinstance(obj, pikepdf.Stream)
                        else obj.unparse() for obj in pdf.objects])
    return out


def timeless(value: Any) -> Any:
    """A result without its processing times, document URLs (they name the job) and document
    sizes (the font's time stamp compresses differently: see `documents`)."""
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items() if k not in ("processing_time", "url", "bytes")}
    if isinstance(value, list):
        return [timeless(v) for v in value]
    return value


def worker_lines(stack, job_id: str) -> list[str]:
    return [line for line in stack.log("worker").splitlines() if f"job {job_id} part " in line and " read on " in line]


def test_a_document_is_read_by_both_children_and_merged_like_one_task(stack, six_pages, text_png):
    report = text_pdf([[Text("Quarterly Report", 72, 700, 20)], [Text("Second page text", 100, 400, 14)]])
    cases: dict[str, tuple[list[tuple[str, bytes]], dict[str, Any]]] = {
        fmt: ([("six.pdf", six_pages)], {"output_format": fmt, "paginate_output": fmt in ("text", "markdown")})
        for fmt in ("json", "text", "markdown", "html", "hocr", "pdf")
    }
    several = [("six.pdf", six_pages), ("hello.png", text_png), ("report.pdf", report)]
    cases["files-json"] = (several, {"page_range": "1,0"})
    cases["files-pdf"] = (several, {"output_format": "pdf"})

    def run_all() -> dict[str, tuple[dict, list[list[bytes]], str]]:
        jobs = {name: submit(stack, files, **fields) for name, (files, fields) in cases.items()}
        out = {}
        for name, job in jobs.items():
            final = wait_for(stack.url(job["url"]), timeout=OCR_TIMEOUT * 2)
            assert final["status"] == "succeeded", (name, final)
            assert final["progress"]["done"] == final["progress"]["total"], final
            pdf = cases[name][1].get("output_format") == "pdf"
            out[name] = (final["result"], documents(stack, final["result"]) if pdf else [], job["id"])
        return out

    fanned = run_all()
    one_task_env = {"OCR_FANOUT_MIN_PAGES": "0"}
    before = children(stack)
    stack.stop_worker()
    stack.start_worker(one_task_env)
    try:
        wait_children(stack, 2, exclude=before)
        whole = run_all()
    finally:
        before = children(stack)
        stack.stop_worker()
        stack.start_worker()
        wait_children(stack, 2, exclude=before)

    for name in cases:
        assert timeless(fanned[name][0]) == timeless(whole[name][0]), name
        assert fanned[name][1] == whole[name][1], f"{name}: the searchable PDFs differ"
    json_result = fanned["json"][0]
    assert [p["page"] for p in json_result["pages"]] == [1, 2, 3, 4, 5, 6]
    assert [w in p["results"][0]["text"] for p, w in zip(json_result["pages"], WORDS, strict=True)] == [True] * 6
    # Split: every page read once, by both children; run as one task: no page tasks at all.
    lines = worker_lines(stack, fanned["json"][2])
    assert len(lines) == 6, lines
    assert len({re.search(r" read on (\S+) ", line).group(1) for line in lines}) == 2, lines  # type: ignore[union-attr]
    assert not worker_lines(stack, whole["json"][2])


def test_a_file_that_fails_in_a_split_job_of_several_files_is_that_files_error(stack, six_pages, text_png):
    truncated = text_png[: len(text_png) // 2]  # its header passes the gateway; the worker cannot decode it
    job = submit(stack, [("six.pdf", six_pages), ("broken.png", truncated)])
    final = wait_for(stack.url(job["url"]), timeout=OCR_TIMEOUT)
    assert final["status"] == "succeeded", final
    six, broken = final["result"]["files"]
    assert six["error"] is None and len(six["result"]["pages"]) == 6
    assert broken["result"] is None and broken["error"]["code"] == "undecodable_image"


def test_cancel_stops_the_pages_not_started(stack, receipts_pdf):
    job = submit(stack, [("receipts.pdf", receipts_pdf)])
    deadline = time.monotonic() + OCR_TIMEOUT
    while (body := requests.get(stack.url(job["url"]), timeout=10).json())["progress"]["done"] < 2:
        assert body["status"] in ("queued", "running") and time.monotonic() < deadline, body
        time.sleep(0.05)
    assert requests.delete(stack.url(job["url"]), timeout=10).status_code == 200
    canceled_at = body["progress"]["done"]
    time.sleep(8)  # longer than a page: the pages in hand end, and nothing else starts
    read = worker_lines(stack, job["id"])
    stopped = re.findall(rf"job {job['id']} stopped after page \d", stack.log("worker"))
    # At most the two pages in hand when the cancel came (one per child) were read after it.
    assert len(read) <= canceled_at + 2 and len(read) + len(stopped) <= canceled_at + 2 < 8, (read, stopped)
    assert stack.redis.exists(f"ocr:parts:{job['id']}") == 0
    assert not [m for m in stack.redis.zrange("ocr:part_leases", 0, -1) if m.decode().startswith(job["id"])]


def test_a_page_that_fails_fails_the_job_with_its_page_number(stack, text_png):
    """Pages may take 4 s: page 3, six receipts (several seconds of recognition on one core), is
    stopped by its page time limit while the small pages around it are read."""
    small = Image.open(io.BytesIO(text_png))
    receipt = Image.open(RECEIPT).convert("RGB")
    heavy = Image.new("RGB", (receipt.width * 3, receipt.height * 2), "white")
    for i in range(6):
        heavy.paste(receipt, (i % 3 * receipt.width, i // 3 * receipt.height))
    pdf = image_pdf([small, small, heavy, small], resolution=200)
    before = children(stack)
    stack.stop_worker()
    stack.start_worker({"OCR_PAGE_TIME_LIMIT": "4"})
    try:
        wait_children(stack, 2, exclude=before)
        job = submit(stack, [("scan.pdf", pdf)])
        final = wait_for(stack.url(job["url"]), timeout=OCR_TIMEOUT)
    finally:
        before = children(stack)
        stack.stop_worker()
        stack.start_worker()
        wait_children(stack, 2, exclude=before)
    assert final["status"] == "failed", final
    assert final["error"]["code"] == "time_limit"
    assert "Page 3 took longer than the 4 s page time limit" in final["error"]["message"], final
    assert stack.redis.exists(f"ocr:parts:{job['id']}") == 0


def test_a_small_job_goes_ahead_of_the_page_tasks_waiting(stack, receipts_pdf, text_png):
    """Three documents keep page tasks waiting; a one-image job (what a sync call sends) starts on
    the next child that finishes a page, before the pages queued ahead of it."""
    jobs = [submit(stack, [(f"r{n}.pdf", receipts_pdf)]) for n in range(3)]
    deadline = time.monotonic() + OCR_TIMEOUT
    # Page tasks waiting (kombu's list for priority 9), and a page read (for its time).
    while stack.redis.llen("ocr\x06\x169") < 3 or not stack.redis.hexists(f"ocr:parts:{jobs[0]['id']}", "r0"):
        assert time.monotonic() < deadline, "the documents never queued their pages"
        time.sleep(0.05)
    waiting = stack.redis.llen("ocr\x06\x169")
    small = requests.post(stack.url("/jobs"), json={"image": b64(text_png)}, timeout=30).json()
    done = wait_for(stack.url(small["url"]))
    job = stack.store.get(small["id"])
    pages = [PartOutcome.from_json(raw).seconds for document in jobs
             for raw in stack.redis.hvals(f"ocr:parts:{document['id']}") if raw.startswith(b"{")]
    for document in jobs:
        requests.delete(stack.url(document["url"]), timeout=10)
    assert done["status"] == "succeeded" and pages, done
    waited = job.started_at - job.created_at
    # In turn it would have waited for the pages ahead of it: two or more pages' time on each child.
    assert waited < max(pages) + 1.0, (waited, pages, waiting)
