-- complete: record the success of leased attempts, one answer per item; release the tasks'
-- dependents in the same step, and complete runs whose last task this was.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     number of items, then per item: task id, token, result JSON
-- Returns     per item { 'ok', state } or { status, reason } ('lease_lost', 'not_found')
--
-- Per-task keys (t:<id>, al:<agent>, dn:<id>, run:<id>, q:<rs>) are derived from the prefix.
-- The succeeded attempt gets no record of its own: it is read from the task's fields (agent,
-- started, finished), like a running one (codec.ts toAttempts).

--@include common
--@include graph
--@include lease

local n = tonumber(ARGV[3])
local out = {}
for i = 1, n do
  local base = 3 + (i - 1) * 3
  local id, token = ARGV[base + 1], tonumber(ARGV[base + 2])
  local ck = tkey(id)
  local v = redis.call('HMGET', ck, 'state', 'tok', 'lease', 'agent', 'run', 'att', 'hasDn', 'key')
  local t = nil
  if v[1] then
    t = { id = id, state = v[1], tok = tonumber(v[2]) or 0, lease = tonumber(v[3]), agent = v[4] or '', run = v[5] or '' }
  end
  local refused = refusal(t, token, false)
  if refused then
    out[i] = refused
  else
    drop_lease(t)
    redis.call('HSET', ck, 'state', 'succeeded', 'result', ARGV[base + 3], 'lease', '', 'finished', NOWS, 'updated', NOWS)
    moved(t.run, 'running', 'succeeded')
    emit('task.succeeded', id, t.run, t.agent, '{"attempt":' .. (v[6] or '0') .. '}')
    if v[7] == '1' then settle_dependents(id, v[8] or '', 'succeeded') end
    out[i] = { 'ok', 'succeeded' }
  end
end
finish()
return out
