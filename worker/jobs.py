"""The job record, kept in Redis by the gateway and the worker alike.

One hash per job holds its state; the uploaded files wait under their own key (a list,
one entry per file) until a worker takes them; a per-job list receives the job id once the job is finished, so a waiting
request can BLPOP it instead of polling. Every status change is a compare-and-set in
a Lua script: a canceled or finished job is never overwritten.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from redis import Redis

from . import job_events

log = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED = "queued", "running", "succeeded", "failed", "canceled"
ACTIVE = (QUEUED, RUNNING)
TERMINAL = (SUCCEEDED, FAILED, CANCELED)

# A running job not finished this long after its hard time limit lost its worker.
DEADLINE_GRACE = 5.0
# How long a "finished" notification waits for a BLPOP that may come a moment late.
DONE_LIST_TTL = 120

# KEYS: job, done list, upload. ARGV: allowed statuses (comma-separated), new status,
# terminal ("1"/"0"), guard field, guard value, then field/value pairs to set.
# The record keeps its own TTL; every change restarts it, so a finished job lives that long.
_TRANSITION = """
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {'', 0} end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == cur then allowed = true end
end
if not allowed then return {cur, 0} end
if ARGV[4] ~= '' and redis.call('HGET', KEYS[1], ARGV[4]) ~= ARGV[5] then return {cur, 0} end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
for i = 6, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], tonumber(redis.call('HGET', KEYS[1], 'ttl')))
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[3])
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('EXPIRE', KEYS[2], %d)
end
return {cur, 1}
""" % DONE_LIST_TTL

# KEYS: job, done list, upload. ARGV: now, deadline, worker, max attempts, failure error JSON.
# A job is taken from queued, or from running when its message came back after a lost worker.
_START = """
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {'', 0} end
if cur ~= 'queued' and cur ~= 'running' then return {cur, 0} end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl'))
if attempts > tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[1], 'status', 'failed', 'finished_at', ARGV[1], 'error', ARGV[5])
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('DEL', KEYS[3])
  redis.call('RPUSH', KEYS[2], 'failed')
  redis.call('EXPIRE', KEYS[2], %d)
  return {'exhausted', attempts}
end
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[1], 'deadline', ARGV[2], 'worker', ARGV[3])
redis.call('EXPIRE', KEYS[1], ttl)
return {'running', attempts}
""" % DONE_LIST_TTL

# KEYS: job. ARGV: pages done. Records progress only while the job runs (a canceled or
# expired job is neither changed nor recreated) and returns the status, so the worker
# learns of a cancellation between pages.
_PROGRESS = """
local cur = redis.call('HGET', KEYS[1], 'status')
if cur == 'running' then redis.call('HSET', KEYS[1], 'progress_done', ARGV[1]) end
return cur or ''
"""

# KEYS: workers zset. ARGV: member, ttl ("" to only count). Uses Redis' clock, not ours.
_HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
"""


_JOB_ID = re.compile(r"[A-Za-z0-9_-]{22}")


def new_job_id() -> str:
    """128 random bits, URL-safe: the only thing standing between a job and a stranger."""
    return secrets.token_urlsafe(16)


def looks_like_job_id(value: str) -> bool:
    return _JOB_ID.fullmatch(value) is not None


def iso_utc(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error_body(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


@dataclass
class Job:
    id: str
    status: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    progress_done: int
    progress_total: int
    result: dict | None
    error: dict | None
    options: dict
    files: list[dict]  # per uploaded file: {"filename", "kind", "pages"} (pages: 0-based, PDFs only)
    attempts: int
    ttl: int
    deadline: float | None
    worker: str | None

    @classmethod
    def from_hash(cls, job_id: str, raw: dict[bytes, bytes]) -> "Job":
        f = {k.decode(): v.decode() for k, v in raw.items()}

        def number(name: str) -> float | None:
            return float(f[name]) if f.get(name) else None

        return cls(
            id=job_id,
            status=f["status"],
            created_at=float(f["created_at"]),
            started_at=number("started_at"),
            finished_at=number("finished_at"),
            progress_done=int(f.get("progress_done") or 0),
            progress_total=int(f.get("progress_total") or 0),
            result=json.loads(f["result"]) if f.get("result") else None,
            error=json.loads(f["error"]) if f.get("error") else None,
            options=json.loads(f.get("options") or "{}"),
            files=json.loads(f.get("files") or "[]"),
            attempts=int(f.get("attempts") or 0),
            ttl=int(f["ttl"]),
            deadline=number("deadline"),
            worker=f.get("worker") or None,
        )

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def public(self) -> dict[str, Any]:
        """The job as GET /jobs/<id> shows it."""
        return {
            "id": self.id,
            "status": self.status,
            "created_at": iso_utc(self.created_at),
            "started_at": iso_utc(self.started_at),
            "finished_at": iso_utc(self.finished_at),
            "progress": {"done": self.progress_done, "total": self.progress_total} if self.progress_total else None,
            "result": self.result if self.status == SUCCEEDED else None,
            "error": self.error if self.status == FAILED else None,
        }


class JobStore:
    """Job records, uploads and worker heartbeats in Redis; safe to share between threads."""

    def __init__(self, redis: Redis, prefix: str = "ocr"):
        self.redis = redis
        self.prefix = prefix
        self._transition = redis.register_script(_TRANSITION)
        self._start = redis.register_script(_START)
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._progress = redis.register_script(_PROGRESS)

    # keys
    def job_key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def upload_key(self, job_id: str) -> str:
        return f"{self.prefix}:upload:{job_id}"

    def done_key(self, job_id: str) -> str:
        return f"{self.prefix}:done:{job_id}"

    @property
    def workers_key(self) -> str:
        return f"{self.prefix}:workers"

    def _keys(self, job_id: str) -> list[str]:
        return [self.job_key(job_id), self.done_key(job_id), self.upload_key(job_id)]

    # gateway side
    def create(self, files: list[bytes], options: dict, ttl: int, total: int = 1,
               file_meta: list[dict] | None = None) -> Job:
        """Store the uploaded files and a queued record, atomically; the caller then enqueues the id."""
        job_id = new_job_id()
        now = time.time()
        meta = file_meta or [{"filename": None, "kind": None, "pages": None} for _ in files]
        fields = {
            "status": QUEUED,
            "created_at": repr(now),
            "options": json.dumps(options),
            "files": json.dumps(meta),
            "progress_done": 0,
            "progress_total": total,
            "attempts": 0,
            "ttl": ttl,
        }
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self.upload_key(job_id), *files)
            pipe.expire(self.upload_key(job_id), ttl)
            pipe.hset(self.job_key(job_id), mapping=fields)
            pipe.expire(self.job_key(job_id), ttl)
            pipe.execute()
        return Job(job_id, QUEUED, now, None, None, 0, total, None, None, options, meta, 0, ttl, None, None)

    def get(self, job_id: str) -> Job | None:
        """The job, or None if unknown or expired. A running job past its deadline is failed here."""
        raw = self.redis.hgetall(self.job_key(job_id))
        if not raw:
            return None
        job = Job.from_hash(job_id, raw)
        if job.status == RUNNING and job.deadline is not None and time.time() > job.deadline:
            message = "The worker processing this job stopped before finishing it."
            guard = ("deadline", repr(job.deadline))
            if self.fail(job_id, "worker_lost", message, from_statuses=(RUNNING,), guard=guard):
                log.warning("job %s failed: worker %s passed its deadline without finishing", job_id, job.worker)
            return self.get(job_id)
        return job

    def cancel(self, job_id: str) -> tuple[str, bool]:
        """Cancel a queued or running job. Returns (status before, whether it was canceled)."""
        return self._apply(job_id, ACTIVE, CANCELED, terminal=True, fields={"finished_at": repr(time.time())})

    def wait_finished(self, job_id: str, timeout: float, blocking_redis: Redis | None = None) -> bool:
        """Block until the job is finished or the timeout passes; no polling loop."""
        client = blocking_redis or self.redis
        return client.blpop([self.done_key(job_id)], timeout=timeout) is not None

    def workers_alive(self, ttl: float) -> int:
        return int(self._heartbeat(keys=[self.workers_key], args=["", ttl]))

    # worker side
    def start(self, job_id: str, worker: str, hard_time_limit: float, max_attempts: int) -> tuple[str, int]:
        """Claim the job for a run. Returns ("running", attempt), ("exhausted", n) or (other status, 0)."""
        now = time.time()
        deadline = now + hard_time_limit + DEADLINE_GRACE
        error = json.dumps(error_body(
            "worker_lost", f"The worker processing this job died {max_attempts} times; it will not be retried."
        ))
        status, attempts = self._start(
            keys=self._keys(job_id), args=[repr(now), repr(deadline), worker, max_attempts, error]
        )
        if status == b"exhausted":
            job_events.finished(self.redis, self.prefix, job_id, FAILED, error)
        return status.decode(), int(attempts)

    def load_upload(self, job_id: str, index: int = 0) -> bytes | None:
        """One uploaded file (fetched one at a time: a batch is never all in memory twice)."""
        return self.redis.lindex(self.upload_key(job_id), index)

    def progress(self, job_id: str, done: int) -> str:
        """Record pages done while the job runs; returns its status ('' if it is gone)."""
        status = self._progress(keys=[self.job_key(job_id)], args=[done])
        return status.decode() if isinstance(status, bytes) else str(status or "")

    def succeed(self, job_id: str, result: dict) -> bool:
        fields = {"finished_at": repr(time.time()), "result": json.dumps(result)}
        raw = self.redis.hget(self.job_key(job_id), "progress_total")
        if raw is not None:
            fields["progress_done"] = raw.decode()
        return self._apply(job_id, (RUNNING,), SUCCEEDED, terminal=True, fields=fields)[1]

    def fail(
        self,
        job_id: str,
        code: str,
        message: str,
        from_statuses: tuple[str, ...] = ACTIVE,
        guard: tuple[str, str] | None = None,
    ) -> bool:
        fields = {"finished_at": repr(time.time()), "error": json.dumps(error_body(code, message))}
        return self._apply(job_id, from_statuses, FAILED, terminal=True, fields=fields, guard=guard)[1]

    def heartbeat(self, member: str, ttl: float) -> int:
        return int(self._heartbeat(keys=[self.workers_key], args=[member, ttl]))

    def forget_worker(self, member: str) -> None:
        self.redis.zrem(self.workers_key, member)

    def _apply(
        self,
        job_id: str,
        from_statuses: tuple[str, ...],
        to_status: str,
        terminal: bool,
        fields: dict[str, Any],
        guard: tuple[str, str] | None = None,
    ) -> tuple[str, bool]:
        pairs: list[Any] = []
        for name, value in fields.items():
            pairs += [name, value]
        guard_field, guard_value = guard or ("", "")
        before, applied = self._transition(
            keys=self._keys(job_id),
            args=[",".join(from_statuses), to_status, "1" if terminal else "0", guard_field, guard_value, *pairs],
        )
        if applied and terminal:  # once per job: the compare-and-set lets only one final status through
            job_events.finished(self.redis, self.prefix, job_id, to_status, fields.get("error"))
        return before.decode(), bool(applied)

