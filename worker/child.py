"""The life of a worker child: pin to a core group, load the models once, report alive.

Also the per-process job store (the main worker process uses one too, for hard time limits).
Connected to Celery's child signals by worker/signals.py.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

from billiard.process import current_process
from redis import Redis

from jobs.settings import get_settings
from jobs.store import JobStore
from ocrcore import OcrEngine, PipelineConfig

from .cores import plan_core_groups

log = logging.getLogger(__name__)

_engine: OcrEngine | None = None
_store: JobStore | None = None
_member = ""  # this child's name in the heartbeat set


def job_store() -> JobStore:
    """This process's JobStore."""
    global _store
    if _store is None:
        settings = get_settings()
        _store = JobStore(Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=30),
                          settings.key_prefix)
    return _store


def engine() -> OcrEngine:
    """This child's engine (built at child start; a fallback for a task run outside a child)."""
    global _engine
    if _engine is None:
        settings = get_settings()
        _engine = OcrEngine(threads=1, default_model=settings.default_model)
    return _engine


def member_name(pid: int | None = None) -> str:
    return f"{socket.gethostname()}:{pid or os.getpid()}"


def member() -> str:
    return _member or member_name(current_process().pid)


def start() -> None:
    """In each prefork child, after fork: pin (unless a CPU quota is the limit), build the engine
    with one thread per CPU of its group, warm it, start the heartbeat."""
    global _engine, _member, _store
    settings = get_settings()
    index = current_process().index
    plan = plan_core_groups(settings.cores_per_group, settings.worker_children)
    cpus = plan.enter_group(index)
    started = time.perf_counter()
    _engine = OcrEngine(
        threads=len(cpus),
        default_model=settings.default_model,
        config=PipelineConfig(max_pixels=settings.max_image_pixels),
    )
    _engine.warmup()
    _store = None  # never reuse a connection opened before the fork
    _member = member_name(current_process().pid)
    placement = f"pinned to CPUs {list(cpus)}" if plan.pinned else "not pinned (CPU quota)"
    log.info("child %d %s, %d threads, model %s loaded in %.2fs",
             index, placement, len(cpus), _engine.default_model, time.perf_counter() - started)
    threading.Thread(target=_heartbeat_loop, name="ocr-heartbeat", daemon=True).start()


def _heartbeat_loop() -> None:
    """Tell the gateway's /readyz this child is alive; stops with the process, or when the
    worker's main process is gone (an orphaned child may finish its job but takes no new one)."""
    settings = get_settings()
    parent = os.getppid()
    while os.getppid() == parent:
        try:
            job_store().heartbeat(_member, settings.heartbeat_ttl)
        except Exception as exc:  # Redis away: readiness lapses on its own; keep trying
            log.warning("heartbeat failed: %s", exc)
        time.sleep(settings.heartbeat_interval)


def forget(pid: int | None) -> None:
    """In the main process when a child exits: it no longer counts as alive."""
    try:
        job_store().forget_worker(member_name(pid))
    except Exception as exc:
        log.warning("could not remove child %s from the heartbeat set: %s", pid, exc)
