"""The service's one typed settings object, read from OCR_* environment variables.

Gateway, worker and tools read the same object; nothing here imports onnxruntime, Flask or
Celery. Limit defaults come from the one table in ocrcore/limits.py.
"""
from __future__ import annotations

import base64
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ocrcore import limits


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OCR_", extra="ignore")

    # Where jobs, uploads and the Celery queue live. Never expose this Redis publicly.
    redis_url: str = "redis://127.0.0.1:6379/0"
    # With Redis Sentinel (OCR_REDIS_URL=sentinel://host:26379;sentinel://host2:26379/0): the master's name.
    redis_sentinel_master: str = "mymaster"
    queue_name: str = "ocr"
    key_prefix: str = "ocr"

    # Input limits, checked by the gateway before anything is queued.
    # Decoded file size; the HTTP body may be 4/3 of it (base64).
    max_upload_bytes: int = Field(limits.MAX_UPLOAD_BYTES, gt=0)
    # Width x height from the header; the worker checks again.
    max_image_pixels: int = Field(limits.MAX_IMAGE_PIXELS, gt=0)

    # Documents and batches (PDF pages are rendered by the worker, never by the gateway).
    # Multipart `file` fields (or JSON `images`) per request.
    max_files_per_job: int = Field(limits.MAX_FILES_PER_JOB, ge=1)
    max_pdf_pages: int = Field(limits.MAX_PDF_PAGES, ge=1)  # pages selected in one job, over all its PDFs
    pdf_dpi: float = Field(limits.PDF_DPI, ge=limits.MIN_RENDER_DPI, le=limits.MAX_RENDER_DPI)  # render resolution
    pdf_max_page_pixels: int = Field(limits.PDF_MAX_PAGE_PIXELS, gt=0)  # a larger page is rendered at a lower DPI
    # Each page gets this long (a Python-level alarm in the worker child); a job's Celery limits
    # grow by it for every page after the first, so long documents are not cut short.
    page_time_limit: float = Field(60.0, gt=0)
    # Fan-out (worker/fanout.py): a job of at least this many pages (an image counts as one, over all its
    # files) is split into page tasks that any free worker child takes; smaller jobs run as one task.
    # 0 turns fan-out off (every job one task, as before).
    fanout_min_pages: int = Field(2, ge=0)

    # Job lifetime.
    sync_timeout: float = Field(60.0, gt=0)  # POST /ocr waits this long, then answers 504 with the job's URL
    result_ttl: int = Field(86_400, gt=0)  # a job and its result are kept this long after they last changed
    max_queued_jobs: int = Field(100, ge=1)  # backpressure: 503 + Retry-After once this many jobs wait
    retry_after: int = Field(5, gt=0)  # seconds suggested to clients in Retry-After
    max_attempts: int = Field(2, ge=1)  # a job whose worker child died is re-run until this many attempts
    # A running job's lease: its child renews it every heartbeat; once it lapses (the child, its worker or
    # its machine died), a surviving worker re-queues the job. None: max(5 s, 5 heartbeat intervals).
    job_lease_ttl: float | None = Field(None, gt=0)

    # Completion callbacks (jobs/callbacks.py, docs/SERVICE.md): a job's `callback_url` gets its status document,
    # signed per Standard Webhooks with this secret ("whsec_" + base64). None: callback_url is refused with 400.
    callback_secret: SecretStr | None = None
    callback_max_seconds: float = Field(3600.0, gt=0)  # retry a failing delivery this long after the job ended
    callback_retry_initial: float = Field(5.0, gt=0)  # first retry after this long, then doubling (at most 10 min)
    callback_timeout: float = Field(10.0, gt=0)  # connect + send + response, per attempt
    # The result is left out of a callback whose body would be larger (the receiver GETs the job instead).
    callback_max_body_bytes: int = Field(1_000_000, ge=1024)
    # TESTS AND PRIVATE NETWORKS ONLY: deliver to loopback, private, link-local and reserved addresses too
    # (cloud metadata addresses stay refused). Off: only public (global) addresses are called.
    callback_allow_private: bool = False

    # Workers: one prefork child per core group, pinned to it, with that many inference threads.
    cores_per_group: int | None = Field(None, ge=1)  # None: one physical core (its SMT siblings), worker/cores.py
    worker_children: int | None = Field(None, ge=1)  # None: one per core group
    default_model: str | None = None  # None: ocrcore.registry.DEFAULT_MODEL
    # Each child's inference runtime; None: ocrcore.session.DEFAULT_BACKEND ("auto": openvino-bf16
    # on CPUs with native bf16, onnxruntime elsewhere)
    backend: Literal["auto", "onnxruntime", "openvino", "openvino-bf16"] | None = None
    soft_time_limit: float = Field(120.0, gt=0)  # the task stops and the job fails with "time_limit"
    hard_time_limit: float = Field(150.0, gt=0)  # the child is killed; the job fails with "time_limit"
    # A message whose worker stopped refreshing it (worker/held.py: dead, or its main process stuck) goes
    # back to its queue after this many seconds. None: the job lease TTL.
    visibility_timeout: float | None = Field(None, gt=0)
    max_memory_per_child_mb: int = Field(2048, gt=0)  # a child above this RSS is replaced after its task
    # Each child's address space (RLIMIT_AS, set as it starts): a file that makes native code allocate
    # without bound (a decompression bomb past the pixel checks) fails its own job `memory_limit` instead
    # of taking the machine's memory. A warm child maps about 1.3 GB; 0 sets no limit.
    child_memory_limit_mb: int = Field(6144, ge=0)
    heartbeat_interval: float = Field(1.0, gt=0)  # each warmed-up worker child reports alive this often
    # Cold shutdown (SIGQUIT; SIGTERM too in the images, REMAP_SIGTERM=SIGQUIT): running jobs get this long
    # to finish, then go back to the queue for another worker. A warm shutdown (SIGTERM) waits for them.
    soft_shutdown_timeout: float = Field(60.0, ge=0)

    # Gateway: gunicorn with gevent workers, one greenlet per connection, so slow clients and
    # waiting /ocr requests are cheap and never take a thread others need; gthread is the fallback.
    host: str = "0.0.0.0"
    port: int = 5005
    web_workers: int = Field(2, ge=1)
    web_worker_class: Literal["gevent", "gthread"] = "gevent"
    web_connections: int = Field(1000, ge=1)  # gevent: open connections per gateway process
    web_threads: int = Field(32, ge=1)  # gthread only: requests per gateway process at once

    # TEST ONLY, never in production: a worker child that reads a file containing this marker
    # crashes on purpose (worker/child.py `crash_hook`), so tests can prove crash isolation. Off (None).
    test_crash_on: str | None = None

    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"  # one JSON object per line (jobs/logs.py); `make run` uses text

    @model_validator(mode="after")
    def _check_limits(self) -> Settings:
        if self.hard_time_limit <= self.soft_time_limit:
            raise ValueError("OCR_HARD_TIME_LIMIT must be greater than OCR_SOFT_TIME_LIMIT")
        if self.fanout_min_pages == 1:
            raise ValueError("OCR_FANOUT_MIN_PAGES must be 0 (off) or at least 2: a one-page job has nothing to split")
        if self.callback_secret is not None:
            secret = self.callback_secret.get_secret_value()
            try:
                key = base64.b64decode(secret.removeprefix("whsec_") + "==", validate=True)
            except ValueError:
                key = b""
            if not secret.startswith("whsec_") or len(key) < 24:
                raise ValueError("OCR_CALLBACK_SECRET must be 'whsec_' + base64 of 24 to 64 random bytes")
        if self.visibility_timeout is not None and self.visibility_timeout <= 2 * self.heartbeat_interval:
            # A held message is refreshed every heartbeat interval and swept for as often: a
            # shorter timeout would hand live workers' messages to others (harmless duplicates,
            # jobs/store.py `start`, but every one of them).
            raise ValueError("OCR_VISIBILITY_TIMEOUT must be greater than 2 x OCR_HEARTBEAT_INTERVAL")
        return self

    def time_limits(self, pages: int) -> tuple[float, float]:
        """(soft, hard) seconds for a job of `pages` pages (an image counts as one): the
        configured limits for one page, plus page_time_limit for each further page."""
        extra = self.page_time_limit * max(0, pages - 1)
        return self.soft_time_limit + extra, self.hard_time_limit + extra

    def fans_out(self, pages: int) -> bool:
        """Whether a job of `pages` pages is split into page tasks."""
        return self.fanout_min_pages > 0 and pages >= self.fanout_min_pages

    @property
    def broker_visibility_timeout(self) -> float:
        """Seconds before a message whose worker stopped refreshing it (it died) is delivered again."""
        return self.visibility_timeout or self.lease_ttl

    @property
    def lease_ttl(self) -> float:
        """Seconds a running job's lease lasts without a renewal before it is re-queued."""
        return self.job_lease_ttl or max(5.0, self.heartbeat_interval * 5)

    @property
    def resend_after(self) -> float:
        """Seconds a queued message (a re-queued job, a page task) may wait untaken before the
        reaper sends it again, in case it was lost with a process that died sending it."""
        return max(60.0, self.lease_ttl * 6)

    @property
    def max_body_bytes(self) -> int:
        """HTTP body cap: a max-size file base64-encoded in JSON, plus room for the other fields."""
        return (self.max_upload_bytes + 2) // 3 * 4 + 64 * 1024

    @property
    def heartbeat_ttl(self) -> float:
        """A worker child not heard from for this long counts as gone."""
        return max(3.0, self.heartbeat_interval * 3)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
