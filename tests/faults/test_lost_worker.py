"""A whole worker dies (main process and children at once, like a lost machine) while another
worker lives: every accepted job ends, and the job it was running is re-run by the survivor
once its lease lapses, not after the visibility timeout.

Bound (docs/RELIABILITY.md): a lapsed job is re-queued within lease TTL + one heartbeat
interval of its worker's death (here 3 + 0.5 s; defaults 5 + 1 s), plus slack for a loaded
machine. Its original message is restored at the head of the queue, so it starts as soon as a
surviving child finishes its current job, before the jobs that were waiting; and no copy of
that message comes back after the visibility timeout to run it twice.
"""
from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import requests

from tests.service.helpers import b64

from .conftest import FAULT_ENV, poll_all, report, tally

LEASE = float(FAULT_ENV["OCR_JOB_LEASE_TTL"])
INTERVAL = float(FAULT_ENV["OCR_HEARTBEAT_INTERVAL"])
SLACK = 4.0  # seconds: thread wake-ups on a shared, loaded 2-core box
# Long enough that kombu's sweep (worker/held.py) never brings the killed job's message back
# first: this test shows the lease path, which restores it at the head of the queue.
VISIBILITY = 60


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def field(stack, job_id: str, name: str) -> str | None:
    value = stack.redis.hget(f"ocr:job:{job_id}", name)
    return value.decode() if value is not None else None


def test_a_lost_workers_running_job_is_rerun_by_the_survivor(fault_stacks, receipt_jpeg):
    env = {"OCR_VISIBILITY_TIMEOUT": str(VISIBILITY), "OCR_MAX_PDF_PAGES": "1"}
    stack = fault_stacks("lost-worker", env, workers=2)
    victim, survivor = stack.pid("worker"), stack.pid("worker2")
    ids = []
    for _ in range(6):  # two running (one per worker), four queued
        response = requests.post(stack.url("/jobs"), json={"image": b64(receipt_jpeg)}, timeout=30)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])

    # Until the victim's child runs one of them.
    deadline = time.monotonic() + 120
    doomed = None
    while doomed is None:
        assert time.monotonic() < deadline, "the first worker never started a job"
        for job_id in ids:
            worker = field(stack, job_id, "worker")
            on_victim = worker and parent_of(int(worker.rsplit(":", 1)[1])) == victim
            if field(stack, job_id, "status") == "running" and on_victim:
                doomed, doomed_member = job_id, worker
        time.sleep(0.05)
    time.sleep(0.5)  # a renewal or two into the run
    waiting = [job_id for job_id in ids if field(stack, job_id, "status") == "queued"]
    killed_at = time.time()
    stack.kill("worker", signal.SIGKILL)  # main process and children, no goodbye

    final = poll_all(stack.base_url, ids, timeout=240)
    counts = tally(final)
    requeued_at = field(stack, doomed, "requeued_at")
    rerun = stack.store.get(doomed)
    assert rerun is not None
    waiting_started = [job.started_at for job_id in waiting if (job := stack.store.get(job_id)) and job.started_at]
    figures = dict(counts, rerun_attempts=rerun.attempts,
                   requeued_after_s=round(float(requeued_at) - killed_at, 2) if requeued_at else None,
                   rerun_started_after_s=round((rerun.started_at or 0) - killed_at, 2),
                   bound_s=LEASE + INTERVAL, jobs_waiting_at_kill=len(waiting),
                   first_waiting_job_started_after_s=round(min(waiting_started) - killed_at, 2) if waiting_started
                   else None)
    report("lost_worker", **figures)

    assert counts["succeeded"] == len(ids), final
    assert rerun.attempts == 2, "the re-run counts as an attempt"
    assert rerun.worker != doomed_member and parent_of(int(rerun.worker.rsplit(":", 1)[1])) == survivor
    assert requeued_at is not None, "re-queued through its lease (the old code waited for the deadline)"
    assert float(requeued_at) - killed_at <= LEASE + INTERVAL + SLACK, figures
    # Back at the head of the queue: it ran before the jobs that waited (which the survivor had
    # not started by the time the lease lapsed).
    late = [t for t in waiting_started if t > float(requeued_at)]
    assert not late or rerun.started_at <= min(late), figures

    # Its original message was restored, not left to come back after the visibility timeout.
    assert f"job {doomed} re-queued: the lease of attempt 1 lapsed (its worker stopped); its message restored " \
           "at the head of the queue" in stack.log("worker2")
    assert not stack.redis.hlen("unacked")
    time.sleep(3)
    after = stack.store.get(doomed)
    assert after is not None and after.status == "succeeded" and after.attempts == 2, after


def test_a_job_whose_workers_keep_dying_fails_with_a_reason(fault_stacks, receipt_jpeg):
    """Two workers, each killed in turn while running the same job: after OCR_MAX_ATTEMPTS (2) the
    job fails worker_lost with its reason instead of being re-run for ever."""
    stack = fault_stacks("dying-workers", workers=2)
    response = requests.post(stack.url("/jobs"), json={"image": b64(receipt_jpeg)}, timeout=30)
    job_id = response.json()["id"]
    for attempt in (1, 2):
        deadline = time.monotonic() + 120
        while not (field(stack, job_id, "status") == "running" and field(stack, job_id, "attempts") == str(attempt)):
            assert time.monotonic() < deadline, f"attempt {attempt} never started"
            time.sleep(0.05)
        parent = parent_of(int(field(stack, job_id, "worker").rsplit(":", 1)[1]))
        name = "worker" if parent == stack.pid("worker") else "worker2"
        stack.kill(name, signal.SIGKILL)
        if attempt == 1:  # a replacement machine joins; the job may land on it or on the other worker
            stack.processes.start_worker(name=name, env=stack.env)
    final = poll_all(stack.base_url, [job_id], timeout=120)[job_id]
    report("lost_worker_exhausted", status=final["status"], error=final.get("error"))
    assert final["status"] == "failed" and final["error"]["code"] == "worker_lost", final
    assert "2 times" in final["error"]["message"]


def test_a_lost_workers_page_is_read_again_and_no_finished_page_is(fault_stacks):
    """A document split into page tasks over two workers; one dies mid-page: the survivor reads
    that page again once its lease lapses, every other page is read exactly once, and the job
    succeeds with all its pages in order."""
    from PIL import Image

    from tests.core.pdfmaker import image_pdf
    from tests.sroie import RECEIPT

    stack = fault_stacks("lost-worker-pages", workers=2)
    victim = stack.pid("worker")
    pages = 8  # FAULT_ENV's page cap; a receipt page takes a second or more on one core
    pdf = image_pdf([Image.open(RECEIPT)] * pages, resolution=200)
    response = requests.post(stack.url("/jobs"), files=[("file", ("receipts.pdf", pdf))], timeout=30)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    parts_key = f"ocr:parts:{job_id}"

    deadline = time.monotonic() + 180
    doomed = None
    while doomed is None:  # two pages done, and the victim's child in the middle of another
        assert time.monotonic() < deadline, "the victim never read a page"
        done = int(field(stack, job_id, "parts_done") or 0)
        owners = {k.decode(): v.decode() for k, v in stack.redis.hgetall(parts_key).items() if k.startswith(b"w")}
        for key, member in owners.items():
            if done >= 2 and parent_of(int(member.rsplit(":", 1)[1])) == victim:
                doomed = int(key[1:])
        time.sleep(0.05)
    time.sleep(0.3)
    killed_at = time.time()
    stack.kill("worker", signal.SIGKILL)

    final = poll_all(stack.base_url, [job_id], timeout=240)[job_id]
    logs = stack.log("worker") + stack.log("worker2")
    reads = [int(n) for n in re.findall(rf"job {job_id} part (\d+)/{pages} \(page \d+\) read on", logs)]
    # Back through its lease (the reaper) or through kombu's sweep of the dead worker's messages
    # (worker/held.py), whichever came first; either way a second attempt at that page.
    requeued = re.search(rf"job {job_id}: page {doomed + 1} re-queued: the lease of attempt 1 lapsed", logs)
    report("lost_worker_pages", status=final["status"], pages=pages, killed_page=doomed + 1,
           reads_per_page=[reads.count(n) for n in range(1, pages + 1)], requeued=bool(requeued),
           finished_after_s=round(time.time() - killed_at, 2))
    assert final["status"] == "succeeded", final
    assert [p["page"] for p in final["result"]["pages"]] == list(range(1, pages + 1))
    assert all(len(p["results"]) > 10 for p in final["result"]["pages"])
    assert sorted(reads) == list(range(1, pages + 1)), "each page read once (the killed run never finished)"
    assert f"job {job_id}: page {doomed + 1}, attempt 2 after a lost worker" in stack.log("worker2")
