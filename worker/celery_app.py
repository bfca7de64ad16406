"""The worker's Celery app: the broker settings the gateway shares, late acknowledgement, one
job per child at a time, children per core group.

`celery -A worker.celery_app worker` (or `python -m worker`) loads the task and the signal
handlers through `include`. The gateway never imports this module (jobs/producer.py sends).
"""
from __future__ import annotations

from celery import Celery, signals

from jobs import logs
from jobs.producer import broker_settings
from jobs.settings import Settings, get_settings

from .cores import plan_core_groups
from .held import HeldMessages


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    app = Celery("ocr", include=["worker.tasks", "worker.signals"])
    app.conf.update(
        broker_settings(settings),
        task_store_errors_even_if_ignored=False,
        # Acknowledge after the run: a child killed mid-job (OOM, crash) puts the message back,
        # and the job's attempt counter decides whether it runs again.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_timeout=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.soft_time_limit,
        task_time_limit=settings.hard_time_limit,
        worker_max_memory_per_child=settings.max_memory_per_child_mb * 1024,  # KiB
        worker_concurrency=len(plan_core_groups(settings.cores_per_group, settings.worker_children).groups),
        # Children load their models before taking work; give them time on a busy machine.
        worker_proc_alive_timeout=120.0,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_soft_shutdown_timeout=settings.soft_shutdown_timeout,  # docs/OPERATIONS.md: stopping a worker
        worker_send_task_events=False,
        worker_hijack_root_logger=True,
    )
    # The messages this worker holds are kept fresh in kombu's unacked index (worker/held.py).
    app.steps["consumer"].add(HeldMessages)
    return app


@signals.setup_logging.connect
def configure_worker_logging(**_):
    """Celery's own lines and ours through one formatter (JSON or text, jobs/logs.py), not Celery's."""
    settings = get_settings()
    logs.configure("worker", settings.log_level, settings.log_format)


celery_app = make_celery()
app = celery_app  # `celery -A worker.celery_app worker` finds either name
