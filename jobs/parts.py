"""A job split into page tasks ("parts"), kept in Redis beside its job record.

Part n of a job with P pages (over all its files, in order; an image is one page) is its
n-th page for n < P, and for n = P the assembly: making the job's result from the pages.
The job's first task (worker/tasks.py) splits it (`fan_out`) once it runs, and from then
on its state lives in the parts hash `<prefix>:parts:<id>`:

    r<n>  the page's outcome (jobs/model.py PartOutcome), written once
    w<n>  the child running part n now ("host:pid"), while it runs
    a<n>  attempts at part n (a child that died mid-page counts one)
    l<n>  how the last child running part n died (billiard's words)

and in the job's hash: `parts` (P), `parts_done`, `parts_next` (the next page to queue).

Rules, each a compare-and-set in Lua:
- A window: a job has at most as many parts queued or running as there are live worker
  children; each finished page queues the next. Two documents running at once thus
  interleave in the queue, and the queue never holds a whole document.
- A page is done exactly once: only the child owning part n may record it, and the job
  must still be running (a canceled job's pages are dropped; its queued ones are skipped).
- Leases, as for whole jobs (jobs/store.py): each part has one in `<prefix>:part_leases`
  ("<id>:<n>", Redis' clock), set when it is queued (so a message lost before any child
  took it is sent again) and renewed by its child's heartbeat while it runs. A lapsed
  lease is re-queued by any worker's reaper, or fails the job once the part's attempts
  are used up. A child killed mid-document costs only its page; finished pages stay done.
- The child that records the last page owns the assembly (part P) under a lease too.
- Every final status (jobs/store.py) deletes the parts hash and the job's part leases.
"""
from __future__ import annotations

import json
import time
from collections.abc import Sequence

from redis import Redis

from .leases import FAIL_EXHAUSTED, exhausted_error
from .model import ErrorBody, FileMeta, PartOutcome, Status
from .scripts import CLOCK
from .store import JobStore

# How many parts a job keeps queued or running: one per live worker child (the heartbeat set,
# Redis' clock), so one document can use every child and no more messages wait than needed.
_WINDOW = """
local function window(workers, ttl)
  return math.max(1, redis.call('ZCOUNT', workers, clock - ttl, '+inf'))
end
"""

# KEYS: job, leases, part leases, workers. ARGV: job id, worker, pages, heartbeat TTL, seconds a
# queued part may wait before it is sent again. Splits a job this worker runs: the job leaves
# its job-level lease and deadline (its parts have leases, and limits, of their own). Returns
# {status, parts to queue now}; {"fanned", 0} if it was split already.
_FAN_OUT = CLOCK + _WINDOW + """
local cur = redis.call('HGET', KEYS[1], 'status')
if cur ~= 'running' or redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] then return {cur or '', 0} end
if redis.call('HEXISTS', KEYS[1], 'parts') == 1 then return {'fanned', 0} end
local total = tonumber(ARGV[3])
local send = math.min(total, window(KEYS[4], tonumber(ARGV[4])))
redis.call('HSET', KEYS[1], 'parts', total, 'parts_done', 0, 'parts_next', send, 'progress_done', 0)
redis.call('HDEL', KEYS[1], 'deadline')
redis.call('ZREM', KEYS[2], ARGV[1])
for n = 0, send - 1 do redis.call('ZADD', KEYS[3], clock + tonumber(ARGV[5]), ARGV[1] .. ':' .. n) end
return {'running', send}
"""

# KEYS: job, done list, upload, leases, callbacks, parts, part leases. ARGV: job id, part, worker,
# lease seconds, max attempts, failure error JSON, now. Like _START for a job: a part is taken
# unless done, or held by another child under a live lease; its attempts are counted.
_START_PART = FAIL_EXHAUSTED + CLOCK + """
local cur = redis.call('HGET', KEYS[1], 'status')
if cur ~= 'running' then return {cur or '', 0} end
if redis.call('HEXISTS', KEYS[1], 'parts') == 0 then return {'', 0} end
local n = ARGV[2]
if redis.call('HEXISTS', KEYS[6], 'r' .. n) == 1 then return {'done', 0} end
local member = ARGV[1] .. ':' .. n
local owner = redis.call('HGET', KEYS[6], 'w' .. n)
if owner == ARGV[3] then return {'running', tonumber(redis.call('HGET', KEYS[6], 'a' .. n))} end
if owner then
  local lease = redis.call('ZSCORE', KEYS[7], member)
  if lease and tonumber(lease) > clock then return {'held', 0} end
end
local attempts = redis.call('HINCRBY', KEYS[6], 'a' .. n, 1)
local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl'))
if attempts > tonumber(ARGV[5]) then
  fail_exhausted(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], ARGV[1], ARGV[7], ARGV[6], ttl)
  return {'exhausted', attempts}
end
redis.call('HSET', KEYS[6], 'w' .. n, ARGV[3])
redis.call('EXPIRE', KEYS[6], ttl)
redis.call('ZADD', KEYS[7], clock + tonumber(ARGV[4]), member)
return {'running', attempts}
"""

# KEYS: job, parts, part leases. ARGV: job id, part, worker, lease seconds. Returns the job's status.
_RENEW_PART = CLOCK + """
local cur = redis.call('HGET', KEYS[1], 'status')
if cur == 'running' and redis.call('HGET', KEYS[2], 'w' .. ARGV[2]) == ARGV[3] then
  redis.call('ZADD', KEYS[3], clock + tonumber(ARGV[4]), ARGV[1] .. ':' .. ARGV[2])
end
return cur or ''
"""

# KEYS: job, parts, part leases, workers. ARGV: job id, part, worker, outcome JSON, heartbeat TTL,
# seconds a queued part may wait, lease seconds. Records a page its owner finished, counts it,
# and queues the next pages up to the window. Returns {"running", parts to queue...},
# {"assemble", parts to queue...} when it was the last page (this worker now owns the
# assembly), or {status or ""} when the job is no longer running or the part is not this
# worker's any more (the outcome is dropped).
_FINISH_PART = CLOCK + _WINDOW + """
local cur = redis.call('HGET', KEYS[1], 'status')
if cur ~= 'running' then return {cur or ''} end
local n = ARGV[2]
if redis.call('HGET', KEYS[2], 'w' .. n) ~= ARGV[3] then return {''} end
local total = tonumber(redis.call('HGET', KEYS[1], 'parts'))
local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl'))
redis.call('HDEL', KEYS[2], 'w' .. n)
redis.call('HSET', KEYS[2], 'r' .. n, ARGV[4])
redis.call('ZREM', KEYS[3], ARGV[1] .. ':' .. n)
local done = redis.call('HINCRBY', KEYS[1], 'parts_done', 1)
redis.call('HSET', KEYS[1], 'progress_done', done)
local nxt = tonumber(redis.call('HGET', KEYS[1], 'parts_next'))
local want = window(KEYS[4], tonumber(ARGV[5]))
local reply = {'running'}
while nxt < total and nxt - done < want do
  redis.call('ZADD', KEYS[3], clock + tonumber(ARGV[6]), ARGV[1] .. ':' .. nxt)
  table.insert(reply, nxt)
  nxt = nxt + 1
end
redis.call('HSET', KEYS[1], 'parts_next', nxt)
if done == total then
  reply[1] = 'assemble'
  redis.call('HSET', KEYS[2], 'w' .. total, ARGV[3])
  redis.call('HINCRBY', KEYS[2], 'a' .. total, 1)
  redis.call('ZADD', KEYS[3], clock + tonumber(ARGV[7]), ARGV[1] .. ':' .. total)
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return reply
"""

# KEYS: part leases. ARGV: how many. The "<job id>:<part>" whose lease lapsed.
_LAPSED_PARTS = CLOCK + """
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', clock, 'LIMIT', 0, tonumber(ARGV[1]))
"""

# KEYS: job, done list, upload, leases, callbacks, parts, part leases. ARGV: job id, part, max
# attempts, failure error JSON, now, seconds before a re-queued part is sent again. Like
# _REQUEUE for a job. Returns {what, attempts}: "requeued" (its child died: send it again),
# "resend" (queued but never taken: send another message), "exhausted" (the job failed),
# or "" (nothing to do; a stale lease is dropped).
_REQUEUE_PART = FAIL_EXHAUSTED + CLOCK + """
local member = ARGV[1] .. ':' .. ARGV[2]
local lease = redis.call('ZSCORE', KEYS[7], member)
if not lease or tonumber(lease) > clock then return {'', 0} end
local n = ARGV[2]
if redis.call('HGET', KEYS[1], 'status') ~= 'running' or redis.call('HEXISTS', KEYS[1], 'parts') == 0
    or redis.call('HEXISTS', KEYS[6], 'r' .. n) == 1 then
  redis.call('ZREM', KEYS[7], member)
  return {'', 0}
end
local attempts = tonumber(redis.call('HGET', KEYS[6], 'a' .. n) or '0')
if not redis.call('HGET', KEYS[6], 'w' .. n) then
  redis.call('ZADD', KEYS[7], clock + tonumber(ARGV[6]), member)
  return {'resend', attempts}
end
if attempts >= tonumber(ARGV[3]) then
  local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl'))
  fail_exhausted(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], ARGV[1], ARGV[5], ARGV[4], ttl)
  return {'exhausted', attempts}
end
redis.call('HDEL', KEYS[6], 'w' .. n)
redis.call('ZADD', KEYS[7], clock + tonumber(ARGV[6]), member)
return {'requeued', attempts}
"""

# KEYS: job, parts. ARGV: part, reason. How the child running a part died (running jobs only).
_NOTE_PART = """
if redis.call('HGET', KEYS[1], 'status') == 'running' then redis.call('HSET', KEYS[2], 'l' .. ARGV[1], ARGV[2]) end
return 0
"""


def page_parts(files: Sequence[FileMeta]) -> list[tuple[int, int]]:
    """Part n -> (file index, position among that file's selected pages), in the job's page order."""
    return [(index, position) for index, meta in enumerate(files) for position in range(meta.page_count)]


def splittable(files: Sequence[FileMeta]) -> bool:
    """Whether every file's pages are known without opening it (records from before page
    selections were stored name none for a PDF: such a job runs as one task)."""
    return all(meta.pages is not None for meta in files if meta.is_pdf)


def part_label(files: Sequence[FileMeta], part: int) -> str:
    """Part `part` in words, for errors and logs: "page 5" (the PDF's own page number), with
    the file named when the job has several ("page 5 of b.pdf", "a.png"); "the result" for
    the assembly."""
    parts = page_parts(files)
    if part >= len(parts):
        return "the result"
    index, position = parts[part]
    meta = files[index]
    name = meta.filename or f"file {index + 1}"
    if not meta.is_pdf:
        return name if len(files) > 1 else "the image"
    page = f"page {(meta.pages or ())[position] + 1}"
    return f"{page} of {name}" if len(files) > 1 else page


def part_id(job_id: str, part: int) -> str:
    """A part's name in leases, logs and its queue message's task id."""
    return f"{job_id}:{part}"


def parse_part_id(member: str) -> tuple[str, int]:
    job_id, _, part = member.rpartition(":")
    return job_id, int(part)


class PartStore:
    """The parts of split jobs, on a JobStore's Redis and keys; safe to share between threads."""

    def __init__(self, store: JobStore):
        self.store = store
        redis: Redis = store.redis
        self._fan_out = redis.register_script(_FAN_OUT)
        self._start = redis.register_script(_START_PART)
        self._renew = redis.register_script(_RENEW_PART)
        self._finish = redis.register_script(_FINISH_PART)
        self._lapsed = redis.register_script(_LAPSED_PARTS)
        self._requeue = redis.register_script(_REQUEUE_PART)
        self._note = redis.register_script(_NOTE_PART)

    def fan_out(self, job_id: str, worker: str, pages: int, heartbeat_ttl: float, resend_after: float) -> list[int]:
        """Split a job `worker` runs into `pages` page parts; returns the parts to queue now (the
        window), [] if the job is no longer this worker's to split or was split already."""
        s = self.store
        status, send = self._fan_out(
            keys=[s.job_key(job_id), s.leases_key, s.part_leases_key, s.workers_key],
            args=[job_id, worker, pages, heartbeat_ttl, resend_after],
        )
        return list(range(int(send))) if status == b"running" else []

    def start(self, job_id: str, part: int, worker: str, lease_ttl: float, max_attempts: int,
              label: str) -> tuple[str, int]:
        """Claim a part: ("running", attempt), ("done", 0), ("held", 0) while another child runs it
        under a live lease, ("exhausted", attempts) once its attempts are used up (the job is
        failed), or (the job's other status or "" if gone, 0)."""
        error = json.dumps(self._exhausted_error(job_id, part, max_attempts, label))
        status, attempts = self._start(
            keys=self.store.lease_keys(job_id),
            args=[job_id, part, worker, lease_ttl, max_attempts, error, repr(time.time())],
        )
        if status == b"exhausted":
            self.store.finished(job_id, Status.FAILED, error)
        return status.decode(), int(attempts)

    def renew(self, job_id: str, part: int, worker: str, lease_ttl: float) -> Status | None:
        s = self.store
        raw = self._renew(keys=[s.job_key(job_id), s.parts_key(job_id), s.part_leases_key],
                          args=[job_id, part, worker, lease_ttl])
        text = raw.decode() if isinstance(raw, bytes) else str(raw or "")
        return Status(text) if text else None

    def finish(self, job_id: str, part: int, worker: str, outcome: PartOutcome, heartbeat_ttl: float,
               resend_after: float, lease_ttl: float) -> tuple[str, list[int]]:
        """Record a page's outcome: ("running", parts to queue), ("assemble", parts to queue) when
        it was the last page and this worker now owns the assembly, or (the job's status, or ""
        when the part was not this worker's any more, []) when the outcome was dropped."""
        s = self.store
        reply = self._finish(
            keys=[s.job_key(job_id), s.parts_key(job_id), s.part_leases_key, s.workers_key],
            args=[job_id, part, worker, outcome.to_json(), heartbeat_ttl, resend_after, lease_ttl],
        )
        return reply[0].decode(), [int(n) for n in reply[1:]]

    def outcomes(self, job_id: str, pages: int) -> list[PartOutcome | None]:
        """The pages' outcomes in page order (None for a page not recorded)."""
        raw = self.store.redis.hmget(self.store.parts_key(job_id), [f"r{n}" for n in range(pages)])
        return [None if value is None else PartOutcome.from_json(value) for value in raw]

    def lapsed(self, limit: int = 100) -> list[tuple[str, int]]:
        """(job id, part) of the parts whose lease ran out (by Redis' clock)."""
        return [parse_part_id(raw.decode()) for raw in self._lapsed(keys=[self.store.part_leases_key], args=[limit])]

    def lapse(self, job_id: str, part: int) -> None:
        """Mark a part's lease lapsed now, so the next reaper pass handles it again."""
        self.store.redis.zadd(self.store.part_leases_key, {part_id(job_id, part): 0}, xx=True)

    def requeue_lapsed(self, job_id: str, part: int, max_attempts: int, resend_after: float,
                       label: str) -> tuple[str, int]:
        """("requeued" | "resend", attempts): the caller sends the part's message (again);
        ("exhausted", attempts): the job failed; ("", 0): nothing to do."""
        error = json.dumps(self._exhausted_error(job_id, part, max_attempts, label))
        what, attempts = self._requeue(
            keys=self.store.lease_keys(job_id),
            args=[job_id, part, max_attempts, error, repr(time.time()), resend_after],
        )
        if what == b"exhausted":
            self.store.finished(job_id, Status.FAILED, error)
        return what.decode(), int(attempts)

    def note_lost_run(self, job_id: str, part: int, reason: str) -> None:
        """In the worker's main process: how the child running this part died."""
        s = self.store
        self._note(keys=[s.job_key(job_id), s.parts_key(job_id)], args=[part, reason[:200]])

    def _exhausted_error(self, job_id: str, part: int, max_attempts: int, label: str) -> ErrorBody:
        reason = self.store.redis.hget(self.store.parts_key(job_id), f"l{part}")
        return exhausted_error(reason.decode(errors="replace") if isinstance(reason, bytes) else "", max_attempts,
                               label)
