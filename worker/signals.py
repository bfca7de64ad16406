"""Celery's signals, connected to the child's life (worker/child.py) and the job's logs and metrics.

- worker_process_init: the child pins itself, loads its models and starts its heartbeat.
- worker_process_shutdown (main process): the child leaves the heartbeat set.
- task_prerun / task_postrun (in the child running `ocr.run`): bind the job id and the
  child's identity (host:pid, its CPUs) to every line logged during the run, log "started"
  with the time the job waited in the queue, announce the run to jobs/events.py (which adds
  its stage times to the "finished" line), and clear them afterwards. For an `ocr.part`
  (a page of a split job) the same, with the part bound too and no "started" line (its
  job started when it was split).
"""
from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from celery import signals

from jobs import events, logs
from jobs.metrics import JobMetrics
from jobs.model import Status, looks_like_job_id
from jobs.producer import PART_TASK_NAME, TASK_NAME

from . import child

log = logging.getLogger(__name__)


@signals.worker_process_init.connect
def init_child(**_: Any) -> None:
    child.start()


@signals.worker_process_shutdown.connect
def child_exited(pid: int | None = None, **_: Any) -> None:
    child.forget(pid)


def _job_id_of(sender: Any, args: Any) -> str | None:
    if getattr(sender, "name", None) not in (TASK_NAME, PART_TASK_NAME) or not args:
        return None
    return args[0] if looks_like_job_id(args[0]) else None


@signals.task_prerun.connect
def started(sender: Any = None, args: Any = None, **_: Any) -> None:
    job_id = _job_id_of(sender, args)
    if job_id is None:
        return
    events.run_started(job_id)
    cpus = sorted(os.sched_getaffinity(0))
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if sender.name == PART_TASK_NAME:
        logs.bind(job_id=job_id, worker=worker, cpus=cpus, part=args[1] if len(args) > 1 else None)
        return
    logs.bind(job_id=job_id, worker=worker, cpus=cpus)
    waited = None
    try:
        store = child.job_store()
        status, created_at = store.redis.hmget(store.job_key(job_id), "status", "created_at")
        if status == Status.QUEUED.encode() and created_at:
            waited = max(0.0, time.time() - float(created_at))
            JobMetrics(store.redis, store.prefix).observe([("queue_wait_seconds", "", waited)])
    except Exception as exc:
        log.warning("job %s: could not read its queue time: %s", job_id, exc)
    log.info("job %s started on %s, CPUs %s", job_id, worker, cpus,
             extra=logs.event("started", queued_s=None if waited is None else round(waited, 3)))


@signals.task_postrun.connect
def ended(sender: Any = None, args: Any = None, **_: Any) -> None:
    if _job_id_of(sender, args) is None:
        return
    events.run_ended()
    logs.clear()
