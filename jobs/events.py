"""A job's end, told to the logs and the metrics, outside the code that does the work.

`finished(...)`: the job store calls it once per job, right after the compare-and-set that
gave the job its final status, whichever process that was (worker child, the worker's main
process on a hard time limit, a gateway canceling or noticing a lost worker). It counts the
status and logs "finished"; in a worker child that announced the run (`run_started`, from
worker/signals.py) it adds the stage times and run time to the line and the histograms.

Bookkeeping never breaks a job: a failure here is logged and dropped.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from redis import Redis

from . import logs
from .metrics import JobMetrics, error_code
from .model import Status

log = logging.getLogger(__name__)


@dataclass
class _Run:
    job_id: str
    started: float = field(default_factory=time.monotonic)
    stages: dict[str, float] = field(default_factory=dict)


_run: _Run | None = None  # the job this worker child is running (one at a time)


def run_started(job_id: str, started_at: float | None = None) -> None:
    """This child runs the job now; `started_at` (epoch seconds): the run began earlier (a job
    split into page tasks counts from its start, jobs/parts.py)."""
    global _run
    _run = _Run(job_id)
    if started_at is not None:
        _run.started -= max(0.0, time.time() - started_at)


def run_ended() -> None:
    global _run
    _run = None


def stages(timings: dict[str, float]) -> None:
    """The running job's OCR time per stage, in seconds (summed over its pages)."""
    if _run is not None:
        _run.stages = {name: float(seconds) for name, seconds in timings.items()}


def finished(redis: Redis, prefix: str, job_id: str, status: Status, error_json: str | bytes | None = None) -> None:
    """Called by JobStore once the job's final status is set (see the module docstring)."""
    code = error_code(error_json)
    run = _run if _run is not None and _run.job_id == job_id else None
    fields: dict[str, Any] = {"status": str(status)}
    if code:
        fields["error_code"] = code
    try:
        metrics = JobMetrics(redis, prefix)
        metrics.job_finished(status, code)
        if run is not None:
            fields["run_s"] = round(time.monotonic() - run.started, 3)
            samples = [("job_seconds", "", fields["run_s"])]
            if status == Status.SUCCEEDED and run.stages:
                fields["stages"] = {name: round(seconds, 4) for name, seconds in run.stages.items()}
                samples += [("stage_seconds", name, seconds) for name, seconds in run.stages.items()]
            metrics.observe(samples)
    except Exception as exc:
        log.warning("job %s: could not record its metrics: %s", job_id, exc)
    log.info("job %s finished: %s%s", job_id, status, f" ({code})" if code else "",
             extra=logs.event("finished", job_id=job_id, **fields))
