"""The job record, kept in Redis by the gateway and the worker alike.

One hash per job holds its state; the uploaded files wait under their own key (a list,
one entry per file) until a worker takes them; a per-job list receives the job id once the job is finished, so a waiting
request can BLPOP it instead of polling. Every status change is a compare-and-set in
a Lua script: a canceled or finished job is never overwritten.

Binary results (output_format=pdf) are not JSON: their bytes go under an output key of
their own (a list, one entry per document), written by the same compare-and-set that
sets "succeeded" and given the record's TTL, so a job has its documents exactly when it
succeeded, and they expire with it.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from redis import Redis

from . import events
from .errors import ErrorCode
from .model import ACTIVE, ErrorBody, FileMeta, Job, JobOptions, Status, error_body, new_job_id

log = logging.getLogger(__name__)

# A running job not finished this long after its hard time limit lost its worker.
DEADLINE_GRACE = 5.0
# How long a "finished" notification waits for a BLPOP that may come a moment late.
DONE_LIST_TTL = 120

# KEYS: job, done list, upload, output. ARGV: allowed statuses (comma-separated), new
# status, terminal ("1"/"0"), guard field, guard value, the number n of documents, the n
# documents' bytes, then field/value pairs to set. The record keeps its own TTL; every
# change restarts it, so a finished job lives that long, and its documents with it.
_TRANSITION = """
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {'', 0} end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == cur then allowed = true end
end
if not allowed then return {cur, 0} end
if ARGV[4] ~= '' and redis.call('HGET', KEYS[1], ARGV[4]) ~= ARGV[5] then return {cur, 0} end
local documents = tonumber(ARGV[6])
redis.call('HSET', KEYS[1], 'status', ARGV[2])
for i = 7 + documents, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl'))
redis.call('EXPIRE', KEYS[1], ttl)
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[3], KEYS[4])
  for i = 7, 6 + documents do
    redis.call('RPUSH', KEYS[4], ARGV[i])
  end
  if documents > 0 then redis.call('EXPIRE', KEYS[4], ttl) end
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

# KEYS: job. ARGV: field, value. Annotates a running job only (never recreates an expired one).
_NOTE = """
if redis.call('HGET', KEYS[1], 'status') == 'running' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
"""

# Signals that mean the child crashed (native code failed), not that it was killed or stopped.
CRASH_SIGNALS = ("SIGSEGV", "SIGABRT", "SIGBUS", "SIGILL", "SIGFPE", "SIGSYS", "SIGTRAP")

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


class JobStore:
    """Job records, uploads and worker heartbeats in Redis; safe to share between threads."""

    def __init__(self, redis: Redis, prefix: str = "ocr"):
        self.redis = redis
        self.prefix = prefix
        self._transition = redis.register_script(_TRANSITION)
        self._start = redis.register_script(_START)
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._progress = redis.register_script(_PROGRESS)
        self._note = redis.register_script(_NOTE)

    # keys
    def job_key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def upload_key(self, job_id: str) -> str:
        return f"{self.prefix}:upload:{job_id}"

    def done_key(self, job_id: str) -> str:
        return f"{self.prefix}:done:{job_id}"

    def output_key(self, job_id: str) -> str:
        return f"{self.prefix}:output:{job_id}"

    @property
    def workers_key(self) -> str:
        return f"{self.prefix}:workers"

    def _keys(self, job_id: str) -> list[str]:
        return [self.job_key(job_id), self.done_key(job_id), self.upload_key(job_id)]

    def _transition_keys(self, job_id: str) -> list[str]:
        return [*self._keys(job_id), self.output_key(job_id)]

    # gateway side
    def create(self, files: Sequence[bytes], options: JobOptions, file_meta: Sequence[FileMeta], ttl: int) -> Job:
        """Store the uploaded files and a queued record, atomically; the caller then enqueues the id."""
        job_id = new_job_id()
        now = time.time()
        total = sum(meta.page_count for meta in file_meta)
        fields: dict[str, str | int] = {
            "status": str(Status.QUEUED),
            "created_at": repr(now),
            "options": json.dumps(options.to_json()),
            "files": json.dumps([meta.to_json() for meta in file_meta]),
            "progress_done": 0,
            "progress_total": total,
            "attempts": 0,
            "ttl": ttl,
        }
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self.upload_key(job_id), *files)
            pipe.expire(self.upload_key(job_id), ttl)
            pipe.hset(self.job_key(job_id), mapping=fields)  # type: ignore[arg-type]  # str keys are fine
            pipe.expire(self.job_key(job_id), ttl)
            pipe.execute()
        return Job(job_id, Status.QUEUED, now, ttl, options, list(file_meta), progress_total=total)

    def get(self, job_id: str) -> Job | None:
        """The job, or None if unknown or expired. A running job past its deadline is failed here."""
        raw: dict[bytes, bytes] = self.redis.hgetall(self.job_key(job_id))  # type: ignore[assignment]
        if not raw:
            return None
        job = Job.from_hash(job_id, raw)
        if job.status == Status.RUNNING and job.deadline is not None and time.time() > job.deadline:
            message = "The worker processing this job stopped before finishing it."
            guard = ("deadline", repr(job.deadline))
            if self.fail(job_id, ErrorCode.WORKER_LOST, message, from_statuses=(Status.RUNNING,), guard=guard):
                log.warning("job %s failed: worker %s passed its deadline without finishing", job_id, job.worker)
            return self.get(job_id)
        return job

    def cancel(self, job_id: str) -> tuple[Status | None, bool]:
        """Cancel a queued or running job. Returns (status before or None if gone, whether it was canceled)."""
        return self._apply(job_id, ACTIVE, Status.CANCELED, fields={"finished_at": repr(time.time())})

    def wait_finished(self, job_id: str, timeout: float, blocking_redis: Redis | None = None) -> bool:
        """Block until the job is finished or the timeout passes; no polling loop."""
        client = blocking_redis or self.redis
        return client.blpop([self.done_key(job_id)], timeout=timeout) is not None

    def load_output(self, job_id: str, number: int) -> bytes | None:
        """Document `number` (1-based) of a succeeded job's binary result, or None."""
        if number < 1:
            return None
        data: bytes | None = self.redis.lindex(self.output_key(job_id), number - 1)  # type: ignore[assignment]
        return data

    def workers_alive(self, ttl: float) -> int:
        return int(self._heartbeat(keys=[self.workers_key], args=["", ttl]))

    # worker side
    def start(self, job_id: str, worker: str, hard_time_limit: float, max_attempts: int) -> tuple[str, int]:
        """Claim the job for a run. Returns ("running", attempt), ("exhausted", attempts) once the
        attempts are used up (the job is failed), or (its other status or "" if gone, 0)."""
        now = time.time()
        deadline = now + hard_time_limit + DEADLINE_GRACE
        error = json.dumps(self._exhausted_error(job_id, max_attempts))
        status, attempts = self._start(
            keys=self._keys(job_id), args=[repr(now), repr(deadline), worker, max_attempts, error]
        )
        if status == b"exhausted":
            events.finished(self.redis, self.prefix, job_id, Status.FAILED, error)
        return status.decode(), int(attempts)

    def note_lost_run(self, job_id: str, reason: str) -> None:
        """In the worker's main process: how the child running this job died (billiard's words,
        e.g. "signal 11 (SIGSEGV)"), for the error once its attempts are used up."""
        self._progress_note(job_id, "lost_reason", reason[:200])

    def _exhausted_error(self, job_id: str, max_attempts: int) -> ErrorBody:
        """worker_crashed when the last child running the job died of a crash signal (the file is the
        likely cause: every attempt ended so), else worker_lost (killed, stopped, machine gone)."""
        reason = self.redis.hget(self.job_key(job_id), "lost_reason")
        reason_text = reason.decode(errors="replace") if isinstance(reason, bytes) else ""
        if any(f"({name})" in reason_text for name in CRASH_SIGNALS):
            return error_body(
                ErrorCode.WORKER_CRASHED,
                f"The worker crashed with {reason_text} while processing this file, on each of its {max_attempts} "
                "attempts; the file is probably malformed in a way that crashes a decoder. It will not be retried.",
            )
        return error_body(
            ErrorCode.WORKER_LOST,
            f"The worker processing this job died {max_attempts} times; it will not be retried.",
        )

    def _progress_note(self, job_id: str, field: str, value: str) -> None:
        """Set a field of a running job's record (nothing if the job is gone or finished)."""
        self._note(keys=[self.job_key(job_id)], args=[field, value])

    def load_upload(self, job_id: str, index: int = 0) -> bytes | None:
        """One uploaded file (fetched one at a time: a batch is never all in memory twice)."""
        data: bytes | None = self.redis.lindex(self.upload_key(job_id), index)  # type: ignore[assignment]
        return data

    def progress(self, job_id: str, done: int) -> Status | None:
        """Record pages done while the job runs; returns its status (None if it is gone)."""
        status = self._progress(keys=[self.job_key(job_id)], args=[done])
        return _status(status)

    def succeed(self, job_id: str, result: dict[str, Any], documents: Sequence[bytes] = ()) -> bool:
        """Record the result, and a binary result's documents under the output key, in one
        compare-and-set: a job canceled or expired meanwhile gets neither."""
        fields = {"finished_at": repr(time.time()), "result": json.dumps(result)}
        total = self.redis.hget(self.job_key(job_id), "progress_total")
        if isinstance(total, bytes):
            fields["progress_done"] = total.decode()
        return self._apply(job_id, (Status.RUNNING,), Status.SUCCEEDED, fields=fields, documents=documents)[1]

    def fail(
        self,
        job_id: str,
        code: ErrorCode,
        message: str,
        from_statuses: tuple[Status, ...] = ACTIVE,
        guard: tuple[str, str] | None = None,
    ) -> bool:
        fields = {"finished_at": repr(time.time()), "error": json.dumps(error_body(code, message))}
        return self._apply(job_id, from_statuses, Status.FAILED, fields=fields, guard=guard)[1]

    def heartbeat(self, member: str, ttl: float) -> int:
        return int(self._heartbeat(keys=[self.workers_key], args=[member, ttl]))

    def forget_worker(self, member: str) -> None:
        self.redis.zrem(self.workers_key, member)

    def _apply(
        self,
        job_id: str,
        from_statuses: tuple[Status, ...],
        to_status: Status,
        fields: dict[str, Any],
        guard: tuple[str, str] | None = None,
        documents: Sequence[bytes] = (),
    ) -> tuple[Status | None, bool]:
        """Set a final status (every transition this store makes outside `start` is to one)."""
        pairs: list[Any] = []
        for name, value in fields.items():
            pairs += [name, value]
        guard_field, guard_value = guard or ("", "")
        terminal = to_status.finished
        if documents and not terminal:
            raise ValueError("documents are stored with a final status only")
        before, applied = self._transition(
            keys=self._transition_keys(job_id),
            args=[",".join(from_statuses), str(to_status), "1" if terminal else "0", guard_field, guard_value,
                  len(documents), *documents, *pairs],
        )
        if applied and terminal:  # once per job: the compare-and-set lets only one final status through
            events.finished(self.redis, self.prefix, job_id, to_status, fields.get("error"))
        return _status(before), bool(applied)


def _status(raw: bytes | str | None) -> Status | None:
    text = raw.decode() if isinstance(raw, bytes) else (raw or "")
    return Status(text) if text else None
