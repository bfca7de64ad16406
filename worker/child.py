"""The life of a worker child: pin to a core group, load the models once, report alive.

Also the per-process job store (the main worker process uses one too, for hard time limits).
Connected to Celery's child signals by worker/signals.py.

Each child's heartbeat thread also renews the lease of the job (or page task of a split job,
jobs/parts.py) it runs and reaps lapsed leases: a job or page whose child stopped renewing
(killed with its worker or machine) is put back in the queue for whichever child is free, or
its job failed once its attempts are used up.
"""
from __future__ import annotations

import ctypes
import logging
import os
import resource
import socket
import threading
import time

from billiard.process import current_process

from jobs.connection import OutageRetry, connect
from jobs.parts import PartStore, part_label
from jobs.producer import Producer
from jobs.settings import get_settings
from jobs.store import JobStore
from ocrcore import OcrEngine, PipelineConfig

from . import delivery
from .cores import plan_core_groups

log = logging.getLogger(__name__)

_engine: OcrEngine | None = None
_store: JobStore | None = None
_live_store: JobStore | None = None
_parts: PartStore | None = None
_producer: Producer | None = None
_member = ""  # this child's name in the heartbeat set
# The job whose lease the heartbeat renews, and which of its parts when it was split (None: the job).
_running: tuple[str, int | None] | None = None


def job_store() -> JobStore:
    """This process's JobStore for jobs: a write during a Redis outage (restart, failover) waits and
    retries for up to the hard time limit instead of failing the job it belongs to."""
    global _store
    if _store is None:
        settings = get_settings()
        redis = connect(settings, socket_timeout=30, connect_timeout=5, retry=OutageRetry(settings.hard_time_limit))
        _store = JobStore(redis, settings.key_prefix)
    return _store


def liveness_store() -> JobStore:
    """The heartbeat thread's JobStore: fails fast, so a lapse in Redis is noticed, not waited out."""
    global _live_store
    if _live_store is None:
        settings = get_settings()
        _live_store = JobStore(connect(settings, socket_timeout=5, connect_timeout=2), settings.key_prefix)
    return _live_store


def part_store() -> PartStore:
    """This process's PartStore, on its job store's connection."""
    global _parts
    if _parts is None or _parts.store is not job_store():
        _parts = PartStore(job_store())
    return _parts


def producer() -> Producer:
    """This process's producer, for page tasks and re-queued jobs."""
    global _producer
    if _producer is None:
        _producer = Producer(get_settings())
    return _producer


def running(job_id: str | None, part: int | None = None) -> None:
    """The job (or part of a split job) this child runs now (None when it is done): its lease is
    renewed with each heartbeat."""
    global _running
    _running = None if job_id is None else (job_id, part)


def engine() -> OcrEngine:
    """This child's engine (built at child start; a fallback for a task run outside a child)."""
    global _engine
    if _engine is None:
        settings = get_settings()
        _engine = OcrEngine(threads=1, default_model=settings.default_model, backend=settings.backend)
    return _engine


def member_name(pid: int | None = None) -> str:
    return f"{socket.gethostname()}:{pid or os.getpid()}"


def member() -> str:
    return _member or member_name(current_process().pid)


def start() -> None:
    """In each prefork child, after fork: pin (unless a CPU quota is the limit), build the engine
    with one thread per CPU of its group, warm it, start the heartbeat."""
    global _engine, _member, _store, _live_store, _parts, _producer
    settings = get_settings()
    limit_memory(settings.child_memory_limit_mb)
    index = current_process().index
    plan = plan_core_groups(settings.cores_per_group, settings.worker_children)
    cpus = plan.enter_group(index)
    started = time.perf_counter()
    _engine = OcrEngine(
        threads=len(cpus),
        default_model=settings.default_model,
        config=PipelineConfig(max_pixels=settings.max_image_pixels),
        backend=settings.backend,
    )
    _engine.warmup()
    _store = None  # never reuse a connection opened before the fork
    _live_store = None
    _parts = None
    _producer = None
    _member = member_name(current_process().pid)
    placement = f"pinned to CPUs {list(cpus)}" if plan.pinned else "not pinned (CPU quota)"
    log.info("child %d %s, %d threads, model %s on %s loaded in %.2fs",
             index, placement, len(cpus), _engine.default_model, _engine.backend, time.perf_counter() - started)
    threading.Thread(target=_heartbeat_loop, name="ocr-heartbeat", daemon=True).start()
    delivery.start(liveness_store())  # completion callbacks (worker/delivery.py)


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space (RLIMIT_AS): past it, allocations fail (MemoryError in
    Python and numpy, a failed malloc in native code) instead of growing until the machine's
    memory is gone. 0 leaves the limit as inherited."""
    if megabytes <= 0:
        return
    limit = megabytes * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    log.info("child address space limited to %d MB", limit // (1024 * 1024))


def crash_hook(data: bytes | None) -> bytes | None:
    """TEST ONLY (OCR_TEST_CRASH_ON, off by default): crash on purpose when a file contains the
    marker, the way a decoder bug would, so the tests can prove one file cannot take other jobs
    down. What follows the marker picks the crash: b"abort" (SIGABRT), b"segv" (SIGSEGV) or
    b"memory" (native allocations past OCR_CHILD_MEMORY_LIMIT_MB, like a decompression bomb)."""
    marker = get_settings().test_crash_on
    if not marker or data is None:
        return data
    at = data.find(marker.encode())
    if at < 0:
        return data
    mode = data[at + len(marker):at + len(marker) + 6]
    log.warning("test crash hook: the file carries the marker; crashing on purpose (%r)", mode)
    if mode.startswith(b"abort"):
        os.abort()
    if mode.startswith(b"segv"):
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    if mode.startswith(b"memory"):
        import numpy as np

        limit = get_settings().child_memory_limit_mb
        if limit <= 0:  # never eat the machine's memory for a test
            raise RuntimeError("the memory crash needs OCR_CHILD_MEMORY_LIMIT_MB")
        held = []  # grows 256 MB at a time, every page written, until past the cap
        for _ in range(limit // 256 + 2):
            held.append(np.ones(256 * 1024 * 1024, dtype=np.uint8))
    return data


def _heartbeat_loop() -> None:
    """Tell the gateway's /readyz this child is alive, renew the running job's lease and reap
    lapsed ones; stops with the process, or when the worker's main process is gone (an orphaned
    child may finish its job, but its lease lapses and the job is re-run elsewhere)."""
    settings = get_settings()
    parent = os.getppid()
    healthy_since: float | None = None
    parts: PartStore | None = None
    while os.getppid() == parent:
        try:
            store = liveness_store()
            if parts is None or parts.store is not store:
                parts = PartStore(store)
            store.heartbeat(_member, settings.heartbeat_ttl)
            current = _running
            if current is not None and current[1] is None:
                store.renew_lease(current[0], _member, settings.lease_ttl)
            elif current is not None and current[1] is not None:
                parts.renew(current[0], current[1], _member, settings.lease_ttl)
            now = time.monotonic()
            healthy_since = healthy_since or now
            # After a Redis outage every lease looks lapsed (nobody could renew): reap only once
            # the running children have had a full lease to renew theirs.
            if now - healthy_since >= settings.lease_ttl:
                reap(store, parts)
        except Exception as exc:  # Redis away: readiness lapses on its own; keep trying
            healthy_since = None
            log.warning("heartbeat failed: %s", exc)
        time.sleep(settings.heartbeat_interval)


def reap(store: JobStore, parts: PartStore | None = None) -> None:
    """Re-queue the jobs and page tasks whose lease lapsed (a new attempt on whichever child is
    free), or fail the jobs whose attempts are used up. Any child of any worker may do it; the
    compare-and-set in the store lets exactly one re-queue each job or page."""
    reap_parts(parts or PartStore(store))
    settings = get_settings()
    resend_after = settings.resend_after
    for job_id in store.lapsed_leases():
        what, attempts, pages = store.requeue_lapsed(job_id, settings.max_attempts, resend_after)
        if what == "exhausted":
            log.error("job %s failed: its worker died %d times", job_id, attempts)
        elif what in ("requeued", "resend"):
            try:
                if what == "requeued":
                    how = producer().requeue(job_id, pages)
                else:
                    producer().enqueue(job_id, pages)
                    how = "again"
            except Exception as exc:
                store.lapse(job_id)  # the next pass sends it again
                log.warning("job %s: could not re-queue it: %s", job_id, exc)
                continue
            if how == "again":
                log.warning("job %s: queued but not taken within its lease (its message may be lost with a "
                            "gateway or reaper that died); message sent again", job_id)
            else:
                log.warning("job %s re-queued: the lease of attempt %d lapsed (its worker stopped); %s", job_id,
                            attempts, "its message restored at the head of the queue" if how == "restored"
                            else "a new message sent")


def reap_parts(parts: PartStore) -> None:
    """As `reap`, for the page tasks of split jobs (jobs/parts.py): only the lost page runs again."""
    settings = get_settings()
    for job_id, part in parts.lapsed():
        job = parts.store.get(job_id)
        label = part_label(job.files, part) if job is not None else f"part {part}"
        what, attempts = parts.requeue_lapsed(job_id, part, settings.max_attempts, settings.resend_after, label)
        if what == "exhausted":
            log.error("job %s failed: the worker running %s died %d times", job_id, label, attempts)
        elif what in ("requeued", "resend"):
            try:
                if what == "requeued":
                    how = producer().requeue_part(job_id, part)
                else:
                    producer().enqueue_part(job_id, part)
                    how = "again"
            except Exception as exc:
                parts.lapse(job_id, part)  # the next pass sends it again
                log.warning("job %s: could not re-queue %s: %s", job_id, label, exc)
                continue
            if how == "again":
                log.warning("job %s: %s queued but not taken within %.0f s; message sent again", job_id, label,
                            settings.resend_after)
            else:
                log.warning("job %s: %s re-queued: the lease of attempt %d lapsed (its worker stopped); %s", job_id,
                            label, attempts, "its message restored at the head of the queue" if how == "restored"
                            else "a new message sent")


def forget(pid: int | None) -> None:
    """In the main process when a child exits: it no longer counts as alive."""
    try:
        liveness_store().forget_worker(member_name(pid))
    except Exception as exc:
        log.warning("could not remove child %s from the heartbeat set: %s", pid, exc)
