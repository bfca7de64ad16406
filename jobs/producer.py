"""The queue's producer side: the tasks' names, the broker settings both sides share, and enqueueing.

The gateway sends "ocr.run" by name through a Celery app that has only the broker
settings: it never imports the task code, the worker's configuration or the OCR engine.
The worker builds its full app (worker/celery_app.py) on the same `broker_settings`, and
sends "ocr.part" (one page of a job split into page tasks, jobs/parts.py) the same way.

Priorities: kombu's Redis transport keeps a list per priority step and always takes from
the lowest step first. A job's own message (every job, sync or not, one image or a whole
document) goes at JOB_PRIORITY, the queue's own list (`ocr`, what the backpressure check,
the queue-depth gauge and KEDA count); page tasks at PART_PRIORITY, a list of their own.
So a job that waits (a sync receipt, a new document) starts on the next free child, ahead
of the pages of documents already running, and those pages wait only for such jobs.
"""
from __future__ import annotations

import json
from typing import Any

from celery import Celery

from .connection import broker_transport_options
from .parts import part_id
from .settings import Settings

TASK_NAME = "ocr.run"
PART_TASK_NAME = "ocr.part"
JOB_PRIORITY = 0
PART_PRIORITY = 9


def broker_settings(settings: Settings) -> dict[str, Any]:
    """What producer and consumer must agree on: the broker, the queue, the message format."""
    return {
        "broker_url": settings.redis_url,
        # A message whose worker died comes back after this; it must outlast the hard limit.
        # With Sentinel (a sentinel:// URL) the options also name the master.
        "broker_transport_options": {**broker_transport_options(settings),
                                     "priority_steps": [JOB_PRIORITY, PART_PRIORITY]},
        "broker_connection_retry_on_startup": True,
        "task_default_queue": settings.queue_name,
        "task_serializer": "json",
        "accept_content": ["json"],
        # Results live in our own job records (jobs/store.py), not in a Celery backend.
        "task_ignore_result": True,
    }


class Producer:
    """Sends job ids to the queue; one per gateway process, thread-safe (Celery's producer pool)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        # No fixups: the default Django fixup imports celery.worker, which a producer never needs.
        self.celery = Celery("ocr-producer", set_as_current=False, fixups=[])
        self.celery.conf.update(
            broker_settings(settings),
            task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2,
                                       "interval_max": 0.5},
        )

    def enqueue(self, job_id: str, pages: int) -> None:
        """Queue the job; long documents get longer limits, carried by the message so every worker agrees."""
        soft, hard = self.settings.time_limits(pages)
        # The job id doubles as the task id, so Celery's own lines about the task name the job too.
        self.celery.send_task(TASK_NAME, args=[job_id], task_id=job_id, queue=self.settings.queue_name,
                              soft_time_limit=soft, time_limit=hard, priority=JOB_PRIORITY)

    def enqueue_part(self, job_id: str, part: int) -> None:
        """Queue one part of a split job (jobs/parts.py), with a one-page job's time limits."""
        soft, hard = self.settings.time_limits(1)
        self.celery.send_task(PART_TASK_NAME, args=[job_id, part], task_id=part_id(job_id, part),
                              queue=self.settings.queue_name, soft_time_limit=soft, time_limit=hard,
                              priority=PART_PRIORITY)

    def requeue_part(self, job_id: str, part: int) -> str:
        """As `requeue`, for a part whose child died: "restored" or "sent"."""
        if self._restore(part_id(job_id, part)):
            return "restored"
        self.enqueue_part(job_id, part)
        return "sent"

    def requeue(self, job_id: str, pages: int) -> str:
        """Put a job whose worker died back at the head of the queue.

        Its original message is still unacknowledged in the broker (kombu keeps it aside until
        the visibility timeout, hours with long PDFs allowed): restore that one now, at the
        consuming end of the queue as kombu restores messages, so the job runs next and no
        second copy comes back later. Without it (already restored, or acknowledged by a child
        that saw the job held), send a new message. Returns "restored" or "sent"."""
        if self._restore(job_id):
            return "restored"
        self.enqueue(job_id, pages)
        return "sent"

    def _restore(self, task_id: str) -> bool:
        """Put the unacknowledged message of task `task_id` back in its queue, if there is one."""
        with self.celery.connection_for_write() as connection:
            channel = connection.default_channel
            client = channel.client
            for tag, raw in client.hscan_iter(channel.unacked_key):
                try:
                    headers = json.loads(raw)[0].get("headers") or {}
                except (ValueError, TypeError, AttributeError, IndexError):
                    continue
                if headers.get("id") == task_id:
                    channel.qos.restore_by_tag(tag, client)
                    return True
        return False
