-- cancel-run: cancel every task of a running run that is not terminal, and end the run with a
-- run.cancelled event. Tasks are cancelled first, then dependents settled, so dependents inside
-- the run end cancelled rather than skipped (only tasks outside the run can still be blocked).
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     pending  zset staged submission -> stage time
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     run id
-- ARGV[4]     reason
-- Returns     { 'not_found' } or { 'ok' }
--
-- Reads the run's task index rt:<run> (derived from the prefix): O(tasks in the run).

local K_PENDING = KEYS[6]

--@include common
--@include graph
--@include lease

local run, reason = ARGV[3], ARGV[4]
local state = redis.call('HGET', rkey(run), 'state')
if not state then return { 'not_found' } end
if state ~= 'running' then return { 'ok' } end
local ids = redis.call('ZRANGE', P .. 'rt:' .. run, 0, -1)
local cancelled = {}
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', tkey(id), 'state', 'sub')
  -- A task of an addition still being staged is not the run's yet: its commit will find the
  -- run cancelled and drop it.
  local staged = f[2] and redis.call('ZSCORE', K_PENDING, f[2])
  if f[1] and not TERMINAL[f[1]] and not staged then cancelled[#cancelled + 1] = cancel_one(id, f[1], reason) end
end
for _, t in ipairs(cancelled) do
  if t.hasDn then settle_dependents(t.id, t.key, 'cancelled') end
end
cancelling[run] = reason
touch_run(run)
finish()
return { 'ok' }
