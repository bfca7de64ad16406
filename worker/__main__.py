"""`python -m worker [celery worker options]`: the Celery worker with one child per core group.

Same as `celery -A worker.celery_app worker` with the options below filled in from OCR_* settings.
"""
from __future__ import annotations

import logging
import sys

from jobs import logs
from jobs.settings import get_settings
from ocrcore.registry import MODEL_SETS

from .celery_app import celery_app
from .cores import plan_core_groups


def worker_argv(extra: list[str]) -> list[str]:
    settings = get_settings()
    plan = plan_core_groups(settings.cores_per_group, settings.worker_children)
    logging.getLogger("worker").info("core plan: %s", plan.describe())
    return [
        "worker",
        "--pool=prefork",
        f"--concurrency={len(plan.groups)}",
        "-O", "fair",
        f"--queues={settings.queue_name}",
        f"--loglevel={settings.log_level}",
        # No broadcast chatter between workers: jobs and liveness go through our own Redis keys.
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        *extra,
    ]


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    logs.configure("worker", settings.log_level, settings.log_format)
    if settings.default_model and settings.default_model not in MODEL_SETS:
        sys.exit(f"OCR_DEFAULT_MODEL={settings.default_model!r} is not installed; "
                 f"choose one of {', '.join(MODEL_SETS)}")
    quiet = ["--quiet"] if settings.log_format == "json" else []  # no text banner among the JSON lines
    celery_app.worker_main([*quiet, *worker_argv(list(sys.argv[1:] if argv is None else argv))])


if __name__ == "__main__":
    main()
