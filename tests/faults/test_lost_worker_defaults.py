"""Lost workers in the configuration users run: two `python -m worker` on one machine with nothing
set (one child per core, the default lease, heartbeat and visibility timeout), the second killed
with SIGKILL of its process group (main process and children at once, a machine losing power).

Every message the dead worker held comes back, wherever it was: reserved in its main process,
handed to a child that had not started it, running, or a page task of a fanned-out document.
Bound (docs/RELIABILITY.md, "Messages a dead worker held"): back in the queue within lease TTL +
2 heartbeat intervals of the death (7 s with the defaults), plus slack for the shared box; so
the last job finishes within that plus the time the survivor needs to run the jobs. Nothing
waits for the broker's visibility timeout, and nothing is left in kombu's `unacked` hash.

The four cases share one stack (the victim is started again between them):
- the issue's case: six receipts, SIGKILL while a child of the victim runs one;
- the victim killed while its children still warm up, with messages already reserved;
- the victim killed with several jobs reserved behind the one its child runs;
- the victim killed in the middle of a fanned-out 20-page PDF, with receipts queued behind it.
"""
from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
import requests

from jobs.settings import Settings
from ops.run_local import worker_command
from tests.service.helpers import b64

from .conftest import (
    FaultStack,
    UnackedWatch,
    poll_all,
    report,
    tally,
    unacked_ids,
    wait_unacked_empty,
    wait_workers,
)
from .longdoc import PAGES, labelled_pdf, page_labels, reads_per_page

DEFAULTS = Settings.model_construct()  # the fields' defaults, whatever this shell has set
LEASE = DEFAULTS.lease_ttl
INTERVAL = DEFAULTS.heartbeat_interval
BOUND = LEASE + 2 * INTERVAL
SLACK = 4.0  # seconds: thread wake-ups on a shared, loaded 2-core box
CHILDREN = 2  # per worker: this box has 2 cores


@pytest.fixture(scope="module")
def stack(fault_stacks) -> FaultStack:
    return fault_stacks("defaults", workers=2, defaults=True)


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def on_worker(member: str | None, worker_pid: int) -> bool:
    return bool(member) and parent_of(int(member.rsplit(":", 1)[1])) == worker_pid


def both_workers(stack: FaultStack) -> None:
    """The victim ("worker2") running again after a previous case killed it, children warm."""
    proc = stack.processes.procs["worker2"]
    if proc.poll() is not None:
        stack.processes.start_worker(name="worker2", env=stack.env)
    wait_workers(stack, 2 * CHILDREN)


def submit(stack: FaultStack, body: dict, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = requests.post(stack.url("/jobs"), json=body, timeout=30)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def snapshot(stack: FaultStack, ids: list[str], victim: int) -> dict[str, str]:
    """Where each job is: "victim", "survivor" (a child runs it), "reserved" (its message is held
    but no child started it), "queued" (in the queue) or its final status."""
    held = unacked_ids(stack.redis)
    where = {}
    for job_id in ids:
        status, member = (v.decode() if v else None for v in
                          stack.redis.hmget(f"ocr:job:{job_id}", "status", "worker"))
        if status == "running":
            where[job_id] = "victim" if on_worker(member, victim) else "survivor"
        elif status == "queued":
            where[job_id] = "reserved" if job_id in held else "queued"
        else:
            where[job_id] = status or "gone"
    return where


def kill_and_follow(stack: FaultStack, ids: list[str], scenario: str, **extra) -> dict:
    """SIGKILL the victim's process group now; follow every job to its end and every message the
    victim held back to the queue; report and check the bound."""
    victim = stack.pid("worker2")
    where = snapshot(stack, ids, victim)
    watch = UnackedWatch(stack)
    held_at_kill = watch.tasks()
    killed_at = time.time()
    stack.kill("worker2", signal.SIGKILL)
    final = poll_all(stack.base_url, ids, timeout=240)
    empty_after = wait_unacked_empty(stack, BOUND + SLACK + 30)
    watch.stop()
    counts = tally(final)
    jobs = {job_id: stack.store.get(job_id) for job_id in ids}
    # The victim's messages: its running jobs, and those held that no survivor child had started.
    survivor_started = {job_id for job_id, job in jobs.items()
                        if job and job.started_at and job.started_at < killed_at + 0.5 and where[job_id] != "victim"}
    victims = sorted((held_at_kill & set(ids)) - survivor_started - {j for j, w in where.items() if w == "survivor"})
    back_after = {job_id: round(watch.left[job_id] - killed_at, 2) if job_id in watch.left else None
                  for job_id in victims}
    finished = [job.finished_at for job in jobs.values() if job and job.finished_at]
    # The survivor's work after the kill, run by its children in parallel.
    work = sum((job.finished_at or 0) - max(job.started_at or 0, killed_at) for job in jobs.values()
               if job and job.finished_at and job.finished_at > killed_at) / CHILDREN
    last = round(max(finished) - killed_at, 2) if finished else None
    figures = dict(counts, held_at_kill={job_id: where.get(job_id, "?") for job_id in sorted(held_at_kill)},
                   victim_messages=len(victims), back_in_queue_after_s=back_after,
                   bound_s=BOUND, last_finished_after_s=last, survivor_work_s=round(work, 2),
                   unacked_empty_after_s=None if empty_after is None else round(empty_after, 2), **extra)
    report(scenario, **figures)
    assert counts["succeeded"] == len(ids), figures
    assert victims, f"the victim held no message at the kill: the case was not made ({figures})"
    assert all(t is not None and t <= BOUND + SLACK for t in back_after.values()), figures
    assert last is not None and last <= BOUND + work + SLACK, figures
    assert empty_after is not None, f"messages left in unacked: {unacked_ids(stack.redis)}"
    return figures


def wait_for(predicate, what: str, timeout: float = 120, step: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(step)


def test_every_job_a_killed_worker_held_comes_back_under_the_defaults(stack, receipt_jpeg):
    """Issue 25's case as it was found: the second worker just started, /readyz counting the first
    worker's 2 children; 6 receipts; the second worker SIGKILLed while one of its children runs one."""
    both_workers(stack)
    stack.processes.stop("worker2")
    stack.processes.start_worker(name="worker2", env=stack.env)
    wait_workers(stack, CHILDREN)
    ids = submit(stack, {"image": b64(receipt_jpeg)}, 6)
    victim = stack.pid("worker2")
    wait_for(lambda: "victim" in snapshot(stack, ids, victim).values(), "the victim never ran a job")
    time.sleep(0.5)  # a renewal into the run
    kill_and_follow(stack, ids, "defaults_lost_worker")


def alive_children(stack: FaultStack) -> int:
    try:
        return int(requests.get(stack.url("/readyz"), timeout=5).json().get("workers", 0))
    except (requests.RequestException, ValueError):
        return 0


def test_a_worker_killed_while_its_children_warm_up(stack, receipt_jpeg):
    """The victim starts while jobs wait; its main process reserves messages before its children
    have loaded their models; it dies before they are all warm."""
    both_workers(stack)
    stack.processes.stop("worker2")
    ids = submit(stack, {"image": b64(receipt_jpeg)}, 8)
    survivor = stack.pid("worker")
    wait_for(lambda: list(snapshot(stack, ids, survivor).values()).count("victim") == CHILDREN,
             "the survivor never ran its two jobs")  # "victim" here: on the worker given, the survivor
    stack.processes.start_worker(name="worker2", env=stack.env)
    started = time.monotonic()
    # The survivor holds its two running jobs and nothing more (one message per child): any other
    # message held is the new worker's.
    wait_for(lambda: len(unacked_ids(stack.redis) & set(ids)) > CHILDREN, "the new worker reserved nothing",
             timeout=120, step=0.01)
    reserved_after = time.monotonic() - started
    alive = alive_children(stack)
    assert alive < 2 * CHILDREN, f"the victim's children were all warm at the kill ({alive} alive)"
    kill_and_follow(stack, ids, "defaults_killed_warming_up", children_alive_at_kill=alive,
                    victim_reserved_after_start_s=round(reserved_after, 2))


def test_a_worker_killed_with_several_jobs_reserved(stack, receipt_jpeg, text_png):
    """With the defaults a warm worker holds one message per child; a worker run with a larger
    prefetch (`python -m worker --prefetch-multiplier=4`, passed through to Celery) holds more
    than its children run. It is killed while its children run receipts and its main process
    holds several more jobs, none started."""
    both_workers(stack)
    stack.processes.stop("worker2")
    stack.processes.start("worker2", [*worker_command(), "--prefetch-multiplier=4"], stack.env)
    wait_workers(stack, 2 * CHILDREN)
    ids = submit(stack, {"image": b64(receipt_jpeg)}, 12)
    victim = stack.pid("worker2")
    wait_for(lambda: list(snapshot(stack, ids, victim).values()).count("victim") >= 1, "the victim never ran a job")
    # The survivor's two running jobs, the victim's two, and at least two more the victim reserved.
    held = wait_for(lambda: (n := len(unacked_ids(stack.redis) & set(ids))) >= 2 * CHILDREN + 2 and n,
                    "the victim never held more than its children run", timeout=60)
    # A live worker's messages stay its own however long it holds them: past the visibility
    # timeout and two sweeps, none was delivered a second time (worker/held.py refreshes them).
    time.sleep(BOUND + 1)
    logs = stack.log("worker") + stack.log("worker2")
    redelivered = [job_id for job_id in ids if logs.count(f"ocr.run[{job_id}] received") > 1]
    assert not redelivered, f"messages of a live worker handed out again: {redelivered}"
    figures = kill_and_follow(stack, ids, "defaults_killed_with_reserved", held_at_kill_count=held)
    assert figures["victim_messages"] >= 3, figures


def test_a_worker_killed_mid_fanned_out_pdf_with_jobs_queued_behind(stack, receipt_jpeg):
    """A 20-page scan split into page tasks over both workers, 4 receipts submitted after it; the
    victim killed while one of its children reads a page, a few pages being done."""
    both_workers(stack)
    pdf = labelled_pdf(PAGES)
    response = requests.post(stack.url("/jobs"), files=[("file", ("long.pdf", pdf))], timeout=60)
    assert response.status_code == 202, response.text
    doc = response.json()["id"]
    behind = submit(stack, {"image": b64(receipt_jpeg)}, 4)
    victim = stack.pid("worker2")

    def victim_pages() -> list[int]:
        """The pages the victim's children are reading now (once a few pages are done)."""
        done = int(stack.redis.hget(f"ocr:job:{doc}", "parts_done") or 0)
        owners = {k.decode(): v.decode() for k, v in stack.redis.hgetall(f"ocr:parts:{doc}").items()
                  if k.startswith(b"w")}
        pages = sorted(int(k[1:]) + 1 for k, member in owners.items() if on_worker(member, victim))
        return pages if done >= 3 else []

    wait_for(victim_pages, "the victim never read a page", timeout=180)
    figures = kill_and_follow_document(stack, doc, behind, victim_pages)
    assert figures["labels"] == list(range(1, PAGES + 1)), figures


def kill_and_follow_document(stack: FaultStack, doc: str, behind: list[str], victim_pages) -> dict:
    pages = victim_pages()
    watch = UnackedWatch(stack)
    held = watch.tasks()
    killed_at = time.time()
    stack.kill("worker2", signal.SIGKILL)
    final = poll_all(stack.base_url, [doc, *behind], timeout=300)
    empty_after = wait_unacked_empty(stack, BOUND + SLACK + 30)
    watch.stop()
    logs = stack.log("worker") + stack.log("worker2")
    body = final[doc]
    labels = page_labels(body) if body["status"] == "succeeded" else []
    back = {task: round(watch.left[task] - killed_at, 2) for task in sorted(held) if task in watch.left}
    figures = dict(tally(final), pages_in_hand_at_kill=pages, labels=labels, reads_per_page=reads_per_page(logs, doc),
                   held_at_kill=sorted(held), left_unacked_after_s=back,
                   finished_after_s=round(max((stack.store.get(j).finished_at or 0) for j in [doc, *behind])
                                          - killed_at, 2),
                   unacked_empty_after_s=None if empty_after is None else round(empty_after, 2))
    report("defaults_lost_worker_mid_document", **figures)
    assert all(b["status"] == "succeeded" for b in final.values()), figures
    assert [p["page"] for p in body["result"]["pages"]] == list(range(1, PAGES + 1)), figures
    assert empty_after is not None, f"messages left in unacked: {unacked_ids(stack.redis)}"
    # Each page recorded once; only the page the victim was reading may have been started twice.
    assert all(n == 1 for n in figures["reads_per_page"]), figures
    for page in pages:  # the pages in hand ran again (or their finish raced the kill, and they were done)
        assert re.search(rf"job {doc}: page {page} re-queued|job {doc}: page {page}, attempt 2", logs) or \
            figures["reads_per_page"][page - 1] == 1 and f"part {page}/{PAGES} (page {page}) read on" in \
            stack.log("worker2"), (page, figures)
    return figures
