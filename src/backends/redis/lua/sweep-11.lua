-- sweep: housekeeping any process may run; idempotent. In this order: leases that ran out
-- (attempt lease_expired, task retried at once or failed), promotion of delayed tasks that are
-- due, agents silent for longer than the TTL (declared lost, their leases released at once as
-- agent_lost), stalled agents (recovered, then newly stalled), clean-up of abandoned
-- submissions. Attempts past their timeout are only listed: their retry delay follows the
-- task's backoff policy, computed by the client, which then calls sweep-timeouts.
--
-- Stalls (backend.ts SweepOptions.stallAfterMs): an active agent is stalled when its worker loop
-- made no progress (field `prog`: a renew, or a complete/fail of its lease) for longer than
-- stallAfterMs while it owed some: a running task it holds (not past its timeout: that one is
-- timed out by this sweep) was claimed before that, or an attempt of it the sweep timed out
-- before that (field `ovd`, set by sweep-timeouts) is still unreported (ovd > prog). It is
-- declared once (field `stall`, event agent.stalled) and recovers once `prog` passes `stall`
-- (event agent.recovered).
--
-- Several processes sweeping one namespace coordinate through a lock: the process that swept
-- holds it for `lockMs` (renewing it each time it sweeps); the others' sweeps return at once
-- while it is held.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     hb          zset active agent id -> last heartbeat
-- KEYS[7]     lock        string, the id of the process that sweeps
-- KEYS[8]     tasks       zset task id -> seq
-- KEYS[9]     pending     zset staged submission -> stage time
-- KEYS[10]    publishing  zset committed submission -> commit time
-- KEYS[11]    pubcur      hash submission -> publish cursor
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     agent TTL in ms
-- ARGV[4]     id of the sweeping process
-- ARGV[5]     lock duration in ms (0: no coordination)
-- ARGV[6]     most items per kind handled by one sweep
-- ARGV[7]     age (ms) after which a staged, uncommitted submission is abandoned
-- ARGV[8]     age (ms) after which a committed submission's publishing is finished by the sweep
-- ARGV[9]     stallAfterMs (0: no stall detection; recoveries are still recorded)
-- ARGV[10]    number of spared agents, then their ids: past the TTL, but not declared lost in
--             this sweep (the caller saw their processes alive; SweepOptions.spare)
-- Returns     { 'skipped' } when another process holds the lock, else
--             { 'ok', expired, promoted, { lost agent ids }, released,
--               { timed-out task id, token, attempt, spec JSON (for its backoff), timeoutMs, ... },
--               { stalled agent ids }, { recovered agent ids } }

local K_HB, K_LOCK, K_TASKS, K_PENDING, K_PUBLISHING, K_PUBCUR = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local K_RUNS, K_IDEM, K_SEQ, K_QUEUES, K_QUEUE_IDS, K_FILTERS = nil, nil, nil, nil, nil, nil

--@include common
--@include graph
--@include lease
--@include registry
--@include submit

local ttl, holder, lock_ms, limit = tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
if lock_ms > 0 then
  local current = redis.call('GET', K_LOCK)
  if current and current ~= holder then return { 'skipped' } end
  redis.call('SET', K_LOCK, holder, 'PX', lock_ms)
end

local expired, timed = 0, {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_RUNNING, '-inf', '(' .. NOWS, 'LIMIT', 0, limit)) do
  local t = lease_of(id)
  if not t or t.state ~= 'running' then
    redis.call('ZREM', K_RUNNING, id)
  elseif t.lease and t.lease < NOW then
    end_attempt(t, 'lease_expired', '{"message":' .. jstr('the lease of agent ' .. t.agent .. ' expired at ' ..
      t.lease .. ' without a renew') .. ',"code":"BATON_LEASE_LOST","retryable":true}', true, 0)
    expired = expired + 1
  elseif t.dl and t.dl < NOW then
    timed[#timed + 1] = id
    timed[#timed + 1] = t.tok
    timed[#timed + 1] = t.att
    timed[#timed + 1] = redis.call('HGET', tkey(id), 'spec')
    timed[#timed + 1] = t.tmo
  end
end

local promoted = promote_due(limit)

local spared = {}
for i = 1, tonumber(ARGV[10]) do spared[ARGV[10 + i]] = true end

local lost, released = {}, 0
for _, agent in ipairs(redis.call('ZRANGEBYSCORE', K_HB, '-inf', '(' .. (NOW - ttl), 'LIMIT', 0, limit)) do
  local ak = P .. 'a:' .. agent
  local last = redis.call('HGET', ak, 'hb') or '0'
  if spared[agent] then
    -- Kept in the heartbeat index: the next sweep asks about it again.
  elseif redis.call('HGET', ak, 'state') ~= 'active' then
    redis.call('ZREM', K_HB, agent)
  else
    redis.call('ZREM', K_HB, agent)
    redis.call('HSET', ak, 'state', 'lost')
    lost[#lost + 1] = agent
    emit('agent.lost', '', '', agent, '{"lastHeartbeatAt":' .. last .. ',"agentTtlMs":' .. ttl .. '}')
    local err = '{"message":' .. jstr('agent ' .. agent .. ' was declared lost: no heartbeat for over ' .. ttl ..
      ' ms') .. ',"code":"BATON_AGENT_LOST","retryable":true}'
    for _, id in ipairs(redis.call('SMEMBERS', P .. 'al:' .. agent)) do
      local t = lease_of(id)
      if t and t.state == 'running' and t.agent == agent then
        end_attempt(t, 'agent_lost', err, true, 0)
        released = released + 1
      end
    end
    redis.call('DEL', P .. 'al:' .. agent)
    -- (`<id>|s`: the stall mark earlier builds kept in ar, before the `stalled` hash.)
    redis.call('HDEL', P .. 'ar', agent, agent .. '|n', agent .. '|s')
    redis.call('HDEL', P .. 'stalled', agent)
  end
end

local stall_after = tonumber(ARGV[9])
local stalled, recovered = {}, {}
for _, agent in ipairs(redis.call('ZRANGE', K_HB, 0, limit - 1)) do
  local ak = P .. 'a:' .. agent
  local a = redis.call('HMGET', ak, 'state', 'stall', 'prog', 'ovd', 'started')
  local prog = tonumber(a[3]) or tonumber(a[5]) or 0
  local stall = tonumber(a[2])
  if a[1] ~= 'active' then
    -- not ours to judge: only active agents are in hb, but a stale entry may linger
  elseif stall then
    if prog > stall then
      redis.call('HSET', ak, 'stall', '')
      redis.call('HDEL', P .. 'stalled', agent)
      recovered[#recovered + 1] = agent
      emit('agent.recovered', '', '', agent, '{"stalledAt":' .. a[2] .. ',"stalledForMs":' .. (NOW - stall) .. '}')
    else
      -- Still stalled: marked where a routed claim looks (includes/routing.lua contenders_of).
      redis.call('HSET', P .. 'stalled', agent, a[2])
    end
  elseif stall_after > 0 and prog < NOW - stall_after then
    local cutoff = NOW - stall_after
    local ovd = tonumber(a[4])
    local reason = nil
    if ovd and ovd > prog and ovd < cutoff then
      reason = 'timeout'
    else
      -- A task past its timeout is left out: sweep-timeouts ends it next, making it owed (ovd).
      for _, id in ipairs(redis.call('SMEMBERS', P .. 'al:' .. agent)) do
        local f = redis.call('HMGET', tkey(id), 'state', 'agent', 'started', 'dl')
        local dl = tonumber(f[4])
        if f[1] == 'running' and f[2] == agent and (tonumber(f[3]) or NOW) < cutoff and not (dl and dl < NOW) then
          reason = 'no_progress'
          break
        end
      end
    end
    if reason then
      redis.call('HSET', ak, 'stall', NOWS)
      redis.call('HSET', P .. 'stalled', agent, NOWS)
      stalled[#stalled + 1] = agent
      emit('agent.stalled', '', '', agent, '{"reason":"' .. reason .. '","lastProgressAt":' .. prog ..
        ',"stallAfterMs":' .. stall_after .. '}')
    end
  end
end

-- Submissions whose client died: drop one that never committed, finish publishing one that did.
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', K_PENDING, '-inf', NOW - tonumber(ARGV[7]), 'LIMIT', 0, 10)) do
  drop_staged(sid)
end
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', K_PUBLISHING, '-inf', NOW - tonumber(ARGV[8]), 'LIMIT', 0, 10)) do
  local cursor = tonumber(redis.call('HGET', K_PUBCUR, sid) or '-1')
  local budget = limit
  while cursor >= 0 and budget > 0 do
    cursor = publish_chunk(sid, cursor, math.min(500, budget))
    budget = budget - 500
  end
  if cursor < 0 then redis.call('ZREM', K_PUBLISHING, sid) end
end

finish()
return { 'ok', expired, promoted, lost, released, timed, stalled, recovered }
