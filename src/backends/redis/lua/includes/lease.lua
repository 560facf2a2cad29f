-- includes/lease.lua: checking a lease and ending an attempt. Needs common.lua and graph.lua.
--
-- Per-task keys it touches: t:<id>, al:<agent> (set of the task ids an agent holds), q:<q>,
-- plus the common delayed and running zsets.

-- What settling a lease needs to know about a task; nil when the task does not exist.
local function lease_of(id)
  local v = redis.call('HMGET', tkey(id), 'state', 'tok', 'lease', 'agent', 'run', 'att', 'maxAtt',
    'started', 'hasDn', 'key', 'q', 'qs', 'qm', 'dl', 'tmo', 'rn')
  if not v[1] then return nil end
  return {
    id = id, state = v[1], tok = tonumber(v[2]) or 0, lease = tonumber(v[3]), agent = v[4] or '',
    run = v[5] or '', att = tonumber(v[6]) or 0, maxAtt = tonumber(v[7]) or 1, started = v[8] or '',
    hasDn = v[9] == '1', key = v[10] or '', q = v[11], qs = v[12], qm = v[13], dl = tonumber(v[14]),
    tmo = v[15] or '', rn = v[16] == '1',
  }
end

-- nil when `agent` holds the lease of `t` now with `token` (its holder, the current token,
-- running, not expired); otherwise the answer for the item: { 'not_found' }, or { 'refused',
-- state, token, lease expiry ('' for none), holder ('' for none), now }: what was found, for the
-- client to say why (src/backends/refusals.ts, the same words for every backend).
local function refusal(t, agent, token)
  if not t then return { 'not_found' } end
  if t.agent == agent and t.tok == token and t.state == 'running' and t.lease and t.lease >= NOW then
    return nil
  end
  return { 'refused', t.state, tostring(t.tok), t.lease and tostring(t.lease) or '', t.agent, NOWS }
end

-- The agent's worker loop reported an attempt (complete or fail): progress, for the stall rule
-- of sweep-11.lua. Collected while a script runs, written once per agent by mark_progress().
local progressed = {}

local function mark_progress()
  for agent in pairs(progressed) do
    local ak = P .. 'a:' .. agent
    if redis.call('HGET', ak, 'state') == 'active' then redis.call('HSET', ak, 'prog', NOWS) end
  end
  progressed = {}
end

-- Add `agent` to the task's failed agents (field fa), once.
local function add_failed_agent(ck, agent)
  local fa = redis.call('HGET', ck, 'fa')
  local list = {}
  if fa and fa ~= '' then list = cjson.decode(fa) end
  for _, a in ipairs(list) do
    if a == agent then return end
  end
  if #list == 0 then
    redis.call('HSET', ck, 'fa', '[' .. jstr(agent) .. ']')
  else
    redis.call('HSET', ck, 'fa', string.sub(fa, 1, -2) .. ',' .. jstr(agent) .. ']')
  end
end

-- The lease is over: the task leaves the running index and its agent's in-flight set. A task a
-- routed claim leased (task field rn = '1') is counted in its agent's tasks in flight (ar, field
-- `<agent>|n`: where routed claims read it, see includes/routing.lua contenders_of), which goes
-- down with it; with routing off nothing is counted, and nothing is written here.
local function drop_lease(t)
  redis.call('ZREM', K_RUNNING, t.id)
  if t.agent ~= '' and redis.call('SREM', P .. 'al:' .. t.agent, t.id) > 0 and t.rn then
    redis.call('HINCRBY', P .. 'ar', t.agent .. '|n', '-1')
  end
end

-- drop_lease for many tasks, ids[i] held by agents[i] ('' for none), counted[i] true when a routed
-- claim leased it: one ZREM, and one SREM per agent (call_chunked).
local function drop_leases(ids, agents, counted)
  local by_agent, routed = {}, {}
  for i, id in ipairs(ids) do
    local agent = agents[i]
    if agent ~= '' then
      local held = by_agent[agent]
      if not held then
        held = {}
        by_agent[agent] = held
      end
      held[#held + 1] = id
      if counted[i] then routed[agent] = (routed[agent] or 0) + 1 end
    end
  end
  call_chunked('ZREM', K_RUNNING, ids)
  for agent, held in pairs(by_agent) do
    if routed[agent] then
      -- Its count goes down by the counted tasks that were still in its set.
      local gone = 0
      for i = 1, #held, CHUNK do
        gone = gone + redis.call('SREM', P .. 'al:' .. agent, unpack(held, i, math.min(i + CHUNK - 1, #held)))
      end
      gone = math.min(gone, routed[agent])
      if gone > 0 then redis.call('HINCRBY', P .. 'ar', agent .. '|n', int_str(-gone)) end
    else
      call_chunked('SREM', P .. 'al:' .. agent, held)
    end
  end
end

-- End a running attempt that did not succeed: record its outcome, then put the task back in the
-- queue (delayed by `delay` ms, or ready at once for 0) when `retryable` and attempts are left,
-- else fail it and settle its dependents. `err` is TaskError JSON; `run_ms` how long the handler
-- ran, as text, when its worker said (a fail; nil otherwise). Returns the new state.
local function end_attempt(t, outcome, err, retryable, delay, run_ms)
  local ck = tkey(t.id)
  local record = attempt_json(t.att, t.agent, t.started, NOWS, outcome, err, run_ms)
  local run_data = run_ms and (',"runMs":' .. run_ms) or ''
  -- What the attempt's model calls cost (field c:<token>, record-usage-10.lua), on its event.
  local cost = redis.call('HGET', ck, 'c:' .. t.tok)
  if cost then run_data = run_data .. ',"costUsd":' .. usd_text(tonumber(cost)) end
  drop_lease(t)
  -- The agent's counters (agent-stats:<agent>): a failure is its attempt failing or overrunning,
  -- not the agent going away (lease_expired, agent_lost), which says nothing of the task type.
  if t.agent ~= '' and (outcome == 'failed' or outcome == 'timed_out') then
    local ttype = redis.call('HGET', ck, 'type')
    if ttype then redis.call('HINCRBY', P .. 'agent-stats:' .. t.agent, ttype .. '|f', 1) end
  end
  -- Routing's fallback: a retry prefers agents the task has not failed on (field fa: JSON array
  -- of agent ids, each once; every way an attempt ends here counts, a graceful release does not).
  if t.agent ~= '' then add_failed_agent(ck, t.agent) end
  if retryable and t.att < t.maxAtt then
    local state
    if delay > 0 then
      state = 'delayed'
      local run_after = tostring(NOW + delay)
      redis.call('HSET', ck, 'state', state, 'runAfter', run_after, 'error', err, 'lease', '', 'dl', '',
        'updated', NOWS, 'a:' .. t.tok, record)
      redis.call('ZADD', K_DELAYED, run_after, t.id)
    else
      state = 'ready'
      redis.call('HSET', ck, 'state', state, 'error', err, 'lease', '', 'dl', '', 'updated', NOWS, 'a:' .. t.tok, record)
      push_ready(t.id, t.q, t.qs, t.qm)
    end
    moved(t.run, 'running', state)
    emit('task.retrying', t.id, t.run, t.agent, '{"attempt":' .. t.att .. ',"delayMs":' .. delay ..
      ',"outcome":"' .. outcome .. '","error":' .. err .. run_data .. '}')
    return state
  end
  redis.call('HSET', ck, 'state', 'failed', 'error', err, 'lease', '', 'dl', '', 'finished', NOWS, 'updated', NOWS,
    'a:' .. t.tok, record)
  moved(t.run, 'running', 'failed')
  emit('task.failed', t.id, t.run, t.agent, '{"attempt":' .. t.att .. ',"outcome":"' .. outcome .. '","error":' .. err ..
    run_data .. '}')
  if t.hasDn then settle_dependents(t.id, t.key, 'failed') end
  return 'failed'
end

-- Give a lease back without counting its attempt: the task is ready again at once, or delayed
-- for `delay` ms (a handler that deferred). Its token is kept, so the old holder stays fenced off.
-- A `release` call passes its delay (0 for none), which the event's data says; an agent leaving
-- passes none, and its event says none (as on every backend). Returns the new state.
local function release_attempt(t, reason, delay)
  drop_lease(t)
  local ck = tkey(t.id)
  local record = attempt_json(t.att, t.agent, t.started, NOWS, 'released', nil)
  local state
  if delay and delay > 0 then
    state = 'delayed'
    local run_after = tostring(NOW + delay)
    redis.call('HSET', ck, 'state', state, 'runAfter', run_after, 'att', t.att - 1, 'lease', '', 'dl', '',
      'updated', NOWS, 'a:' .. t.tok, record)
    redis.call('ZADD', K_DELAYED, run_after, t.id)
  else
    state = 'ready'
    redis.call('HSET', ck, 'state', state, 'att', t.att - 1, 'lease', '', 'dl', '', 'updated', NOWS,
      'a:' .. t.tok, record)
    push_ready(t.id, t.q, t.qs, t.qm)
  end
  moved(t.run, 'running', state)
  local data = '{"attempt":' .. t.att .. ',"reason":' .. jstr(reason)
  if delay then data = data .. ',"delayMs":' .. delay end
  emit('task.released', t.id, t.run, t.agent, data .. '}')
  return state
end

-- Cancel one task that is not terminal (ending its running attempt), without settling its
-- dependents (the caller does, once every task it cancels is cancelled).
local function cancel_one(id, state, reason)
  local t = lease_of(id)
  local err = '{"message":' .. jstr(reason) .. ',"code":"BATON_CANCELLED"}'
  local ck = tkey(id)
  local agent = ''
  if state == 'running' then
    agent = t.agent
    drop_lease(t)
    redis.call('HSET', ck, 'a:' .. t.tok, attempt_json(t.att, t.agent, t.started, NOWS, 'cancelled', err))
  elseif state == 'ready' then
    redis.call('ZREM', P .. 'q:' .. t.q, t.qm)
  elseif state == 'delayed' then
    redis.call('ZREM', K_DELAYED, id)
  end
  redis.call('HSET', ck, 'state', 'cancelled', 'error', err, 'lease', '', 'dl', '', 'finished', NOWS, 'updated', NOWS)
  moved(t.run, state, 'cancelled')
  emit('task.cancelled', id, t.run, agent, '{"reason":' .. jstr(reason) .. ',"from":"' .. state .. '"}')
  return t
end
