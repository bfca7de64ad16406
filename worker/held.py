"""Messages a worker holds stay held only while it lives: kombu's visibility timeout as a lease.

kombu's Redis transport keeps every message a worker has received and not yet acknowledged
in the `unacked` hash, indexed by delivery time in `unacked_index`, and every worker's main
process sweeps that index (`restore_visible`) for messages older than the visibility timeout,
putting them back at the consuming end of their queue. On its own that timeout has to
outlast the longest job (12,150 s with the defaults), so a message a dead worker had
reserved but not started, whose job has no lease of its own yet, waited hours (issue 25).

This consumer bootstep makes the timeout short and safe: every heartbeat interval the main
process moves the delivery time of each message it still holds (Celery's reserved requests:
waiting for a child, handed to one, or running) to now. A live worker's messages are thus
never older than one interval; a dead worker's stop moving, and the next sweep by any other
worker restores them within OCR_VISIBILITY_TIMEOUT (default: the job lease TTL) + one
interval (the last refresh) + one interval (the sweep). No key of our own, no reaper of ours:
kombu's index and kombu's sweep, kept honest by the worker that holds the messages.

Rules:
- ZADD XX only: a message acknowledged (or restored) meanwhile is never written back.
- The refresh runs on the consumer's own event loop (its timer), as kombu's sweep does: a
  main process too stuck to consume is too stuck to hold messages, and they go elsewhere.
- A message restored from a live worker (its loop stalled past the timeout, or a Redis
  outage longer than it) is a duplicate delivery: `start` (jobs/store.py) and the parts'
  `start` (jobs/parts.py) run a job or page from one message only, and never a finished one.
- Scores are kombu's: host clocks (kombu compares them with its own `time()`), so hosts
  keep NTP time; skew up to the timeout minus one interval only costs duplicate deliveries.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from celery import bootsteps
from celery.worker import state

from jobs.settings import get_settings

log = logging.getLogger(__name__)


def held_tags() -> list[str]:
    """Delivery tags of the messages this worker's Celery consumer holds (reserved until the
    task is done: waiting for a child, in a child, or running)."""
    tags = []
    for request in list(state.reserved_requests):
        tag = getattr(getattr(request, "message", None), "delivery_tag", None)
        if tag:
            tags.append(tag)
    return tags


def refresh(channel: Any, tags: list[str], now: float | None = None) -> int:
    """Move the held messages' delivery times in kombu's `unacked_index` to `now`; returns how
    many were still there."""
    if not tags:
        return 0
    stamp = time.time() if now is None else now
    with channel.conn_or_acquire() as client:
        return int(client.zadd(channel.unacked_index_key, dict.fromkeys(tags, stamp), xx=True, ch=True))


class HeldMessages(bootsteps.StartStopStep):
    """Consumer step: refresh the held messages every heartbeat interval while consuming."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.timer_entry: Any = None
        self.failing = False

    def start(self, c: Any) -> None:
        interval = get_settings().heartbeat_interval
        self.timer_entry = c.timer.call_repeatedly(interval, self.tick, (c,), priority=10)

    def stop(self, c: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    shutdown = stop

    def tick(self, c: Any) -> None:
        consumer = c.task_consumer
        if consumer is None:
            return
        try:
            refresh(consumer.channel, held_tags())
        except Exception as exc:  # Redis away: kombu reconnects; the next tick refreshes
            if not self.failing:
                log.warning("could not refresh the held messages' delivery times: %s", exc)
            self.failing = True
            return
        self.failing = False
