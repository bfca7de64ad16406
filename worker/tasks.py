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

from ocrcore import OcrEngine, PipelineConfig, UnknownModelError

from . import job_events
from .celery_app import TASK_NAME, celery_app
from .cores import plan_core_groups
from .jobs import JobStore
from .processing import FileError, JobInput, JobRunner, JobStopped
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
    """In each prefork child, after fork: pin (unless a CPU quota is the limit), build the engine
    with one thread per CPU of its group, warm it."""
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
            # Celery passes the limit it enforced: the job's own, which grows with its pages.
            limit = exc.args[0] if exc.args and isinstance(exc.args[0], (int, float)) else settings.hard_time_limit
            code, message = "time_limit", f"OCR did not finish within the {limit:g} s time limit."
        else:
            code, message = "internal_error", "The worker failed while processing this job."
        if job_store().fail(job_id, code, message):
            log.error("job %s failed: %s (%r)", job_id, code, exc)


@celery_app.task(name=TASK_NAME, base=OcrTask, bind=True)
def run_ocr(self, job_id: str) -> None:
    settings = get_settings()
    store = job_store()
    # The gateway sends each job's limits (they grow with its pages); older messages have none.
    hard_limit, soft_limit = self.request.timelimit or (None, None)
    hard_limit = hard_limit or settings.hard_time_limit
    soft_limit = soft_limit or settings.soft_time_limit
    status, attempt = store.start(
        job_id, worker=_member or member_name(current_process().pid),
        hard_time_limit=hard_limit, max_attempts=settings.max_attempts,
    )
    if status == "exhausted":
        log.error("job %s failed: its worker died %d times", job_id, attempt - 1)
        return
    if status != "running":
        log.info("job %s skipped: it is %s", job_id, status or "gone (expired)")
        return
    if attempt > 1:
        log.warning("job %s: attempt %d after a lost worker", job_id, attempt)

    job = store.get(job_id)
    if job is None:
        log.info("job %s expired while starting", job_id)
        return
    files = job.files or [{"filename": None, "kind": None, "pages": None}]
    runner = JobRunner(
        _engine or OcrEngine(threads=1, default_model=settings.default_model),
        settings,
        JobInput(files=files, options=job.options),
        load=lambda index: store.load_upload(job_id, index),
        report=lambda done: store.progress(job_id, done),
    )
    started = time.perf_counter()
    try:
        result = runner.run()
    except SoftTimeLimitExceeded:
        _fail(store, job_id, "time_limit", f"OCR did not finish within the {soft_limit:g} s time limit.")
    except JobStopped as stopped:
        log.info("job %s stopped after %d page(s): it is %s", job_id, runner.done, stopped.status or "gone")
    except FileError as exc:
        _fail(store, job_id, exc.code, exc.message)
    except UnknownModelError:
        _fail(store, job_id, "unknown_model",
              f"The model set {runner.options.model!r} is not installed on this worker.")
    except Exception:
        log.exception("job %s: the OCR engine failed", job_id)
        _fail(store, job_id, "internal_error", "The OCR engine failed on this file.")
    else:
        job_events.stages(runner.timings)  # for the "finished" line and the per-stage histograms
        if store.succeed(job_id, result):
            t = runner.timings
            log.info("job %s succeeded: %d file(s), %d page(s) OCRed, %d from a text layer, output %s, %.3fs "
                     "(decode %.3f det %.3f cls %.3f rec %.3f)",
                     job_id, len(files), runner.ocr_pages, runner.text_layer_pages, runner.output_format,
                     time.perf_counter() - started, t.get("decode", 0), t.get("det", 0), t.get("cls", 0),
                     t.get("rec", 0))
        else:
            log.info("job %s finished but was canceled meanwhile; result dropped", job_id)


def _fail(store: JobStore, job_id: str, code: str, message: str) -> None:
    if store.fail(job_id, code, message):
        log.info("job %s failed: %s", job_id, code)
