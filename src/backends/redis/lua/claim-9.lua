-- claim: lease up to `max` ready tasks an agent takes (it has every capability a task requires
-- and, when it names types, handles the task's type), in claim order (priority, then critical
-- path, then FIFO), after promoting delayed tasks that are due.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     agent      hash of the claiming agent (a:<agent id>)
-- KEYS[7]     inflight   set of the task ids the agent holds (al:<agent id>)
-- KEYS[8]     queues     hash queue id -> queue JSON (includes/registry.lua)
-- KEYS[9]     filters    hash filter JSON -> filter id
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     agent id
-- ARGV[4]     the claim's filter JSON: [[sorted capabilities]] for any type, or
--             [[sorted capabilities], [sorted types]] (includes/registry.lua)
-- ARGV[5]     max tasks to lease
-- ARGV[6]     lease duration in ms
-- ARGV[7]     most delayed tasks to promote first
-- ARGV[8..]   the task fields to return (codec.ts LEASE_FIELDS), starting with state, tok, att,
--             tmo, run, dids
-- Returns     { 'agent_lost' } when the agent is not registered and active; else { 'ok', lease... }
--             where a lease is { the values of those fields before the claim, token, attempt,
--             { dependency id, state, result, error, ... } in dependsOn order }
--
-- The running attempt is not written here: while a task runs, its attempt is read from the
-- task's own fields (codec.ts toAttempts); ending the attempt writes its record.
--
-- The ready queues the filter takes are derived from the prefix (q:<q> for each q in fq:<f>):
-- which ones is data, known only here. They share the prefix's hash tag.

local K_AGENT, K_INFLIGHT, K_QUEUES, K_FILTERS = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local K_QUEUE_IDS = nil

--@include common
--@include registry

local agent = ARGV[3]
if redis.call('HGET', K_AGENT, 'state') ~= 'active' then return { 'agent_lost' } end
promote_due(tonumber(ARGV[7]))
local max, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
local out = { 'ok' }
if max > 0 then
  local f = filter_id(ARGV[4])
  local queues = redis.call('SMEMBERS', P .. 'fq:' .. f)
  local picked = {}
  if #queues == 1 then
    local popped = redis.call('ZPOPMIN', P .. 'q:' .. queues[1], max)
    for i = 1, #popped, 2 do picked[#picked + 1] = popped[i] end
  elseif #queues > 1 then
    -- The first `max` of each queue, merged: score (priority, critical path), then member
    -- (zero-padded seq: FIFO).
    local candidates = {}
    for _, q in ipairs(queues) do
      local r = redis.call('ZRANGE', P .. 'q:' .. q, 0, max - 1, 'WITHSCORES')
      for i = 1, #r, 2 do candidates[#candidates + 1] = { tonumber(r[i + 1]), r[i], q } end
    end
    table.sort(candidates, function(a, b)
      if a[1] ~= b[1] then return a[1] < b[1] end
      return a[2] < b[2]
    end)
    for i = 1, math.min(max, #candidates) do
      redis.call('ZREM', P .. 'q:' .. candidates[i][3], candidates[i][2])
      picked[#picked + 1] = candidates[i][2]
    end
  end

  -- The task fields a lease carries, positionally (ARGV[8..], codec.ts LEASE_FIELDS); the
  -- first six are the ones the claim itself needs.
  local fields = {}
  for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
  local expires = NOW + ttl
  local expires_s = tostring(expires)
  for _, member in ipairs(picked) do
    local id = string.sub(member, string.find(member, ':', 1, true) + 1)
    local ck = tkey(id)
    local v = redis.call('HMGET', ck, unpack(fields))
    if v[1] == 'ready' then
      local tok = tostring((tonumber(v[2]) or 0) + 1)
      local att = tostring((tonumber(v[3]) or 0) + 1)
      local run = v[5] or ''
      if v[4] then
        local dl = NOW + tonumber(v[4])
        local dl_s = tostring(dl)
        redis.call('HSET', ck, 'state', 'running', 'tok', tok, 'att', att, 'agent', agent, 'lease', expires_s,
          'started', NOWS, 'updated', NOWS, 'dl', dl_s)
        if dl < expires then redis.call('ZADD', K_RUNNING, dl_s, id) else redis.call('ZADD', K_RUNNING, expires_s, id) end
      else
        redis.call('HSET', ck, 'state', 'running', 'tok', tok, 'att', att, 'agent', agent, 'lease', expires_s,
          'started', NOWS, 'updated', NOWS)
        redis.call('ZADD', K_RUNNING, expires_s, id)
      end
      redis.call('SADD', K_INFLIGHT, id)
      moved(run, 'ready', 'running')
      emit('task.claimed', id, run, agent, '{"attempt":' .. att .. ',"token":' .. tok .. '}')
      local deps = {}
      if v[6] then
        for dep in string.gmatch(v[6], '%S+') do
          local d = redis.call('HMGET', tkey(dep), 'state', 'result', 'error')
          deps[#deps + 1] = dep
          deps[#deps + 1] = d[1] or ''
          deps[#deps + 1] = d[2] or ''
          deps[#deps + 1] = d[3] or ''
        end
      end
      out[#out + 1] = { v, tok, att, deps }
    end
  end

  -- Work left for this filter: the next idle worker with the same filter wakes up (and so on,
  -- one claim at a time). None left: a marker would only wake a worker for nothing.
  local left = false
  for _, q in ipairs(queues) do
    if redis.call('ZCARD', P .. 'q:' .. q) > 0 then
      left = true
      break
    end
  end
  if left then
    redis.call('ZADD', P .. 'w:' .. f, 0, 'm')
  else
    redis.call('ZREM', P .. 'w:' .. f, 'm')
    for _, q in ipairs(queues) do woken[q] = nil end
  end
end
finish()
return out
