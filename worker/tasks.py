"""The OCR tasks: claim the job, run its files through the engine, store the result.

"ocr.run" is every job's own task. A job large enough to fan out (settings.fans_out) is
split there into "ocr.part" page tasks instead (worker/fanout.py), which any free child runs.
Imported only by the worker (through the Celery app's `include`), never by the gateway.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from billiard.einfo import ExceptionWithTraceback
from billiard.exceptions import WorkerLostError
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.worker.request import Request

from jobs import events
from jobs.errors import ErrorCode
from jobs.parts import PartStore
from jobs.producer import PART_TASK_NAME, TASK_NAME
from jobs.settings import Settings, get_settings
from jobs.store import JobStore
from ocrcore import UnknownModelError

from . import child, fanout
from .celery_app import celery_app
from .processing import FileError, JobRunner, JobStopped

log = logging.getLogger(__name__)


class OcrRequest(Request):
    """The task's request in the worker's main process. A child that dies mid-job puts the message
    back on the queue (late acks); first, how it died is noted on the job (or on the page task's
    part), so a file that crashes the child on every attempt ends `worker_crashed` rather than
    `worker_lost`."""

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):
        exc = exc_info.exception
        if isinstance(exc, ExceptionWithTraceback):
            exc = exc.exc
        job_id = self.args[0] if self.args else None
        if isinstance(exc, WorkerLostError) and job_id:
            reason = str(exc).removeprefix("Worker exited prematurely: ").split(" Job:", 1)[0].rstrip(".")
            try:
                if len(self.args) > 1:
                    PartStore(child.job_store()).note_lost_run(job_id, int(self.args[1]), reason)
                else:
                    child.job_store().note_lost_run(job_id, reason)
            except Exception as error:  # Redis away: the job ends worker_lost, as before
                log.warning("job %s: could not note how its worker died: %s", job_id, error)
            log.error("job %s: its worker child died (%s)", job_id, reason)
        return super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)


class OcrTask(Task):
    Request = OcrRequest

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """Runs in the main worker process for hard time limits (the child is already gone)."""
        job_id = args[0] if args else None
        if not job_id:
            return
        settings = get_settings()
        if isinstance(exc, TimeLimitExceeded):
            # Celery passes the limit it enforced: the job's own, which grows with its pages.
            limit = exc.args[0] if exc.args and isinstance(exc.args[0], (int, float)) else settings.hard_time_limit
            what = fanout.describe(job_id, args) if len(args) > 1 else ""
            code, message = ErrorCode.TIME_LIMIT, f"OCR{' of ' + what if what else ''} did not finish within the " \
                                                  f"{limit:g} s time limit."
        else:
            code, message = ErrorCode.INTERNAL_ERROR, "The worker failed while processing this job."
        if child.job_store().fail(job_id, code, message):
            log.error("job %s failed: %s (%r)", job_id, code, exc)


@celery_app.task(name=TASK_NAME, base=OcrTask, bind=True)
def run_ocr(self: Task, job_id: str) -> None:
    settings = get_settings()
    store = child.job_store()
    # The gateway sends each job's limits (they grow with its pages); older messages have none.
    hard_limit, soft_limit = self.request.timelimit or (None, None)
    hard_limit = hard_limit or settings.hard_time_limit
    soft_limit = soft_limit or settings.soft_time_limit
    member = child.member()
    status, attempt = store.start(
        job_id, worker=member, hard_time_limit=hard_limit, max_attempts=settings.max_attempts,
        lease_ttl=settings.lease_ttl,
    )
    if status == "exhausted":
        log.error("job %s failed: its worker died %d times", job_id, attempt - 1)
        return
    if status == "held":
        log.info("job %s skipped: another worker runs it under a live lease (a duplicate message)", job_id)
        return
    if status == "fanned":
        log.info("job %s skipped: it runs as page tasks already (a duplicate message)", job_id)
        return
    if status != "running":
        log.info("job %s skipped: it is %s", job_id, status or "gone (expired)")
        return
    if attempt > 1:
        log.warning("job %s: attempt %d after a lost worker", job_id, attempt)
    child.running(job_id)  # the heartbeat renews its lease from now on
    try:
        _run(store, job_id, member, settings, soft_limit)
    finally:
        child.running(None)


def _run(store: JobStore, job_id: str, member: str, settings: Settings, soft_limit: float) -> None:
    job = store.get(job_id)
    if job is None:
        log.info("job %s expired while starting", job_id)
        return
    if fanout.split(store, job, member, settings):
        return
    runner = JobRunner(
        child.engine(),
        settings,
        job.files,
        job.options,
        load=lambda index: child.crash_hook(store.load_upload(job_id, index)),
        report=lambda done: store.progress(job_id, done, worker=member),
    )
    started = time.perf_counter()
    try:
        result = runner.run()
    except SoftTimeLimitExceeded:
        _fail(store, job_id, ErrorCode.TIME_LIMIT, f"OCR did not finish within the {soft_limit:g} s time limit.",
              member)
    except JobStopped as stopped:
        log.info("job %s stopped after %d page(s): it is %s", job_id, runner.done,
                 stopped.status or "gone, or taken over by another worker")
    except FileError as exc:
        _fail(store, job_id, exc.code, exc.message, member)
    except MemoryError:
        log.error("job %s: the file needed more memory than the child's limit", job_id)
        _fail(store, job_id, ErrorCode.MEMORY_LIMIT,
              f"Processing this file needed more memory than a worker may use ({settings.child_memory_limit_mb} MB).",
              member)
    except UnknownModelError:
        _fail(store, job_id, ErrorCode.UNKNOWN_MODEL,
              f"The model set {runner.options.model!r} is not installed on this worker.", member)
    except Exception:
        log.exception("job %s: the OCR engine failed", job_id)
        _fail(store, job_id, ErrorCode.INTERNAL_ERROR, "The OCR engine failed on this file.", member)
    else:
        events.stages(runner.timings)  # for the "finished" line and the per-stage histograms
        if store.succeed(job_id, result, runner.documents, worker=member):
            t = runner.timings
            log.info("job %s succeeded: %d file(s), %d page(s) OCRed, %d from a text layer, output %s, %.3fs "
                     "(decode %.3f det %.3f cls %.3f rec %.3f)",
                     job_id, len(runner.files), runner.ocr_pages, runner.text_layer_pages, runner.output_format,
                     time.perf_counter() - started, t.get("decode", 0), t.get("det", 0), t.get("cls", 0),
                     t.get("rec", 0))
        else:
            log.info("job %s finished but was canceled or taken over meanwhile; result dropped", job_id)


@celery_app.task(name=PART_TASK_NAME, base=OcrTask, bind=True)
def run_part(self: Task, job_id: str, part: int) -> None:
    """One page (or the assembly) of a job split into page tasks (worker/fanout.py)."""
    soft_limit = (self.request.timelimit or (None, None))[1] or get_settings().soft_time_limit
    fanout.run_part(job_id, part, soft_limit)


def _fail(store: JobStore, job_id: str, code: ErrorCode, message: str, member: str) -> None:
    if store.fail(job_id, code, message, guard=("worker", member)):
        log.info("job %s failed: %s", job_id, code)
