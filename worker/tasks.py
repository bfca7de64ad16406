"""The OCR task and the life of a worker child: pin to a core group, load models once, report alive.

Imported only by the worker (through the Celery app's `include`), never by the gateway.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

from billiard.process import current_process
from celery import Task, signals
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from redis import Redis

from ocrcore import (
    ImageDecodeError,
    ImageTooLargeError,
    OcrEngine,
    OcrOptions,
    PipelineConfig,
    UnknownModelError,
)

from .celery_app import TASK_NAME, celery_app
from .cores import pin_current_process, plan_core_groups
from .jobs import JobStore
from .settings import get_settings

log = logging.getLogger(__name__)

_engine: OcrEngine | None = None
_store: JobStore | None = None
_member = ""  # this child's name in the heartbeat set


def job_store() -> JobStore:
    """This process's JobStore (the main worker process uses one too, for hard time limits)."""
    global _store
    if _store is None:
        settings = get_settings()
        _store = JobStore(Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=30),
                          settings.key_prefix)
    return _store


def member_name(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"


@signals.worker_process_init.connect
def init_child(**_):
    """In each prefork child, after fork: pin, build the engine with one thread per CPU, warm it."""
    global _engine, _member, _store
    settings = get_settings()
    index = current_process().index
    plan = plan_core_groups(settings.cores_per_group, settings.worker_children)
    cpus = plan.group_for(index)
    pin_current_process(cpus)
    started = time.perf_counter()
    _engine = OcrEngine(
        threads=len(cpus),
        default_model=settings.default_model,
        config=PipelineConfig(max_pixels=settings.max_image_pixels),
    )
    _engine.warmup()
    _store = None  # never reuse a connection opened before the fork
    _member = member_name(current_process().pid)
    log.info("child %d pinned to CPUs %s, %d threads, model %s loaded in %.2fs",
             index, list(cpus), len(cpus), _engine.default_model, time.perf_counter() - started)
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


@signals.worker_process_shutdown.connect
def child_exited(pid=None, **_):
    """In the main process when a child exits: it no longer counts as alive."""
    try:
        job_store().forget_worker(member_name(pid))
    except Exception as exc:
        log.warning("could not remove child %s from the heartbeat set: %s", pid, exc)


class OcrTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Runs in the main worker process for hard time limits (the child is already gone)."""
        job_id = args[0] if args else None
        if not job_id:
            return
        settings = get_settings()
        if isinstance(exc, TimeLimitExceeded):
            code, message = "time_limit", f"OCR did not finish within the {settings.hard_time_limit:g} s time limit."
        else:
            code, message = "internal_error", "The worker failed while processing this job."
        if job_store().fail(job_id, code, message):
            log.error("job %s failed: %s (%r)", job_id, code, exc)


@celery_app.task(name=TASK_NAME, base=OcrTask, bind=True)
def run_ocr(self, job_id: str) -> None:
    settings = get_settings()
    store = job_store()
    status, attempt = store.start(
        job_id, worker=_member or member_name(current_process().pid),
        hard_time_limit=settings.hard_time_limit, max_attempts=settings.max_attempts,
    )
    if status == "exhausted":
        log.error("job %s failed: its worker died %d times", job_id, attempt - 1)
        return
    if status != "running":
        log.info("job %s skipped: it is %s", job_id, status or "gone (expired)")
        return
    if attempt > 1:
        log.warning("job %s: attempt %d after a lost worker", job_id, attempt)

    data = store.load_upload(job_id)
    job = store.get(job_id)
    if data is None or job is None:
        store.fail(job_id, "upload_expired", "The upload expired before a worker could process it.")
        return
    options = OcrOptions(
        model=job.options.get("model"),
        use_angle_cls=job.options.get("use_angle_cls", True),
        det_limit_side=job.options.get("det_limit_side"),
    )
    engine = _engine or OcrEngine(threads=1, default_model=settings.default_model)
    try:
        result = engine.run(data, options)
    except SoftTimeLimitExceeded:
        _fail(store, job_id, "time_limit", f"OCR did not finish within the {settings.soft_time_limit:g} s time limit.")
    except ImageTooLargeError:
        _fail(store, job_id, "too_many_pixels",
              f"The image has more pixels than the limit of {settings.max_image_pixels}.")
    except ImageDecodeError:
        _fail(store, job_id, "undecodable_image", "The image could not be decoded; it may be corrupt or truncated.")
    except UnknownModelError:
        _fail(store, job_id, "unknown_model", f"The model set {options.model!r} is not installed on this worker.")
    except Exception:
        log.exception("job %s: the OCR engine failed", job_id)
        _fail(store, job_id, "internal_error", "The OCR engine failed on this image.")
    else:
        if store.succeed(job_id, result.to_dict()):
            t = result.timings
            log.info("job %s succeeded: %dx%d, %d lines, model %s, %.3fs (decode %.3f det %.3f cls %.3f rec %.3f)",
                     job_id, result.width, result.height, len(result.lines), result.model,
                     result.processing_time, t.get("decode", 0), t.get("det", 0), t.get("cls", 0), t.get("rec", 0))
        else:
            log.info("job %s finished but was canceled meanwhile; result dropped", job_id)


def _fail(store: JobStore, job_id: str, code: str, message: str) -> None:
    if store.fail(job_id, code, message):
        log.info("job %s failed: %s", job_id, code)
