"""The job store's Lua scripts: each status change, and each write that depends on the record's
state, is one of these, run atomically by Redis (jobs/store.py calls them; the leases' own are
in jobs/leases.py, the page tasks' in jobs/parts.py).

Each script's comment gives its KEYS and ARGV. The fragments (CLOCK, SCHEDULE_CALLBACK,
DROP_PARTS) are pasted in front of the scripts that use them: Redis runs one text per script.
"""
from __future__ import annotations

# How long a "finished" notification waits for a BLPOP that may come a moment late (never
# longer than the job itself is kept).
DONE_LIST_TTL = 120

# Redis' clock, in seconds: leases are compared across machines, so no host's clock decides.
CLOCK = """
local t = redis.call('TIME')
local clock = tonumber(t[1]) + tonumber(t[2]) / 1e6
"""

# A finished job with a callback_url gets its delivery scheduled in the same script that set
# its final status: HSETNX makes it once per job, whichever process got there (jobs/callbacks.py).
SCHEDULE_CALLBACK = """
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
DROP_PARTS = """
local function drop_parts(job, parts, part_leases, id)
  local total = tonumber(redis.call('HGET', job, 'parts') or '-1')
  for n = 0, total do redis.call('ZREM', part_leases, id .. ':' .. n) end
  redis.call('DEL', parts)
end
"""

# KEYS: job, done list, upload, leases, output, callbacks, parts, part leases, the hash the guard
# field is read from (the job's, or its parts'). ARGV: allowed statuses (comma-separated),
# new status, terminal ("1"/"0"), guard field, guard value, job id, the number n of
# documents, the n documents' bytes, then field/value pairs to set. The record keeps its own
# TTL; every change restarts it, so a finished job lives that long, and its documents with it.
TRANSITION = SCHEDULE_CALLBACK + DROP_PARTS + """
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

# KEYS: job. ARGV: pages done, worker ("" for any). Records progress only while the job runs
# (a canceled or expired job is neither changed nor recreated) and returns the status, so the
# worker learns of a cancellation between pages; a run another worker has taken over since
# (its lease had lapsed) is told "" as if the job were gone.
PROGRESS = """
local cur = redis.call('HGET', KEYS[1], 'status')
if ARGV[2] ~= '' and cur == 'running' and redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] then return '' end
if cur == 'running' then redis.call('HSET', KEYS[1], 'progress_done', ARGV[1]) end
return cur or ''
"""

# KEYS: job. ARGV: field, value. Annotates a running job only (never recreates an expired one).
NOTE = """
if redis.call('HGET', KEYS[1], 'status') == 'running' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
"""

# KEYS: job, upload, leases, idempotency ("" for none). ARGV: ttl, lease expiry, idempotency
# value, the number n of files, the n files, then field/value pairs. Stores a new queued job;
# with an Idempotency-Key, only if the key is new (SET NX, kept as long as a result): else
# nothing is stored and the key's value ("<request hash> <job id>") is returned.
CREATE = """
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
CLAIM_CALLBACK = CLOCK + """
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
CALLBACK_OUTCOME = CLOCK + """
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

# KEYS: workers zset. ARGV: member, ttl ("" to only count). Uses Redis' clock, not ours.
HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
"""
