"""The job record, kept in Redis by the gateway and the worker alike.

One hash per job holds its state; the uploaded files wait under their own key (a list,
one entry per file) until a worker takes them; a per-job list receives the job id once the job is finished, so a waiting
request can BLPOP it instead of polling. Every status change is a compare-and-set in
a Lua script: a canceled or finished job is never overwritten.

Binary results (output_format=pdf) are not JSON: their bytes go under an output key of
their own (a list, one entry per document), written by the same compare-and-set that
sets "succeeded" and given the record's TTL, so a job has its documents exactly when it
succeeded, and they expire with it.

Leases: a running job has an entry in one sorted set (`<prefix>:leases`, score = expiry in
Redis' clock) that the child running it renews with every heartbeat. A job whose lease
lapsed lost its child, worker or machine: any surviving worker's reaper (`reap`) puts it
back in the queue as a new attempt, or fails it `worker_lost` once its attempts are used up.
A message for a job whose lease still runs (a duplicate, or the dead worker's own message
coming back after the visibility timeout) is skipped: no job runs twice at once.

Parts: a job split into page tasks (jobs/parts.py, worker/fanout.py) keeps its pages' state
in a hash of its own (`<prefix>:parts:<id>`) and one lease per page task in
`<prefix>:part_leases`; it leaves the job-level lease above once it is split, and every
final status set here deletes its parts with it.
"""
from __future__ import annotations

import hashlib
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
# A new job's lease until the gateway has sent its queue message: a gateway killed between
# storing the job and sending the message leaves a queued job nobody would ever run; once
# this lapses, a worker's reaper sends the message instead.
ENQUEUE_GRACE = 30.0
# How long a "finished" notification waits for a BLPOP that may come a moment late (never
# longer than the job itself is kept).
DONE_LIST_TTL = 120

# A finished job with a callback_url gets its delivery scheduled in the same script that set
# its final status: HSETNX makes it once per job, whichever process got there (jobs/callbacks.py).
_SCHEDULE_CALLBACK = """
local function schedule_callback(job, callbacks, id)
  local url = redis.call('HGET', job, 'callback_url')
  if url and url ~= '' and redis.call('HSETNX', job, 'callback_status', 'pending') == 1 then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
    redis.call('HSET', job, 'callback_since', now, 'callback_attempts', 0)
    redis.call('ZADD', callbacks, now, id)
  end
end
"""

# A finished job's parts (jobs/parts.py): their results and the leases of its page tasks
# (members "<id>:<n>", n from 0 to the page count, the last one being the assembly).
_DROP_PARTS = """
local function drop_parts(job, parts, part_leases, id)
  local total = tonumber(redis.call('HGET', job, 'parts') or '-1')
  for n = 0, total do redis.call('ZREM', part_leases, id .. ':' .. n) end
  redis.call('DEL', parts)
end
"""

# A job whose attempts are used up: failed with `err`, its upload and parts dropped, its
# waiters woken, its lease gone and its callback scheduled (shared by _START, _REQUEUE and
# the page tasks' scripts in jobs/parts.py).
_FAIL_EXHAUSTED = _SCHEDULE_CALLBACK + _DROP_PARTS + """
local function fail_exhausted(job, done, upload, leases, callbacks, parts, part_leases, id, now, err, ttl)
  redis.call('HSET', job, 'status', 'failed', 'finished_at', now, 'error', err)
  redis.call('EXPIRE', job, ttl)
  redis.call('DEL', upload)
  drop_parts(job, parts, part_leases, id)
  redis.call('RPUSH', done, 'failed')
  redis.call('EXPIRE', done, math.min(%d, ttl))
  redis.call('ZREM', leases, id)
  schedule_callback(job, callbacks, id)
end
""" % DONE_LIST_TTL

# KEYS: job, done list, upload, leases, output, callbacks, parts, part leases, the hash the guard
# field is read from (the job's, or its parts'). ARGV: allowed statuses (comma-separated),
# new status, terminal ("1"/"0"), guard field, guard value, job id, the number n of
# documents, the n documents' bytes, then field/value pairs to set. The record keeps its own
# TTL; every change restarts it, so a finished job lives that long, and its documents with it.
_TRANSITION = _SCHEDULE_CALLBACK + _DROP_PARTS + """
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {'', 0} end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == cur then allowed = true end
end
if not allowed then return {cur, 0} end
if ARGV[4] ~= '' and redis.call('HGET', KEYS[9], ARGV[4]) ~= ARGV[5] then return {cur, 0} end
local documents = tonumber(ARGV[7])
redis.call('HSET', KEYS[1], 'status', ARGV[2])
for i = 8 + documents, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl'))
redis.call('EXPIRE', KEYS[1], ttl)
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[3], KEYS[5])
  drop_parts(KEYS[1], KEYS[7], KEYS[8], ARGV[6])
  for i = 8, 7 + documents do
    redis.call('RPUSH', KEYS[5], ARGV[i])
  end
  if documents > 0 then redis.call('EXPIRE', KEYS[5], ttl) end
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('EXPIRE', KEYS[2], math.min(%d, ttl))
  redis.call('ZREM', KEYS[4], ARGV[6])
  schedule_callback(KEYS[1], KEYS[6], ARGV[6])
end
return {cur, 1}
""" % DONE_LIST_TTL

# Redis' clock, in seconds: leases are compared across machines, so no host's clock decides.
_CLOCK = """
local t = redis.call('TIME')
local clock = tonumber(t[1]) + tonumber(t[2]) / 1e6
"""

# KEYS: job, done list, upload, leases, callbacks, parts, part leases. ARGV: now, deadline, worker,
# max attempts, failure error JSON, job id, lease seconds. A job is taken from queued; from
# running only when its lease lapsed (its child died and its message came back before the
# reaper re-queued it). A job running under a live lease is "held": this message is a
# duplicate and is dropped; so is one for a job already split into page tasks ("fanned").
# The same worker starting its own running job again (a retried call) gets its attempt back.
_START = _FAIL_EXHAUSTED + _CLOCK + """
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {'', 0} end
if cur ~= 'queued' and cur ~= 'running' then return {cur, 0} end
if cur == 'running' then
  if redis.call('HEXISTS', KEYS[1], 'parts') == 1 then return {'fanned', 0} end
  if redis.call('HGET', KEYS[1], 'worker') == ARGV[3] then
    return {'running', tonumber(redis.call('HGET', KEYS[1], 'attempts'))}
  end
  local lease = redis.call('ZSCORE', KEYS[4], ARGV[6])
  if lease and tonumber(lease) > clock then return {'held', 0} end
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl'))
if attempts > tonumber(ARGV[4]) then
  fail_exhausted(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], ARGV[6], ARGV[1], ARGV[5], ttl)
  return {'exhausted', attempts}
end
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[1], 'deadline', ARGV[2], 'worker', ARGV[3])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[4], clock + tonumber(ARGV[7]), ARGV[6])
return {'running', attempts}
"""

# KEYS: job, leases. ARGV: job id, worker, lease seconds. The running child extends its job's
# lease; returns the job's status ("" if gone) so a renewal also notices a cancel or a re-queue.
# A job split into page tasks has no job lease any more (its parts have theirs).
_RENEW = _CLOCK + """
local cur = redis.call('HGET', KEYS[1], 'status')
if cur == 'running' and redis.call('HGET', KEYS[1], 'worker') == ARGV[2]
    and redis.call('HEXISTS', KEYS[1], 'parts') == 0 then
  redis.call('ZADD', KEYS[2], clock + tonumber(ARGV[3]), ARGV[1])
end
return cur or ''
"""

# KEYS: job, leases. ARGV: job id. The gateway sent the queue message: the job needs no
# lease until a worker starts it (which sets its running lease in the same step as the status).
_ENQUEUED = """
if redis.call('HGET', KEYS[1], 'status') == 'queued' then redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1
"""

# KEYS: leases. ARGV: how many. The ids of jobs whose lease lapsed.
_LAPSED = _CLOCK + """
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', clock, 'LIMIT', 0, tonumber(ARGV[1]))
"""

# KEYS: job, done list, upload, leases, callbacks, parts, part leases. ARGV: job id, max attempts,
# failure error JSON, now, seconds a re-queued job may wait for a worker before its message is
# sent again. Returns {what, attempts, pages}: "requeued" (send it a message), "resend"
# (re-queued earlier but never taken: send another message), "exhausted" (failed), or ""
# (nothing to do: renewed, finished, split into page tasks or gone meanwhile; a stale lease
# is dropped).
_REQUEUE = _FAIL_EXHAUSTED + _CLOCK + """
local lease = redis.call('ZSCORE', KEYS[4], ARGV[1])
if not lease or tonumber(lease) > clock then return {'', 0, 0} end
local cur = redis.call('HGET', KEYS[1], 'status')
if (cur ~= 'running' and cur ~= 'queued') or redis.call('HEXISTS', KEYS[1], 'parts') == 1 then
  redis.call('ZREM', KEYS[4], ARGV[1])
  return {'', 0, 0}
end
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
local pages = tonumber(redis.call('HGET', KEYS[1], 'progress_total') or '1')
local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl'))
if cur == 'queued' then
  redis.call('ZADD', KEYS[4], clock + tonumber(ARGV[5]), ARGV[1])
  return {'resend', attempts, pages}
end
if attempts >= tonumber(ARGV[2]) then
  fail_exhausted(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], ARGV[1], ARGV[4], ARGV[3], ttl)
  return {'exhausted', attempts, pages}
end
redis.call('HSET', KEYS[1], 'status', 'queued', 'worker', '', 'requeued_at', ARGV[4])
redis.call('HDEL', KEYS[1], 'deadline')
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[4], clock + tonumber(ARGV[5]), ARGV[1])
return {'requeued', attempts, pages}
"""

# KEYS: job. ARGV: pages done, worker ("" for any). Records progress only while the job runs
# (a canceled or expired job is neither changed nor recreated) and returns the status, so the
# worker learns of a cancellation between pages; a run another worker has taken over since
# (its lease had lapsed) is told "" as if the job were gone.
_PROGRESS = """
local cur = redis.call('HGET', KEYS[1], 'status')
if ARGV[2] ~= '' and cur == 'running' and redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] then return '' end
if cur == 'running' then redis.call('HSET', KEYS[1], 'progress_done', ARGV[1]) end
return cur or ''
"""

# KEYS: job. ARGV: field, value. Annotates a running job only (never recreates an expired one).
_NOTE = """
if redis.call('HGET', KEYS[1], 'status') == 'running' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
"""

# KEYS: job, upload, leases, idempotency ("" for none). ARGV: ttl, lease expiry, idempotency
# value, the number n of files, the n files, then field/value pairs. Stores a new queued job;
# with an Idempotency-Key, only if the key is new (SET NX, kept as long as a result): else
# nothing is stored and the key's value ("<request hash> <job id>") is returned.
_CREATE = """
if KEYS[4] ~= '' then
  if not redis.call('SET', KEYS[4], ARGV[3], 'NX', 'EX', tonumber(ARGV[1])) then
    return redis.call('GET', KEYS[4])
  end
end
local n = tonumber(ARGV[4])
for i = 5, 4 + n do redis.call('RPUSH', KEYS[2], ARGV[i]) end
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
for i = 5 + n, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), string.match(KEYS[1], '[^:]+$'))
return false
"""

# KEYS: callbacks. ARGV: prefix, seconds a claim lasts. Takes the next due delivery (by Redis'
# clock) and moves it past the claim, so no other deliverer takes it meanwhile (a deliverer that
# dies mid-attempt leaves it due again once the claim lapses). Returns {job id, attempt} or {}.
_CLAIM_CALLBACK = _CLOCK + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', clock, 'LIMIT', 0, 1)
if #due == 0 then return {} end
local id = due[1]
local job = ARGV[1] .. ':job:' .. id
if redis.call('HGET', job, 'callback_status') ~= 'pending' then
  redis.call('ZREM', KEYS[1], id)
  return {id, 0}
end
redis.call('ZADD', KEYS[1], clock + tonumber(ARGV[2]), id)
return {id, redis.call('HINCRBY', job, 'callback_attempts', 1)}
"""

# KEYS: job, callbacks. ARGV: job id, outcome ("delivered", "failed" or "retry"), error,
# retry delay, give up after (seconds since the job ended). Records an attempt's outcome
# while the delivery is pending (a delivered or failed one never changes again).
_CALLBACK_OUTCOME = _CLOCK + """
if redis.call('HGET', KEYS[1], 'callback_status') ~= 'pending' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return ''
end
local outcome = ARGV[2]
local since = tonumber(redis.call('HGET', KEYS[1], 'callback_since') or clock)
if outcome == 'retry' and clock + tonumber(ARGV[4]) > since + tonumber(ARGV[5]) then outcome = 'failed' end
redis.call('HSET', KEYS[1], 'callback_error', ARGV[3])
if outcome == 'retry' then
  redis.call('ZADD', KEYS[2], clock + tonumber(ARGV[4]), ARGV[1])
else
  redis.call('HSET', KEYS[1], 'callback_status', outcome, 'callback_finished_at', clock)
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return outcome
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


def exhausted_error(reason: str, max_attempts: int, part: str | None = None) -> ErrorBody:
    """The error of a job whose attempts are used up: worker_crashed when the last child running
    it (or its `part`, e.g. "page 5") died of a crash signal (the file is the likely cause: every
    attempt ended so), else worker_lost (killed, stopped, machine gone)."""
    if any(f"({name})" in reason for name in CRASH_SIGNALS):
        where = part or "this file"
        return error_body(
            ErrorCode.WORKER_CRASHED,
            f"The worker crashed with {reason} while processing {where}, on each of its {max_attempts} "
            "attempts; the file is probably malformed in a way that crashes a decoder. It will not be retried.",
        )
    where = part or "this job"
    return error_body(ErrorCode.WORKER_LOST,
                      f"The worker processing {where} died {max_attempts} times; it will not be retried.")


class JobStore:
    """Job records, uploads and worker heartbeats in Redis; safe to share between threads."""

    def __init__(self, redis: Redis, prefix: str = "ocr"):
        self.redis = redis
        self.prefix = prefix
        self._transition = redis.register_script(_TRANSITION)
        self._start = redis.register_script(_START)
        self._renew = redis.register_script(_RENEW)
        self._lapsed = redis.register_script(_LAPSED)
        self._enqueued = redis.register_script(_ENQUEUED)
        self._requeue = redis.register_script(_REQUEUE)
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._progress = redis.register_script(_PROGRESS)
        self._note = redis.register_script(_NOTE)
        self._create = redis.register_script(_CREATE)
        self._claim_callback = redis.register_script(_CLAIM_CALLBACK)
        self._callback_outcome = redis.register_script(_CALLBACK_OUTCOME)

    # keys
    def job_key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def upload_key(self, job_id: str) -> str:
        return f"{self.prefix}:upload:{job_id}"

    def done_key(self, job_id: str) -> str:
        return f"{self.prefix}:done:{job_id}"

    def output_key(self, job_id: str) -> str:
        return f"{self.prefix}:output:{job_id}"

    def parts_key(self, job_id: str) -> str:
        """A job split into page tasks: its pages' results, owners and attempts (jobs/parts.py)."""
        return f"{self.prefix}:parts:{job_id}"

    @property
    def part_leases_key(self) -> str:
        """Leases of page tasks, "<job id>:<part>" scored by expiry (Redis' clock), as `leases` for jobs."""
        return f"{self.prefix}:part_leases"

    @property
    def workers_key(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def leases_key(self) -> str:
        return f"{self.prefix}:leases"

    @property
    def callbacks_key(self) -> str:
        """Due callback deliveries: job ids scored by when (Redis' clock) to try next."""
        return f"{self.prefix}:callbacks"

    def idempotency_key(self, key: str) -> str:
        """Where an Idempotency-Key's (request hash, job id) is kept: hashed, so keys of any
        charset make tidy Redis keys and a key's text never appears in Redis."""
        return f"{self.prefix}:idem:{hashlib.sha256(key.encode()).hexdigest()}"

    def _keys(self, job_id: str) -> list[str]:
        return [self.job_key(job_id), self.done_key(job_id), self.upload_key(job_id), self.leases_key]

    def _transition_keys(self, job_id: str) -> list[str]:
        return [*self._keys(job_id), self.output_key(job_id), self.callbacks_key, self.parts_key(job_id),
                self.part_leases_key]

    def lease_keys(self, job_id: str) -> list[str]:
        """What _START, _REQUEUE and the parts' scripts need to fail a job whose attempts are used up."""
        return [*self._keys(job_id), self.callbacks_key, self.parts_key(job_id), self.part_leases_key]

    # gateway side
    def create(self, files: Sequence[bytes], options: JobOptions, file_meta: Sequence[FileMeta], ttl: int,
               callback_url: str | None = None, idempotency: tuple[str, str] | None = None) -> Job | str:
        """Store the uploaded files and a queued record, atomically; the caller then enqueues the id.

        With `idempotency` = (Idempotency-Key, request hash) the key is recorded in the same step
        (for `ttl` seconds); if it was already there nothing is stored and the answer is its
        value, "<request hash> <job id>", for the caller to compare (`idempotent_job`)."""
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
        if callback_url:
            fields["callback_url"] = callback_url
        pairs = [item for pair in fields.items() for item in pair]
        idem_key, idem_value = ("", "")
        if idempotency is not None:
            idem_key, idem_value = self.idempotency_key(idempotency[0]), f"{idempotency[1]} {job_id}"
        existing = self._create(
            keys=[self.job_key(job_id), self.upload_key(job_id), self.leases_key, idem_key],
            # a lease until enqueued() (this host's clock)
            args=[ttl, repr(now + ENQUEUE_GRACE), idem_value, len(files), *files, *pairs],
        )
        if existing:
            return existing.decode() if isinstance(existing, bytes) else str(existing)
        return Job(job_id, Status.QUEUED, now, ttl, options, list(file_meta), progress_total=total,
                   callback_url=callback_url)

    # callback deliveries (jobs/callbacks.py)
    def claim_callback(self, claim_seconds: float) -> tuple[str, int] | None:
        """The next due delivery as (job id, attempt), claimed for `claim_seconds`; attempt 0
        means the entry was stale (dropped): call again. None when nothing is due."""
        raw = self._claim_callback(keys=[self.callbacks_key], args=[self.prefix, claim_seconds])
        if not raw:
            return None
        return raw[0].decode(), int(raw[1])

    def callback_outcome(self, job_id: str, outcome: str, error: str, retry_delay: float,
                         give_up_after: float) -> str:
        """Record an attempt: "delivered", "failed" (for good) or "retry" (after `retry_delay`,
        unless that is past `give_up_after` seconds since the job ended: then "failed").
        Returns the outcome recorded ("" if the delivery was no longer pending)."""
        result = self._callback_outcome(keys=[self.job_key(job_id), self.callbacks_key],
                                        args=[job_id, outcome, error[:300], retry_delay, give_up_after])
        return result.decode() if isinstance(result, bytes) else str(result or "")

    def enqueued(self, job_id: str) -> None:
        """The job's queue message is sent: drop its enqueue lease (a running job keeps its own)."""
        self._enqueued(keys=[self.job_key(job_id), self.leases_key], args=[job_id])

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

    def wait_finished(self, job_id: str, timeout: float, blocking_redis: Redis | None = None,
                      shared: bool = False) -> bool:
        """Block until the job is finished or the timeout passes; no polling loop. `shared` (a job
        made with an Idempotency-Key, which several requests may wait on): the notification is put
        back for the next waiter, and expires DONE_LIST_TTL seconds later."""
        client = blocking_redis or self.redis
        popped = client.blpop([self.done_key(job_id)], timeout=timeout)
        if popped is None:
            return False
        if not shared:
            return True
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self.done_key(job_id), popped[1])
            pipe.expire(self.done_key(job_id), DONE_LIST_TTL)
            pipe.execute()
        return True

    def load_output(self, job_id: str, number: int) -> bytes | None:
        """Document `number` (1-based) of a succeeded job's binary result, or None."""
        if number < 1:
            return None
        data: bytes | None = self.redis.lindex(self.output_key(job_id), number - 1)  # type: ignore[assignment]
        return data

    def workers_alive(self, ttl: float) -> int:
        return int(self._heartbeat(keys=[self.workers_key], args=["", ttl]))

    # worker side
    def start(self, job_id: str, worker: str, hard_time_limit: float, max_attempts: int,
              lease_ttl: float = 10.0) -> tuple[str, int]:
        """Claim the job for a run under a lease of `lease_ttl` seconds. Returns ("running", attempt),
        ("exhausted", attempts) once the attempts are used up (the job is failed), ("held", 0) while
        another child runs it under a live lease, or (its other status or "" if gone, 0)."""
        now = time.time()
        deadline = now + hard_time_limit + DEADLINE_GRACE
        error = json.dumps(self._exhausted_error(job_id, max_attempts))
        status, attempts = self._start(
            keys=self.lease_keys(job_id),
            args=[repr(now), repr(deadline), worker, max_attempts, error, job_id, lease_ttl],
        )
        if status == b"exhausted":
            events.finished(self.redis, self.prefix, job_id, Status.FAILED, error)
        return status.decode(), int(attempts)

    def note_lost_run(self, job_id: str, reason: str) -> None:
        """In the worker's main process: how the child running this job died (billiard's words,
        e.g. "signal 11 (SIGSEGV)"), for the error once its attempts are used up."""
        self._progress_note(job_id, "lost_reason", reason[:200])

    def _exhausted_error(self, job_id: str, max_attempts: int) -> ErrorBody:
        reason = self.redis.hget(self.job_key(job_id), "lost_reason")
        return exhausted_error(reason.decode(errors="replace") if isinstance(reason, bytes) else "", max_attempts)

    def finished(self, job_id: str, status: Status, error_json: str | None = None) -> None:
        """Tell the logs and metrics a job ended, for a script that ended it (jobs/parts.py)."""
        events.finished(self.redis, self.prefix, job_id, status, error_json)

    def _progress_note(self, job_id: str, field: str, value: str) -> None:
        """Set a field of a running job's record (nothing if the job is gone or finished)."""
        self._note(keys=[self.job_key(job_id)], args=[field, value])

    def renew_lease(self, job_id: str, worker: str, lease_ttl: float) -> Status | None:
        """Extend the lease of a job this worker runs; returns the job's status (None if gone)."""
        return _status(self._renew(keys=[self.job_key(job_id), self.leases_key], args=[job_id, worker, lease_ttl]))

    def lapsed_leases(self, limit: int = 100) -> list[str]:
        """Jobs whose lease ran out (by Redis' clock): their child stopped renewing it."""
        return [raw.decode() for raw in self._lapsed(keys=[self.leases_key], args=[limit])]

    def lapse(self, job_id: str) -> None:
        """Mark the job's lease lapsed now, so the next reaper pass handles it again."""
        self.redis.zadd(self.leases_key, {job_id: 0}, xx=True)

    def requeue_lapsed(self, job_id: str, max_attempts: int, resend_after: float) -> tuple[str, int, int]:
        """Re-queue a job whose lease lapsed, or fail it once its attempts are used up.

        Returns (what, attempts so far, pages): "requeued" or "resend" (the caller sends the
        job a queue message), "exhausted" (failed `worker_lost`), or "" (nothing to do). The
        job keeps a lease of `resend_after` seconds while it waits, so a message lost with a
        dying reaper is sent again."""
        error = json.dumps(self._exhausted_error(job_id, max_attempts))
        what, attempts, pages = self._requeue(
            keys=self.lease_keys(job_id),
            args=[job_id, max_attempts, error, repr(time.time()), resend_after],
        )
        if what == b"exhausted":
            events.finished(self.redis, self.prefix, job_id, Status.FAILED, error)
        return what.decode(), int(attempts), int(pages)

    def load_upload(self, job_id: str, index: int = 0) -> bytes | None:
        """One uploaded file (fetched one at a time: a batch is never all in memory twice)."""
        data: bytes | None = self.redis.lindex(self.upload_key(job_id), index)  # type: ignore[assignment]
        return data

    def progress(self, job_id: str, done: int, worker: str = "") -> Status | None:
        """Record pages done while the job runs; returns its status (None if it is gone, or if
        `worker` is given and another worker runs the job now)."""
        status = self._progress(keys=[self.job_key(job_id)], args=[done, worker])
        return _status(status)

    def succeed(self, job_id: str, result: dict[str, Any], documents: Sequence[bytes] = (),
                worker: str | None = None, part: int | None = None) -> bool:
        """Record the result, and a binary result's documents under the output key, in one
        compare-and-set: a job canceled, expired or taken over by another worker meanwhile
        (only this worker's run counts, if `worker` is given; with `part`, this worker's run
        of that part of a split job) gets neither."""
        fields = {"finished_at": repr(time.time()), "result": json.dumps(result)}
        total = self.redis.hget(self.job_key(job_id), "progress_total")
        if isinstance(total, bytes):
            fields["progress_done"] = total.decode()
        if part is not None and worker:
            return self._apply(job_id, (Status.RUNNING,), Status.SUCCEEDED, fields=fields, documents=documents,
                               part_owner=(part, worker))[1]
        guard = ("worker", worker) if worker else None
        return self._apply(job_id, (Status.RUNNING,), Status.SUCCEEDED, fields=fields, guard=guard,
                           documents=documents)[1]

    def fail(
        self,
        job_id: str,
        code: ErrorCode,
        message: str,
        from_statuses: tuple[Status, ...] = ACTIVE,
        guard: tuple[str, str] | None = None,
        part_owner: tuple[int, str] | None = None,
    ) -> bool:
        """Fail the job (from `from_statuses`; only if the `guard` field holds its value, or with
        `part_owner` = (part, worker) only while that worker owns that part of a split job)."""
        fields = {"finished_at": repr(time.time()), "error": json.dumps(error_body(code, message))}
        return self._apply(job_id, from_statuses, Status.FAILED, fields=fields, guard=guard, part_owner=part_owner)[1]

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
        part_owner: tuple[int, str] | None = None,
    ) -> tuple[Status | None, bool]:
        """Set a final status (every transition this store makes outside `start` is to one)."""
        pairs: list[Any] = []
        for name, value in fields.items():
            pairs += [name, value]
        guard_field, guard_value = guard or ("", "")
        guarded = self.job_key(job_id)
        if part_owner is not None:  # the part's owner, in the parts hash (jobs/parts.py: "w<n>")
            guard_field, guard_value, guarded = f"w{part_owner[0]}", part_owner[1], self.parts_key(job_id)
        terminal = to_status.finished
        if documents and not terminal:
            raise ValueError("documents are stored with a final status only")
        before, applied = self._transition(
            keys=[*self._transition_keys(job_id), guarded],
            args=[",".join(from_statuses), str(to_status), "1" if terminal else "0", guard_field, guard_value, job_id,
                  len(documents), *documents, *pairs],
        )
        if applied and terminal:  # once per job: the compare-and-set lets only one final status through
            events.finished(self.redis, self.prefix, job_id, to_status, fields.get("error"))
        return _status(before), bool(applied)


def _status(raw: bytes | str | None) -> Status | None:
    text = raw.decode() if isinstance(raw, bytes) else (raw or "")
    return Status(text) if text else None
