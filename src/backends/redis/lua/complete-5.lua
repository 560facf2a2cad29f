-- complete: record the success of leased attempts, one answer per item; release the tasks'
-- dependents in the same step, and complete runs whose last task this was.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     number of items, then per item: task id, token, holder agent id, result JSON, how
--             long the handler ran in ms ('' when its worker did not say)
-- ARGV[4 + n * 5 ..]  optional: the lines the items carry (includes/logs.lua carried_at: per
--             item, its lines' streams and levels in one argument, then their texts), stored in
--             the same step as the outcomes: a held lease's as its success is recorded (its
--             claim's log record written with the task's other fields), any other's after (a
--             refused complete's lines are still what its attempt printed: kept when the item's
--             agent ran that claim, as append-logs-1.lua would)
-- Returns     per item { 'ok', state }, or a refusal (includes/lease.lua): a lease the item's
--             agent does not hold is left as it is
--
-- Per-task keys (t:<id>, al:<agent>, dn:<id>, run:<id>, q:<rs>) are derived from the prefix.
-- The succeeded attempt gets no record of its own: it is read from the task's fields (agent,
-- started, finished, rms: the handler's run time), like a running one (codec.ts toAttempts). Each success counts for its
-- agent and type in agent-stats:<agent> (`<type>|s`, and the run time claim to now in
-- `<type>|ms`), summed per agent and type and written once, and is progress of the agent.

--@include common
--@include graph
--@include lease
--@include logs

-- The answer of every success (one table: the reply is converted, not kept).
local OK_SUCCEEDED = { 'ok', 'succeeded' }
-- task.succeeded's data for an attempt without a run time, and a stored time as a number (nil
-- when absent).
local attempt_data = per_text(function(att) return '{"attempt":' .. (att or '0') .. '}' end)
local time_of = per_text(function(s) return s and tonumber(s) end)

local n = tonumber(ARGV[3])
-- The lines the items carry (stored in this same step as their outcomes): where each item's
-- are, the items whose lines were stored with their success (item -> true), and the last seq
-- given.
local logs_at = #ARGV > 3 + n * 5 and 4 + n * 5 or nil
local carried = carried_at(logs_at, n)
local stored = {}
local log_seq = nil
local out = {}
-- Leases that end here, dropped together at the end (drop_leases: one command per set).
local ended_ids, ended_agents, ended_counted = {}, {}, {}
-- agent -> type -> { successes, total run ms }
local counted = {}
for i = 1, n do
  local base = 3 + (i - 1) * 5
  local id, token, holder = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  local ck = tkey(id)
  -- The lines this item carries, if any; then its claim's log record is read too (v[12]).
  local item = carried and ARGV[carried[i]] ~= ''
  local v
  local lg = nil
  if item then
    lg = 'lg:' .. token
    v = redis.call('HMGET', ck, 'state', 'tok', 'lease', 'agent', 'run', 'att', 'hasDn', 'type', 'started',
      'c:' .. token, 'rn', lg)
  else
    v = redis.call('HMGET', ck, 'state', 'tok', 'lease', 'agent', 'run', 'att', 'hasDn', 'type', 'started',
      'c:' .. token, 'rn')
  end
  -- The usual case, a running task held by the item's agent, whose token is the one stored (the
  -- same text: both are the integer's decimal form) and whose lease holds, is checked without
  -- parsing the token; anything else gets refusal()'s full check.
  local refused = nil
  if not (v[1] == 'running' and v[4] == holder and v[2] == token and (time_of(v[3]) or -1) >= NOW) then
    local t = nil
    if v[1] then
      t = { id = id, state = v[1], tok = tonumber(v[2]) or 0, lease = tonumber(v[3]), agent = v[4] or '' }
    end
    refused = refusal(t, holder, tonumber(token))
  end
  if refused then
    out[i] = refused
  else
    local agent, run = v[4] or '', v[5] or ''
    ended_ids[#ended_ids + 1] = id
    ended_agents[#ended_agents + 1] = agent
    ended_counted[#ended_counted + 1] = v[11] == '1'
    local run_ms = ARGV[base + 5]
    -- The attempt's last lines, and its claim's log record to write with the task's fields.
    local record = nil
    if item then
      local seq
      seq, record = log_carried(logs_at, carried, i, id, token, v[6], agent, v[12] or nil, log_seq)
      if seq then
        log_seq = seq
        stored[i] = true
      end
    end
    if record then
      if run_ms == '' then
        redis.call('HSET', ck, 'state', 'succeeded', 'result', ARGV[base + 4], 'lease', '', 'finished', NOWS, 'updated', NOWS,
          lg, record)
      else
        redis.call('HSET', ck, 'state', 'succeeded', 'result', ARGV[base + 4], 'lease', '', 'finished', NOWS, 'updated', NOWS,
          'rms', run_ms, lg, record)
      end
    elseif run_ms == '' then
      redis.call('HSET', ck, 'state', 'succeeded', 'result', ARGV[base + 4], 'lease', '', 'finished', NOWS, 'updated', NOWS)
    else
      redis.call('HSET', ck, 'state', 'succeeded', 'result', ARGV[base + 4], 'lease', '', 'finished', NOWS, 'updated', NOWS,
        'rms', run_ms)
    end
    if v[10] then
      -- The attempt's model calls cost something (record-usage-10.lua): its event says what.
      emit('task.succeeded', id, run, agent, '{"attempt":' .. (v[6] or '0') ..
        (run_ms == '' and '' or (',"runMs":' .. run_ms)) .. ',"costUsd":' .. usd_text(tonumber(v[10])) .. '}')
    elseif run_ms == '' then
      emit('task.succeeded', id, run, agent, attempt_data(v[6]))
    else
      emit('task.succeeded', id, run, agent, '{"attempt":' .. (v[6] or '0') .. ',"runMs":' .. run_ms .. '}')
    end
    moved(run, 'running', 'succeeded')
    if v[7] == '1' then settle_dependents(id, redis.call('HGET', ck, 'key') or '', 'succeeded') end
    if agent ~= '' and v[8] then
      progressed[agent] = true
      local by_type = counted[agent]
      if not by_type then
        by_type = {}
        counted[agent] = by_type
      end
      local c = by_type[v[8]]
      if not c then
        c = { 0, 0 }
        by_type[v[8]] = c
      end
      c[1] = c[1] + 1
      c[2] = c[2] + math.max(0, NOW - (time_of(v[9]) or NOW))
    end
    out[i] = OK_SUCCEEDED
  end
end
drop_leases(ended_ids, ended_agents, ended_counted)
for agent, by_type in pairs(counted) do
  local sk = P .. 'agent-stats:' .. agent
  for ttype, c in pairs(by_type) do
    redis.call('HINCRBY', sk, ttype .. '|s', int_str(c[1]))
    redis.call('HINCRBY', sk, ttype .. '|ms', int_str(c[2]))
  end
end
mark_progress()
if log_seq then redis.call('SET', P .. 'lseq', int_str(log_seq)) end
if carried then append_carried(logs_at, carried, n, 5, stored, nil) end
finish()
return out
