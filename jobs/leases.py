"""Leases: how a job or page task whose worker died is found and run again, or failed.

A running job has an entry in one sorted set (`<prefix>:leases`, score = expiry in Redis'
clock) that the child running it renews with every heartbeat (worker/child.py). A job whose
lease lapsed lost its child, worker or machine: any surviving worker's reaper puts it back in
the queue as a new attempt (restoring its original message at the head of the queue when
kombu still holds it), or fails it `worker_lost` (`worker_crashed` when the child died of a
crash signal) once its attempts are used up. A message for a job whose lease still runs (a
duplicate, or the dead worker's own message restored by kombu's sweep, worker/held.py) is
skipped: no job runs twice at once, and a finished job never again.

A new job holds an enqueue lease until the gateway has sent its message; page tasks of a
split job hold leases of their own (`<prefix>:part_leases`, jobs/parts.py), by the same rules.
This module holds the rules (the Lua scripts and their constants); jobs/store.py runs them.
"""
from __future__ import annotations

from .errors import ErrorCode
from .model import ErrorBody, error_body
from .scripts import CLOCK, DONE_LIST_TTL, DROP_PARTS, SCHEDULE_CALLBACK

# A running job not finished this long after its hard time limit lost its worker.
DEADLINE_GRACE = 5.0

# A new job's lease until the gateway has sent its queue message: a gateway killed between
# storing the job and sending the message leaves a queued job nobody would ever run; once
# this lapses, a worker's reaper sends the message instead.
ENQUEUE_GRACE = 30.0

# A job whose attempts are used up: failed with `err`, its upload and parts dropped, its
# waiters woken, its lease gone and its callback scheduled (shared by START, REQUEUE and
# the page tasks' scripts in jobs/parts.py).
FAIL_EXHAUSTED = SCHEDULE_CALLBACK + DROP_PARTS + """
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

# KEYS: job, done list, upload, leases, callbacks, parts, part leases. ARGV: now, deadline, worker,
# max attempts, failure error JSON, job id, lease seconds. A job is taken from queued; from
# running only when its lease lapsed (its child died and its message came back before the
# reaper re-queued it). A job running under a live lease is "held": this message is a
# duplicate and is dropped; so is one for a job already split into page tasks ("fanned").
# The same worker starting its own running job again (a retried call) gets its attempt back.
START = FAIL_EXHAUSTED + CLOCK + """
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
RENEW = CLOCK + """
local cur = redis.call('HGET', KEYS[1], 'status')
if cur == 'running' and redis.call('HGET', KEYS[1], 'worker') == ARGV[2]
    and redis.call('HEXISTS', KEYS[1], 'parts') == 0 then
  redis.call('ZADD', KEYS[2], clock + tonumber(ARGV[3]), ARGV[1])
end
return cur or ''
"""

# KEYS: job, leases. ARGV: job id. The gateway sent the queue message: the job needs no
# lease until a worker starts it (which sets its running lease in the same step as the status).
ENQUEUED = """
if redis.call('HGET', KEYS[1], 'status') == 'queued' then redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1
"""

# KEYS: leases. ARGV: how many. The ids of jobs whose lease lapsed.
LAPSED = CLOCK + """
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', clock, 'LIMIT', 0, tonumber(ARGV[1]))
"""

# KEYS: job, done list, upload, leases, callbacks, parts, part leases. ARGV: job id, max attempts,
# failure error JSON, now, seconds a re-queued job may wait for a worker before its message is
# sent again. Returns {what, attempts, pages}: "requeued" (send it a message), "resend"
# (re-queued earlier but never taken: send another message), "exhausted" (failed), or ""
# (nothing to do: renewed, finished, split into page tasks or gone meanwhile; a stale lease
# is dropped).
REQUEUE = FAIL_EXHAUSTED + CLOCK + """
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

# Signals that mean the child crashed (native code failed), not that it was killed or stopped.
CRASH_SIGNALS = ("SIGSEGV", "SIGABRT", "SIGBUS", "SIGILL", "SIGFPE", "SIGSYS", "SIGTRAP")


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
