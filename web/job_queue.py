"""The gateway's side of the queue: store the upload, enqueue the id, wait for the result."""
from __future__ import annotations

import logging
import time

from redis.exceptions import ConnectionError, TimeoutError

from jobs import logs
from jobs.connection import connect
from jobs.errors import ErrorCode
from jobs.model import Job
from jobs.producer import Producer
from jobs.settings import Settings
from jobs.store import JobStore

from .errors import ApiError
from .validation import Upload, UploadFile, request_hash

log = logging.getLogger(__name__)


class JobQueue:
    """One per gateway process; thread-safe (Redis pools and Celery's producer pool)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        # Fail fast: while Redis is away a request is answered 503 at once (web/errors.py), never held.
        self.redis = connect(settings, socket_timeout=5)
        # BLPOP holds its connection for up to the sync timeout: a separate pool with a longer read timeout.
        self.blocking_redis = connect(settings, socket_timeout=settings.sync_timeout + 10)
        self.store = JobStore(self.redis, settings.key_prefix)
        self.producer = Producer(settings)

    def queued_jobs(self) -> int:
        """Messages waiting in the broker list (taken jobs are no longer in it)."""
        return int(self.redis.llen(self.settings.queue_name))

    def submit(self, upload: Upload, idempotency_key: str | None = None) -> tuple[Job, bool]:
        """Store and enqueue a job. With an Idempotency-Key seen before (within the result TTL) and
        the same request, nothing is stored: the answer is that job and True; the key with a
        different request is refused (409)."""
        digest = request_hash(upload) if idempotency_key is not None else ""
        if idempotency_key is not None:
            seen = self.redis.get(self.store.idempotency_key(idempotency_key))
            if seen is not None:
                return self._idempotent_job(seen.decode(), digest), True  # type: ignore[union-attr]
        waiting = self.queued_jobs()
        if waiting >= self.settings.max_queued_jobs:
            log.warning("queue full: %d jobs waiting; refusing a new one", waiting)
            raise ApiError(ErrorCode.QUEUE_FULL,
                           f"The queue is full ({waiting} jobs waiting); try again in {self.settings.retry_after} s.")
        created = self.store.create(
            [f.data for f in upload.files], upload.params.job_options(), [f.meta for f in upload.files],
            ttl=self.settings.result_ttl, callback_url=upload.params.callback_url,
            idempotency=None if idempotency_key is None else (idempotency_key, digest),
        )
        if isinstance(created, str):  # another request with this key got there first
            return self._idempotent_job(created, digest), True
        job = created
        pages = job.progress_total
        logs.bind(job_id=job.id)  # every later line of this request names the job
        log.info("job %s accepted", job.id, extra=logs.event("accepted", files=len(upload.files), pages=pages))
        try:
            self.producer.enqueue(job.id, pages)
        except Exception as exc:
            log.error("could not enqueue job %s: %s", job.id, exc)
            self.store.fail(job.id, ErrorCode.ENQUEUE_FAILED, "The job could not be queued.")
            raise ApiError(ErrorCode.SERVICE_UNAVAILABLE, "The queue is unavailable; try again shortly.") from None
        try:
            self.store.enqueued(job.id)
        except Exception as exc:  # the lease lapses and a worker sends a second message: harmless
            log.warning("job %s: could not clear its enqueue lease: %s", job.id, exc)
        log.info("job %s queued: %s; %d page(s), %d bytes, output %s", job.id, describe(upload.files), pages,
                 sum(len(f.data) for f in upload.files), upload.params.output_format,
                 extra=logs.event("queued", queue=self.settings.queue_name))
        return job, False

    def _idempotent_job(self, seen: str, digest: str) -> Job:
        """The job an Idempotency-Key names ("<request hash> <job id>"), if this request is the same."""
        seen_digest, _, job_id = seen.partition(" ")
        if seen_digest != digest:
            raise ApiError(ErrorCode.IDEMPOTENCY_KEY_REUSED, "This Idempotency-Key was used with a different "
                           "request (other files or options); use a new key for a new request.")
        job = self.store.get(job_id)
        if job is None:
            raise ApiError(ErrorCode.NOT_FOUND, "The job this Idempotency-Key made has expired.")
        logs.bind(job_id=job.id)
        log.info("job %s answered again for its Idempotency-Key", job.id)
        return job

    def wait(self, job_id: str, timeout: float, check_first: bool = False, shared: bool = False) -> Job | None:
        """The finished job, or None if it did not finish within the timeout.

        A Redis outage (restart, failover) while the request waits does not end the wait: the
        job goes on, so the request keeps waiting for it, reconnecting every half second, until
        its timeout. Only if Redis is still away then does the error reach the client (503)."""
        deadline = time.monotonic() + timeout
        lost = check_first  # a job submitted before (an Idempotency-Key) may be finished already
        while True:
            left = deadline - time.monotonic()
            try:
                if lost:  # the notification may have come and gone while we were away
                    job = self.store.get(job_id)
                    if job is None or job.finished:
                        return job
                    lost = False
                if left <= 0 or not self.store.wait_finished(job_id, left, self.blocking_redis, shared):
                    return None
                job = self.store.get(job_id)
                return job if job is not None and job.finished else None
            except (ConnectionError, TimeoutError) as exc:
                if left <= 0.5:
                    raise
                if not lost:
                    log.warning("job %s: Redis unavailable while waiting for the result (%s); still waiting",
                                job_id, exc)
                lost = True
                time.sleep(0.5)

    def workers_alive(self) -> int:
        """Worker children that reported alive within the heartbeat TTL."""
        return self.store.workers_alive(self.settings.heartbeat_ttl)

    def ready(self) -> tuple[bool, int]:
        """(Redis reachable, worker children alive)."""
        try:
            self.redis.ping()
        except Exception:
            return False, 0
        return True, self.workers_alive()


def describe(files: list[UploadFile]) -> str:
    """For the log: "jpeg 463x1013" or "pdf 3 pages", comma-separated."""
    return ", ".join(
        f"pdf {f.meta.page_count} page(s)" if f.meta.is_pdf else f"{f.meta.kind} {f.width}x{f.height}" for f in files
    )
