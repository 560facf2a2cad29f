-- claim: lease up to `max` ready tasks an agent takes (it has every capability a task requires
-- and, when it names types, handles the task's type), in claim order (priority, then critical
-- path, then FIFO), after promoting delayed tasks that are due. When other live agents could take
-- the same tasks, the routing rule (includes/routing.lua, docs/routing.md) decides which of them
-- this agent takes and which it leaves, for now, to a better-fitting peer.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     agent      hash of the claiming agent (a:<agent id>)
-- KEYS[7]     inflight   set of the task ids the agent holds (al:<agent id>)
-- KEYS[8]     queues     hash queue id -> queue JSON (includes/registry.lua)
-- KEYS[9]     filters    hash filter JSON -> filter id
-- KEYS[10]    hb         zset active agent id -> last heartbeat (routing: live peers)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     agent id
-- ARGV[4]     the claim's filter JSON: [[sorted capabilities]] for any type, or
--             [[sorted capabilities], [sorted types]] (includes/registry.lua)
-- ARGV[5]     max tasks to lease
-- ARGV[6]     lease duration in ms
-- ARGV[7]     most delayed tasks to promote first
-- ARGV[8]     the routing policy: enabled (1/0), loadHalfLifeMs, agentLiveMs, contenders,
--             historyMinRuns, preferWindowMs, fallbackGraceMs, successMargin, durationMargin,
--             durationMinDiffMs, separated by spaces (includes/routing.lua parse_policy)
-- ARGV[9..]   the task fields to return (codec.ts LEASE_FIELDS), starting with state, tok, att,
--             tmo, run, dids
-- Returns     { 'agent_lost' } when the agent is not registered and active; else
--             { 'ok', deferred until (epoch ms, or '' when no task was left to a peer), the time
--             the claim was stamped with (epoch ms: its tasks' startedAt), lease... }
--             where a lease is the values of those fields before the claim (the new token and
--             attempt are one more than tok and att), then, only for a task with dependencies,
--             { dependency id, state, result, error, ... } in dependsOn order
--
-- The running attempt is not written here: while a task runs, its attempt is read from the
-- task's own fields (codec.ts toAttempts); ending the attempt writes its record.
--
-- The ready queues the filter takes are derived from the prefix (q:<q> for each q in fq:<f>):
-- which ones is data, known only here. They share the prefix's hash tag, as do the peers' keys
-- (a:<id>, al:<id>, agent-stats:<id>) and the wake-up markers (w:<f>, wa:<id>).
--
-- Agent hash fields this script keeps for routing: cf (the filter id of its latest claim: which
-- tasks it takes), rc (its count of recently claimed tasks, decayed as of lc), lc (when it last
-- claimed a task); and fa:<filter id>, a zset of the agents claiming with that filter by their
-- load at their latest claim (a claim's contenders are the least loaded of them).

local K_AGENT, K_INFLIGHT, K_QUEUES, K_FILTERS, K_HB = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local K_QUEUE_IDS = nil

--@include common
--@include registry
--@include routing

local agent = ARGV[3]
local me = redis.call('HMGET', K_AGENT, 'state', 'cf', 'labels', 'conc', 'rc', 'lc')
if me[1] ~= 'active' then return { 'agent_lost' } end
-- This claim is the agent looking for work: a nudge left for it by another claim is consumed.
redis.call('DEL', P .. 'wa:' .. agent)
promote_due(tonumber(ARGV[7]))
local max, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
-- The routing policy is parsed whole only where a decision needs more than its first five
-- numbers (includes/routing.lua policy_head, parse_policy).
local policy_text = ARGV[8]
local p_enabled, p_half_life, p_live, p_contenders, p_min_runs = policy_head(policy_text)
local routing_enabled = p_enabled == '1'
local out = { 'ok', '', NOWS }
local leased = 0
local f = nil
local router = nil
if max > 0 then
  f = filter_id(ARGV[4])
  local queues = redis.call('SMEMBERS', P .. 'fq:' .. f)
  local picked = {}

  -- The first `limit` ready tasks of these queues in claim order, and each one's queue: merged by
  -- score (priority, critical path), then member (FIFO); one queue's in its order, read without
  -- its scores (Redis formats each score it replies with, and the script would parse it back).
  -- (The first `limit` of the merge are the first `limit` overall, so a longer read starts with
  -- a shorter one's.)
  local function read_candidates(limit)
    if #queues == 1 then return redis.call('ZRANGE', P .. 'q:' .. queues[1], '0', int_str(limit - 1)), nil end
    local merged = {}
    for _, q in ipairs(queues) do
      local r = redis.call('ZRANGE', P .. 'q:' .. q, '0', int_str(limit - 1), 'WITHSCORES')
      for i = 1, #r, 2 do merged[#merged + 1] = { r[i + 1] + 0, r[i], q } end
    end
    table.sort(merged, function(a, b)
      if a[1] ~= b[1] then return a[1] < b[1] end
      return a[2] < b[2]
    end)
    local candidates, from = {}, {}
    for i = 1, math.min(limit, #merged) do
      candidates[i] = merged[i][2]
      from[i] = merged[i][3]
    end
    return candidates, from
  end

  -- While routing is on, the claim's first page of candidates (twice its `max`, at least 4), read
  -- before its contenders: whether any task is ready, how many contenders it weighs (its first
  -- `max`), and where its routing starts; without a live peer, its first `max` are the claim.
  local first_size = math.max(2 * max, 4)
  local first, first_from = nil, nil
  if routing_enabled then first, first_from = read_candidates(first_size) end
  -- Routing applies when a task is ready and some live peer takes one of these queues; else the
  -- plain claim. (With nothing ready there is nothing to decide: an empty claim, as every idle
  -- agent makes, weighs no peer.)
  local any_ready = first ~= nil and #first > 0
  local overlapping, queues_of = nil, nil
  if any_ready then
    local mine = {}
    for _, q in ipairs(queues) do mine[q] = true end
    -- The claim's own filter's queues are known; another filter's are read once per claim.
    local filter_queues = { [f] = mine }
    queues_of = function(fid)
      local qs = filter_queues[fid]
      if not qs then
        qs = {}
        for _, q in ipairs(redis.call('SMEMBERS', P .. 'fq:' .. fid)) do qs[q] = true end
        filter_queues[fid] = qs
      end
      return qs
    end
    overlapping = overlapping_filters(mine, queues_of)
    -- No other agent takes these queues: the plain claim (below), reading nothing more.
    if alone_in(overlapping, agent) then any_ready = false end
  end
  if any_ready then
    local queue_types = {}
    -- What the rule needs of a candidate (member of queue q), read once per claim: its type,
    -- affinity rules, failed agents and when it last became ready.
    local tasks = {}
    local function task_of(member, q)
      local task = tasks[member]
      if task then return task end
      local id = string.sub(member, string.find(member, ':', 1, true) + 1)
      local v = redis.call('HMGET', tkey(id), 'aff', 'fa', 'type', 'updated')
      local ttype = v[3]
      if not ttype then
        ttype = queue_types[q]
        if not ttype then
          ttype = cjson.decode(redis.call('HGET', K_QUEUES, q))[1]
          queue_types[q] = ttype
        end
      end
      local failed = {}
      if v[2] and v[2] ~= '' then
        for _, a in ipairs(cjson.decode(v[2])) do failed[a] = true end
      end
      local since = tonumber(v[4])
      task = {
        type = ttype,
        aff = (v[1] and v[1] ~= '') and cjson.decode(v[1]) or {},
        failed = failed,
        -- When it became ready: `updated` (every move into ready writes it), or, for a task
        -- nobody touched since it was submitted, its creation time (the end of its spec).
        ready_since = function()
          if not since then
            local spec = redis.call('HGET', tkey(id), 'spec')
            since = tonumber(string.match(string.sub(spec or '', -40), '"createdAt":(%d+)}$')) or NOW
          end
          return since
        end,
      }
      tasks[member] = task
      return task
    end
    -- The claimer; its load is filled in below when it has peers.
    local self = { id = agent, labels_json = me[3], hist = {}, reserved = 0 }
    local min_runs = tonumber(p_min_runs)
    -- Its first `max` candidates say how many contenders it weighs (routing.ts contendersWeighed):
    -- only `max`, the least loaded, when load alone decides them.
    local weighed = tonumber(p_contenders)
    local by_load = true
    for i = 1, math.min(max, #first) do
      if not decided_by_load(task_of(first[i], first_from and first_from[i] or queues[1]), self, min_runs) then
        by_load = false
        break
      end
    end
    if by_load then weighed = math.min(weighed, math.max(1, max)) end
    local peers = contenders_of(agent, overlapping,
      { half_life = tonumber(p_half_life), live = tonumber(p_live), contenders = weighed }, queues_of)
    if #peers > 0 then
      local last = tonumber(me[6])
      self.conc = math.max(1, tonumber(me[4]) or 1)
      self.inflight = redis.call('SCARD', K_INFLIGHT)
      self.recent = decay_recent(tonumber(me[5]) or 0, last, tonumber(p_half_life))
      self.last_claim = last
      router = new_router(self, peers, parse_policy(policy_text), min_runs)
      router.task_of = task_of
    end
  end

  if router then
    -- Candidates are read in pages, first twice the claim's `max`: most claims take what they
    -- read. Tasks left to peers make it read further, up to what the peers could take before it.
    local budget = max
    for _, peer in ipairs(router.peers) do budget = budget + math.max(0, peer.conc - peer.inflight) end
    budget = math.min(budget, 1000)
    local limit = math.min(budget, first_size)
    local decided = 0
    local picked_from = {}
    while true do
      -- (The first page holds the first `limit` when it is as long: the first `limit` of a longer
      -- read are the same tasks.)
      local candidates, from = first, first_from
      if limit > first_size then candidates, from = read_candidates(limit) end
      local n = math.min(limit, #candidates)
      while decided < n and #picked < max do
        decided = decided + 1
        local member = candidates[decided]
        local q = from and from[decided] or queues[1]
        if route(router, router.task_of(member, q), function(peer) return peer.queues[q] == true end) then
          picked[#picked + 1] = member
          picked_from[#picked_from + 1] = q
        end
      end
      if #picked >= max or #candidates < limit or limit >= budget then break end
      limit = math.min(budget, limit * 4)
    end
    -- Out of the queues only now: a longer read must see the same tasks as the shorter one.
    for i, member in ipairs(picked) do redis.call('ZREM', P .. 'q:' .. picked_from[i], member) end
    if router.due then out[2] = tostring(router.due) end
  elseif first then
    -- Routing on, and no live peer: the first `max`, read already.
    for i = 1, math.min(max, #first) do
      picked[i] = first[i]
      if first_from then redis.call('ZREM', P .. 'q:' .. first_from[i], first[i]) end
    end
    if not first_from and #picked > 0 then
      redis.call('ZREMRANGEBYRANK', P .. 'q:' .. queues[1], '0', int_str(#picked - 1))
    end
  elseif #queues == 1 then
    -- ZPOPMIN without its scores: Redis formats each score it replies with, which costs more
    -- than the second command.
    local qk = P .. 'q:' .. queues[1]
    picked = redis.call('ZRANGE', qk, '0', int_str(max - 1))
    if #picked > 0 then redis.call('ZREMRANGEBYRANK', qk, '0', int_str(#picked - 1)) end
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

  -- The task fields a lease carries, positionally (ARGV[9..], codec.ts LEASE_FIELDS); the
  -- first six are the ones the claim itself needs.
  local fields = {}
  for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
  local expires = NOW + ttl
  -- Whether the agent's count of tasks in flight (ar `<agent>|n`, written below with its routing
  -- summary) counts these leases: while routing is on (includes/lease.lua drop_lease).
  local counted = (f and routing_enabled) and '1' or '0'
  local expires_s = int_str(expires)
  -- The running index and the agent's in-flight set are written once per claim (call_chunked),
  -- not once per task.
  local running, inflight = {}, {}
  local function running_add(score, id)
    running[#running + 1] = score
    running[#running + 1] = id
  end
  -- A stored counter (token, attempt; false: never set) plus one, as text.
  local next_of = per_text(function(s) return int_str((tonumber(s) or 0) + 1) end)
  -- The data of task.claimed per (attempt, token) text.
  local claimed_data = {}
  for _, member in ipairs(picked) do
    local id = string.sub(member, string.find(member, ':', 1, true) + 1)
    local ck = tkey(id)
    local v = redis.call('HMGET', ck, unpack(fields))
    if v[1] == 'ready' then
      local tok = next_of(v[2])
      local att = next_of(v[3])
      local run = v[5] or ''
      if v[4] then
        local dl = NOW + tonumber(v[4])
        local dl_s = int_str(dl)
        redis.call('HSET', ck, 'state', 'running', 'tok', tok, 'att', att, 'agent', agent, 'lease', expires_s,
          'started', NOWS, 'updated', NOWS, 'dl', dl_s, 'rn', counted)
        running_add(dl < expires and dl_s or expires_s, id)
      else
        redis.call('HSET', ck, 'state', 'running', 'tok', tok, 'att', att, 'agent', agent, 'lease', expires_s,
          'started', NOWS, 'updated', NOWS, 'rn', counted)
        running_add(expires_s, id)
      end
      inflight[#inflight + 1] = id
      moved(run, 'ready', 'running')
      local data_key = att .. ' ' .. tok
      local data = claimed_data[data_key]
      if not data then
        data = '{"attempt":' .. att .. ',"token":' .. tok .. '}'
        claimed_data[data_key] = data
      end
      emit('task.claimed', id, run, agent, data)
      if v[6] then
        local deps = {}
        for dep in string.gmatch(v[6], '%S+') do
          local d = redis.call('HMGET', tkey(dep), 'state', 'result', 'error')
          deps[#deps + 1] = dep
          deps[#deps + 1] = d[1] or ''
          deps[#deps + 1] = d[2] or ''
          deps[#deps + 1] = d[3] or ''
        end
        v[#fields + 1] = deps
      end
      out[#out + 1] = v
      leased = leased + 1
    end
  end
  call_chunked('ZADD', K_RUNNING, running)
  call_chunked('SADD', K_INFLIGHT, inflight)

  -- Work left for this filter that this claim did not leave to a peer: the next idle worker with
  -- the same filter wakes up (and so on, one claim at a time). Peers left tasks get their own
  -- nudge (wa:<id>). Nothing else left: a marker would only wake a worker for nothing.
  local left = 0
  for _, q in ipairs(queues) do left = left + redis.call('ZCARD', P .. 'q:' .. q) end
  local deferred = 0
  if router then
    deferred = router.deferred
    for peer in pairs(router.left_to) do redis.call('ZADD', P .. 'wa:' .. peer, '0', 'm') end
  end
  if left > deferred then
    redis.call('ZADD', P .. 'w:' .. f, '0', 'm')
  else
    redis.call('ZREM', P .. 'w:' .. f, 'm')
    for _, q in ipairs(queues) do woken[q] = nil end
  end
end

-- What routing keeps of the claim: the filter (which tasks this agent takes) and, when it took
-- tasks, its decayed count of recent claims; while routing is on, its load now (in flight, with
-- what it just claimed, plus recent claims, per slot) among its filter's agents (fa:<filter
-- id>), where other claims find their contenders. Written on every claim, even an empty one: an
-- agent that finished its tasks and comes back for more is seen as idle again.
local last = tonumber(me[6])
local recent = decay_recent(tonumber(me[5]) or 0, last, tonumber(p_half_life))
if leased > 0 then
  recent = recent + leased
  redis.call('HSET', K_AGENT, 'cf', f, 'rc', tostring(recent), 'lc', NOWS)
elseif f and me[2] ~= f then
  redis.call('HSET', K_AGENT, 'cf', f)
end
-- An agent leaves its former filter's index when it claims with another, routing on or off, so
-- that an agent in fa:<f> claims with f (contenders_of relies on it).
if f and me[2] and me[2] ~= f then redis.call('ZREM', P .. 'fa:' .. me[2], agent) end
if f and routing_enabled then
  local conc = math.max(1, tonumber(me[4]) or 1)
  -- (A routed claim read its tasks in flight before it leased: the new ones were not among them.)
  local inflight_now = router and router.self.inflight + leased or redis.call('SCARD', K_INFLIGHT)
  local load = (inflight_now + recent) / conc
  redis.call('ZADD', P .. 'fa:' .. f, tostring(load), agent)
  -- Its summary (includes/routing.lua summary_text) and count of tasks in flight, where
  -- contenders are read: rewritten when they changed (its recent claims, its filter, its tasks).
  if leased > 0 or me[2] ~= f then
    redis.call('HSET', P .. 'ar', agent, summary_text(f, conc, recent, leased > 0 and NOWS or me[6]), agent .. '|n',
      int_str(inflight_now))
  end
end
finish()
return out
