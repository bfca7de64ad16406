"""The gateway's side of the queue: store the upload, enqueue the id, wait for the result."""
from __future__ import annotations

import logging

from redis import Redis

from worker import logs
from worker.celery_app import TASK_NAME, make_celery
from worker.jobs import Job, JobStore
from worker.settings import Settings

from .errors import ApiError, unavailable
from .validation import Upload, UploadFile

log = logging.getLogger(__name__)


class JobQueue:
    """One per gateway process; thread-safe (Redis pools and Celery's producer pool)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        # BLPOP holds its connection for up to the sync timeout: a separate pool with a longer read timeout.
        self.blocking_redis = Redis.from_url(
            settings.redis_url, socket_connect_timeout=2, socket_timeout=settings.sync_timeout + 10
        )
        self.store = JobStore(self.redis, settings.key_prefix)
        self.celery = make_celery(settings)
        self.celery.conf.task_publish_retry_policy = {
            "max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5,
        }

    def queued_jobs(self) -> int:
        """Messages waiting in the broker list (taken jobs are no longer in it)."""
        return int(self.redis.llen(self.settings.queue_name))

    def submit(self, upload: Upload) -> Job:
        waiting = self.queued_jobs()
        if waiting >= self.settings.max_queued_jobs:
            log.warning("queue full: %d jobs waiting; refusing a new one", waiting)
            raise ApiError(503, "queue_full",
                           f"The queue is full ({waiting} jobs waiting); try again in {self.settings.retry_after} s.",
                           headers={"Retry-After": str(self.settings.retry_after)})
        pages = upload.page_count
        job = self.store.create(
            [f.data for f in upload.files], upload.params.job_options(), ttl=self.settings.result_ttl,
            total=pages, file_meta=[f.meta() for f in upload.files],
        )
        logs.bind(job_id=job.id)  # every later line of this request names the job
        log.info("job %s accepted", job.id, extra=logs.event("accepted", files=len(upload.files), pages=pages))
        # Long documents get longer limits: the message carries them, so every worker agrees.
        soft, hard = self.settings.time_limits(pages)
        try:
            # The job id doubles as the task id, so Celery's own lines about the task name the job too.
            self.celery.send_task(TASK_NAME, args=[job.id], task_id=job.id, queue=self.settings.queue_name,
                                  soft_time_limit=soft, time_limit=hard)
        except Exception as exc:
            log.error("could not enqueue job %s: %s", job.id, exc)
            self.store.fail(job.id, "enqueue_failed", "The job could not be queued.")
            raise unavailable("The queue is unavailable; try again shortly.", self.settings.retry_after) from None
        log.info("job %s queued: %s; %d page(s), %d bytes, output %s", job.id, describe(upload.files), pages,
                 sum(len(f.data) for f in upload.files), upload.params.output_format,
                 extra=logs.event("queued", queue=self.settings.queue_name))
        return job

    def wait(self, job_id: str, timeout: float) -> Job | None:
        """The finished job, or None if it did not finish within the timeout."""
        if not self.store.wait_finished(job_id, timeout, self.blocking_redis):
            return None
        job = self.store.get(job_id)
        return job if job is not None and job.finished else None

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
        f"pdf {f.page_count} page(s)" if f.kind == "pdf" else f"{f.kind} {f.width}x{f.height}" for f in files
    )
