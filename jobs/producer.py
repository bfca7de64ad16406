"""The queue's producer side: the task's name, the broker settings both sides share, and enqueueing.

The gateway sends "ocr.run" by name through a Celery app that has only the broker
settings: it never imports the task code, the worker's configuration or the OCR engine.
The worker builds its full app (worker/celery_app.py) on the same `broker_settings`.
"""
from __future__ import annotations

import json
from typing import Any

from celery import Celery

from .connection import broker_transport_options
from .settings import Settings

TASK_NAME = "ocr.run"


def broker_settings(settings: Settings) -> dict[str, Any]:
    """What producer and consumer must agree on: the broker, the queue, the message format."""
    return {
        "broker_url": settings.redis_url,
        # A message whose worker died comes back after this; it must outlast the hard limit.
        # With Sentinel (a sentinel:// URL) the options also name the master.
        "broker_transport_options": broker_transport_options(settings),
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
                              soft_time_limit=soft, time_limit=hard)

    def requeue(self, job_id: str, pages: int) -> str:
        """Put a job whose worker died back at the head of the queue.

        Its original message is still unacknowledged in the broker (kombu keeps it aside until
        the visibility timeout, hours with long PDFs allowed): restore that one now, at the
        consuming end of the queue as kombu restores messages, so the job runs next and no
        second copy comes back later. Without it (already restored, or acknowledged by a child
        that saw the job held), send a new message. Returns "restored" or "sent"."""
        with self.celery.connection_for_write() as connection:
            channel = connection.default_channel
            client = channel.client
            for tag, raw in client.hscan_iter(channel.unacked_key):
                try:
                    headers = json.loads(raw)[0].get("headers") or {}
                except (ValueError, TypeError, AttributeError, IndexError):
                    continue
                if headers.get("id") == job_id:
                    channel.qos.restore_by_tag(tag, client)
                    return "restored"
        self.enqueue(job_id, pages)
        return "sent"
