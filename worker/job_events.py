"""A job's life, told to the logs and the metrics, outside the code that does the work.

- Celery's task_prerun / task_postrun (in the worker child running `ocr.run`): bind the job id
  and the child's identity (host:pid, its CPUs) to every line logged during the run, log
  "started" with the time the job waited in the queue, and clear them afterwards.
- `stages(timings)`: the task hands over the OCR time per stage (decode, det, cls, rec).
- `finished(...)`: the job store calls it once per job, right after the compare-and-set that
  gave the job its final status, whichever process that was (worker child, the worker's main
  process on a hard time limit, a gateway canceling or noticing a lost worker). It counts the
  status and logs "finished"; in a worker child it adds the stage times and run time to the
  line and to the histograms.

Bookkeeping never breaks a job: a failure here is logged and dropped.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field

from celery import signals

from . import logs
from .metrics import JobMetrics, error_code

log = logging.getLogger(__name__)

TASK_NAME = "ocr.run"  # worker.celery_app.TASK_NAME (not imported: that would build the Celery app)


@dataclass
class _Run:
    job_id: str
    started: float = field(default_factory=time.monotonic)
    stages: dict[str, float] = field(default_factory=dict)


_run: _Run | None = None  # the job this worker child is running (one at a time)


def _job_id_of(sender, args) -> str | None:
    if getattr(sender, "name", None) != TASK_NAME or not args:
        return None
    return args[0] if logs.looks_like_job_id(args[0]) else None


@signals.task_prerun.connect
def started(sender=None, args=None, **_):
    global _run
    job_id = _job_id_of(sender, args)
    if job_id is None:
        return
    _run = _Run(job_id)
    cpus = sorted(os.sched_getaffinity(0))
    worker = f"{socket.gethostname()}:{os.getpid()}"
    logs.bind(job_id=job_id, worker=worker, cpus=cpus)
    waited = None
    try:
        from .tasks import job_store  # the child's store; imported here, tasks imports this module

        store = job_store()
        status, created_at = store.redis.hmget(store.job_key(job_id), "status", "created_at")
        if status == b"queued" and created_at:
            waited = max(0.0, time.time() - float(created_at))
            JobMetrics(store.redis, store.prefix).observe([("queue_wait_seconds", "", waited)])
    except Exception as exc:
        log.warning("job %s: could not read its queue time: %s", job_id, exc)
    log.info("job %s started on %s, CPUs %s", job_id, worker, cpus,
             extra=logs.event("started", queued_s=None if waited is None else round(waited, 3)))


@signals.task_postrun.connect
def ended(sender=None, args=None, **_):
    global _run
    if _job_id_of(sender, args) is None:
        return
    _run = None
    logs.clear()


def stages(timings: dict[str, float]) -> None:
    """The running job's OCR time per stage, in seconds (summed over its pages)."""
    if _run is not None:
        _run.stages = {name: float(seconds) for name, seconds in timings.items()}


def finished(redis, prefix: str, job_id: str, status: str, error_json: str | bytes | None = None) -> None:
    """Called by JobStore once the job's final status is set (see the module docstring)."""
    code = error_code(error_json)
    run = _run if _run is not None and _run.job_id == job_id else None
    fields: dict = {"status": status}
    if code:
        fields["error_code"] = code
    try:
        metrics = JobMetrics(redis, prefix)
        metrics.job_finished(status, code)
        if run is not None:
            fields["run_s"] = round(time.monotonic() - run.started, 3)
            samples = [("job_seconds", "", fields["run_s"])]
            if status == "succeeded" and run.stages:
                fields["stages"] = {name: round(seconds, 4) for name, seconds in run.stages.items()}
                samples += [("stage_seconds", name, seconds) for name, seconds in run.stages.items()]
            metrics.observe(samples)
    except Exception as exc:
        log.warning("job %s: could not record its metrics: %s", job_id, exc)
    log.info("job %s finished: %s%s", job_id, status, f" ({code})" if code else "",
             extra=logs.event("finished", job_id=job_id, **fields))
