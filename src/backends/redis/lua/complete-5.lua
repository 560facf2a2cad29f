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
-- started, finished), like a running one (codec.ts toAttempts). Each success counts for its
-- agent and type in agent-stats:<agent> (`<type>|s`, and the run time claim to now in
-- `<type>|ms`), summed per agent and type and written once, and is progress of the agent.

--@include common
--@include graph
--@include lease

local n = tonumber(ARGV[3])
local out = {}
-- Leases that end here, dropped together at the end (drop_leases: one command per set).
local ended = {}
-- agent -> type -> { successes, total run ms }
local counted = {}
for i = 1, n do
  local base = 3 + (i - 1) * 3
  local id, token = ARGV[base + 1], tonumber(ARGV[base + 2])
  local ck = tkey(id)
  local v = redis.call('HMGET', ck, 'state', 'tok', 'lease', 'agent', 'run', 'att', 'hasDn', 'key', 'type',
    'started')
  local t = nil
  if v[1] then
    t = { id = id, state = v[1], tok = tonumber(v[2]) or 0, lease = tonumber(v[3]), agent = v[4] or '', run = v[5] or '' }
  end
  local refused = refusal(t, token, false)
  if refused then
    out[i] = refused
  else
    ended[#ended + 1] = t
    redis.call('HSET', ck, 'state', 'succeeded', 'result', ARGV[base + 3], 'lease', '', 'finished', NOWS, 'updated', NOWS)
    moved(t.run, 'running', 'succeeded')
    emit('task.succeeded', id, t.run, t.agent, '{"attempt":' .. (v[6] or '0') .. '}')
    if v[7] == '1' then settle_dependents(id, v[8] or '', 'succeeded') end
    if t.agent ~= '' and v[9] then
      progressed[t.agent] = true
      local by_type = counted[t.agent]
      if not by_type then
        by_type = {}
        counted[t.agent] = by_type
      end
      local c = by_type[v[9]]
      if not c then
        c = { 0, 0 }
        by_type[v[9]] = c
      end
      c[1] = c[1] + 1
      c[2] = c[2] + math.max(0, NOW - (tonumber(v[10]) or NOW))
    end
    out[i] = { 'ok', 'succeeded' }
  end
end
drop_leases(ended)
for agent, by_type in pairs(counted) do
  local sk = P .. 'agent-stats:' .. agent
  for ttype, c in pairs(by_type) do
    redis.call('HINCRBY', sk, ttype .. '|s', c[1])
    redis.call('HINCRBY', sk, ttype .. '|ms', c[2])
  end
end
mark_progress()
finish()
return out
