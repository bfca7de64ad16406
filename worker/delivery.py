"""The callback deliverer: a thread in each worker child that POSTs finished jobs' status documents.

The job store schedules a delivery when a job ends (jobs/store.py); this thread claims due ones
from the `<prefix>:callbacks` sorted set one at a time (a claim keeps other deliverers off it
while the attempt runs), sends it (jobs/callbacks.py: checked address, signed, no redirects)
and records the outcome: delivered, retried after an exponential backoff, or failed once
OCR_CALLBACK_MAX_SECONDS have passed since the job ended. It runs beside the OCR task, never
in it, and never in the heartbeat thread, so a slow receiver delays neither a job nor a lease.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from jobs import callbacks
from jobs.model import document_path
from jobs.settings import Settings, get_settings
from jobs.store import JobStore

log = logging.getLogger(__name__)

IDLE_SLEEP = 0.5  # seconds between looks at the set when nothing is due


def start(store: JobStore) -> threading.Thread:
    thread = threading.Thread(target=_loop, args=(store,), name="ocr-callbacks", daemon=True)
    thread.start()
    return thread


def _loop(store: JobStore) -> None:
    settings = get_settings()
    parent = os.getppid()
    while os.getppid() == parent:
        try:
            if not run_once(store, settings):
                time.sleep(IDLE_SLEEP)
        except Exception as exc:  # Redis away: try again shortly
            log.warning("callback delivery: %s", exc)
            time.sleep(1.0)


def run_once(store: JobStore, settings: Settings) -> bool:
    """Deliver the next due callback, if any; returns whether there was one."""
    claim = settings.callback_timeout * 2 + 5  # longer than one attempt can take
    claimed = store.claim_callback(claim)
    if claimed is None:
        return False
    job_id, attempt = claimed
    if attempt == 0:  # a stale entry, dropped
        return True
    outcome, error = attempt_delivery(store, job_id, settings)
    delay = callbacks.retry_delay(attempt, settings.callback_retry_initial)
    recorded = store.callback_outcome(job_id, outcome, error, delay, settings.callback_max_seconds)
    if recorded == "delivered":
        log.info("job %s: callback delivered (attempt %d)", job_id, attempt)
    elif recorded == "failed":
        log.warning("job %s: callback failed for good after %d attempt(s): %s", job_id, attempt, error)
    elif recorded == "retry":
        log.info("job %s: callback attempt %d failed (%s); next in %.0f s", job_id, attempt, error, delay)
    return True


def attempt_delivery(store: JobStore, job_id: str, settings: Settings) -> tuple[str, str]:
    """One POST: ("delivered", ""), ("retry", why) or ("failed", why)."""
    job = store.get(job_id)
    if job is None or not job.callback_url:
        return "failed", "the job expired before its callback was delivered"
    if settings.callback_secret is None:
        return "failed", "OCR_CALLBACK_SECRET is not set on the worker"
    body = callbacks.payload(job.public(document_path(job)), settings.callback_max_body_bytes)
    headers = callbacks.sign(settings.callback_secret.get_secret_value(), job.id, body)
    try:
        callbacks.deliver(job.callback_url, body, headers, settings.callback_timeout,
                          settings.callback_allow_private)
    except callbacks.CallbackUrlError as exc:
        return "failed", str(exc)
    except ConnectionError as exc:
        return "retry", str(exc)
    return "delivered", ""
