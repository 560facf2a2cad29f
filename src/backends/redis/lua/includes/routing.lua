-- includes/routing.lua: the claim-time routing rule (docs/routing.md), a line-by-line port of
-- src/core/routing.ts (compareAgents, ClaimRouter). Keep the two in step: the conformance suite
-- runs the same routing cases against the SQLite adapter (which uses the TypeScript) and this.
-- Needs common.lua, and the local K_HB (zset active agent id -> last heartbeat).
--
-- An agent view is a table { id, labels_json, labels (decoded on first use), conc, inflight,
-- recent, last_claim, hist = { type -> { s, f, ms } or false }, reserved, queues }. A task is
-- { type, aff (decoded rules or empty), failed (set of agent ids), ready_since() }.

-- The policy from the claim's routing argument: ten numbers, separated by spaces, in this order
-- (the first five first: see policy_head). The rest are parsed on the first read of one of them:
-- most routed claims read none (no peer beats the claimer, and what decides that is the head's
-- and the agents' numbers), and parsing all ten cost such a claim a tenth of its routing.
local POLICY_FIELDS = {
  'enabled', 'half_life', 'live', 'contenders', 'min_runs', 'prefer', 'grace', 'success_margin',
  'duration_margin', 'duration_min_diff',
}
local function parse_policy(text)
  return setmetatable({}, { __index = function(policy, key)
    local i = 0
    for word in string.gmatch(text, '%S+') do
      i = i + 1
      rawset(policy, POLICY_FIELDS[i], word + 0)
    end
    rawset(policy, 'enabled', rawget(policy, 'enabled') == 1)
    return rawget(policy, key)
  end })
end

-- The first five numbers of the routing argument, as text: whether routing is enabled ('1'),
-- the half-life of the count of recent claims, how recent a heartbeat makes a peer live, the
-- most contenders a claim weighs, and the runs of a type history needs (whether a task is
-- decided by load alone). Parsing all ten would cost a one-task claim more than the rest of its
-- arithmetic.
local function policy_head(text)
  return string.match(text, '^(%S+) (%S+) (%S+) (%S+) (%S+)')
end

-- routing.ts LOAD_TOLERANCE
local LOAD_TOLERANCE = 0.5 - 1e-9

-- routing.ts decayRecent
local function decay_recent(recent, at, half_life)
  if not at or recent <= 0 then return 0 end
  local age = NOW - at
  if age < 0 then age = 0 end
  return recent * 2 ^ (-age / half_life)
end

local function labels_of(view)
  if not view.labels then
    -- A contender's labels are read here, on first use (only a task with affinity rules needs them).
    if view.labels_json == nil then view.labels_json = redis.call('HGET', P .. 'a:' .. view.id, 'labels') or '{}' end
    local ok, decoded = pcall(cjson.decode, view.labels_json)
    if ok and type(decoded) == 'table' then view.labels = decoded else view.labels = {} end
  end
  return view.labels
end

-- The agent's counters for a task type (agent-stats:<agent>), read once per claim.
local function history_of(view, ttype)
  if not view.hist then view.hist = {} end
  local h = view.hist[ttype]
  if h == nil then
    local v = redis.call('HMGET', P .. 'agent-stats:' .. view.id, ttype .. '|s', ttype .. '|f', ttype .. '|ms')
    if v[1] or v[2] then
      h = { s = tonumber(v[1]) or 0, f = tonumber(v[2]) or 0, ms = tonumber(v[3]) or 0 }
    else
      h = false
    end
    view.hist[ttype] = h
  end
  return h
end

-- routing.ts affinityScore
local function affinity_score(rules, labels)
  local score = 0
  for _, rule in ipairs(rules) do
    if labels[rule.label] == rule.value then score = score + rule.weight end
  end
  return score
end

-- routing.ts compareHistory: < 0 when `a` is the better record, > 0 when `b` is, 0 otherwise.
local function compare_history(a, b, policy)
  local min = policy.min_runs
  if not a or not b or a.s + a.f < min or b.s + b.f < min then return 0 end
  local rate_a = (a.s + 1) / (a.s + a.f + 2)
  local rate_b = (b.s + 1) / (b.s + b.f + 2)
  if rate_a ~= rate_b and math.abs(rate_a - rate_b) >= policy.success_margin - 1e-9 then
    if rate_a > rate_b then return -1 end
    return 1
  end
  local successes = math.max(min, 1)
  if a.s < successes or b.s < successes then return 0 end
  local mean_a, mean_b = a.ms / a.s, b.ms / b.s
  local fast, slow = math.min(mean_a, mean_b), math.max(mean_a, mean_b)
  if slow - fast >= policy.duration_min_diff and slow > fast * (1 + policy.duration_margin) then
    if mean_a < mean_b then return -1 end
    return 1
  end
  return 0
end

-- routing.ts loadOf, with `extra` tasks this claim took (the claimer) or left to it (a peer).
local function load_of(view, extra)
  return (view.inflight + extra + view.recent) / view.conc
end

-- routing.ts compareAgents: order (< 0: `a` is the better fit) and the deciding criterion.
local function compare_agents(task, a, a_extra, b, b_extra, policy)
  local failed_a, failed_b = task.failed[a.id] == true, task.failed[b.id] == true
  if failed_a ~= failed_b then
    if failed_a then return 1, 'fallback' end
    return -1, 'fallback'
  end
  if #task.aff > 0 then
    local aff_a, aff_b = affinity_score(task.aff, labels_of(a)), affinity_score(task.aff, labels_of(b))
    if aff_a ~= aff_b then
      if aff_a > aff_b then return -1, 'affinity' end
      return 1, 'affinity'
    end
  end
  -- History counts only when both have min_runs of the type: read `b`'s (the claimer's, in a
  -- claim's comparisons) first, and the other's only when it does.
  local hist_b = history_of(b, task.type)
  if hist_b and hist_b.s + hist_b.f >= policy.min_runs then
    local h = compare_history(history_of(a, task.type), hist_b, policy)
    if h ~= 0 then return h, 'history' end
  end
  local diff = load_of(a, a_extra) - load_of(b, b_extra)
  if diff >= LOAD_TOLERANCE then return 1, 'load' end
  if diff <= -LOAD_TOLERANCE then return -1, 'load' end
  return 0, nil
end

-- routing.ts decidedByLoad: whether the claimer `self` weighs `task` by load alone.
local function decided_by_load(task, self, min_runs)
  if next(task.failed) ~= nil or #task.aff > 0 then return false end
  local h = history_of(self, task.type)
  return not (h and h.s + h.f >= min_runs)
end

-- routing.ts ClaimRouter#deferUntil: until when the claimer leaves `task` to `peer`; nil when
-- the peer has no slot for it.
local function defer_until(task, peer, criterion, policy)
  if criterion == 'fallback' then return task.ready_since() + policy.grace end
  if criterion ~= 'load' then
    if peer.inflight + peer.reserved < peer.conc then return task.ready_since() + policy.prefer end
    return nil
  end
  if peer.inflight >= peer.conc then return nil end
  local fresh = task.ready_since() + policy.prefer
  local active = 0
  if peer.last_claim then active = peer.last_claim + policy.prefer end
  return math.max(fresh, active)
end

-- `min_runs`: the policy's, parsed (policy_head), which every task's decision reads.
local function new_router(self, peers, policy, min_runs)
  return {
    self = self, peers = peers, policy = policy, min_runs = min_runs, taken = 0, deferred = 0, due = nil,
    left_to = {},
  }
end

-- routing.ts ClaimRouter#decide: true to take the task; false to leave it to a better peer.
-- `takes(peer)` says whether the peer can run it.
local function route(router, task, takes)
  local policy = router.policy
  local self = router.self
  local best, best_due = nil, nil
  -- What most claims decide: the task failed on no agent, has no affinity rules, and the
  -- claimer has too few runs of its type for history to count. compare_agents(peer, claimer) is
  -- then load alone, and only a peer with a free slot can be left the task (defer_until): the
  -- same arithmetic, in the same order, without a call per peer.
  local load_only = decided_by_load(task, self, router.min_runs)
  local self_load = load_only and load_of(self, router.taken) or nil
  -- Otherwise a peer with every slot taken can be left the task by fallback only (defer_until),
  -- and fallback prefers a peer only to a claimer the task failed on: else such a peer is not
  -- weighed at all, and its record (history_of) and labels are not read.
  local busy_count = task.failed[self.id] == true
  for _, peer in ipairs(router.peers) do
    -- Why the peer is the better fit, if it is.
    local criterion = nil
    if load_only then
      if peer.inflight < peer.conc and load_of(peer, peer.reserved) - self_load <= -LOAD_TOLERANCE then
        criterion = 'load'
      end
    elseif busy_count or peer.inflight < peer.conc then
      local order, c = compare_agents(task, peer, peer.reserved, self, router.taken, policy)
      if order < 0 then criterion = c end
    end
    if criterion then
      local due = defer_until(task, peer, criterion, policy)
      if due and due > NOW and takes(peer) then
        if not best or compare_agents(task, peer, peer.reserved, best, best.reserved, policy) < 0 then
          best, best_due = peer, due
        end
      end
    end
  end
  if not best then
    router.taken = router.taken + 1
    return true
  end
  best.reserved = best.reserved + 1
  router.deferred = router.deferred + 1
  router.left_to[best.id] = true
  if not router.due or best_due < router.due then router.due = best_due end
  return false
end

-- Whether a live agent's hash fields say it is stalled (as listAgents and sweep-11.lua tell it).
local function is_stalled(stall, prog, started)
  local at = tonumber(stall)
  if not at then return false end
  return (tonumber(prog) or tonumber(started) or 0) <= at
end

-- The namespace's claim filters that take one of the claim's queues (`mine`: set of queue ids).
local function overlapping_filters(mine, queues_of)
  local overlapping = {}
  for _, fid in ipairs(redis.call('HVALS', K_FILTERS)) do
    for q in pairs(queues_of(fid)) do
      if mine[q] then
        overlapping[#overlapping + 1] = fid
        break
      end
    end
  end
  return overlapping
end

-- Whether no agent but `self_id` claims with these filters: then the claim has no peer, and
-- nothing of routing need be read. (Only the common case is told: one filter, indexing at most
-- the claimer; false otherwise, and contenders_of finds out.)
local function alone_in(overlapping, self_id)
  if #overlapping ~= 1 then return #overlapping == 0 end
  local key = P .. 'fa:' .. overlapping[1]
  local n = redis.call('ZCARD', key)
  return n == 0 or (n == 1 and redis.call('ZSCORE', key, self_id) ~= false)
end

-- The routing summary a claim keeps of its agent (ar, field agent id), written with its place in
-- fa:<filter id>: 'filter id, concurrency, recent claims (decayed as of the last claim), last
-- claim', so that a claim reads all of its contenders' in one HMGET rather than each agent's
-- hash. rc and lc change only when the agent claims, conc only when it registers (which drops
-- the summary: a contender without one is read from its hash, as before).
local function summary_text(fid, conc, recent, last)
  return fid .. ' ' .. conc .. ' ' .. tostring(recent) .. ' ' .. (last or '')
end

-- The contenders of a claim (docs/routing.md, "Who counts"): other agents alive and pulling work
-- (active, heartbeat fresh, not stalled) whose claim filter takes one of the claim's queues
-- (`mine`: set of queue ids), at most `policy.contenders`, the least loaded first by their load
-- at their latest claim. Each filter keeps its agents by that load (fa:<filter id>, written by
-- every claim), so a claim reads the namespace's filters (a handful) and a few agents of each,
-- not every live agent. `queues_of(filter id)` gives a filter's queue set.
--
-- Per page of agents it runs three reads whatever the page's size: the page, their heartbeats
-- (hb: only active agents are in it) and, from one hash (ar), each one's summary and count of
-- tasks in flight (as it is now: every change of an agent's in-flight set keeps it). Stalled
-- agents are marked in a hash of their own (stalled, kept by sweep-11.lua): while it is empty,
-- as it nearly always is, a claim reads nothing of them; else the marks of its page, and the
-- progress of a marked agent. Its labels are read only when a task has affinity rules
-- (labels_of).
--
-- Each contender costs a claim some 35,000 redis-server instructions (callgrind, 8 contenders
-- against 1), mostly in copying values to the script and parsing numbers (tonumber parses a
-- string twice, `+ 0` once): the loads (fa scores) are read only to pick the least loaded of
-- several filters' agents, never with one, and Redis formats each score it replies with.
--
-- `overlapping`: the filters that take one of the claim's queues (overlapping_filters).
local function contenders_of(self_id, overlapping, policy, queues_of)
  local limit = policy.contenders
  local found = {}
  if limit <= 0 then return found end
  local live_since = NOW - policy.live
  local k_summary = P .. 'ar'
  -- One filter's agents come least loaded first: its first `limit` live ones are the answer.
  local with_loads = #overlapping > 1
  local any_stalled = nil
  -- A page has room for the claimer itself (it is in its own filter's index) and `limit` others.
  local size = limit + 1
  for _, fid in ipairs(overlapping) do
    local qs = queues_of(fid)
    local key = P .. 'fa:' .. fid
    -- Pages of the filter's agents, least loaded first, until `limit` of them are live; at most
    -- four pages (silent agents keep their place until they are declared lost).
    local taken, start = 0, 0
    for _ = 1, 4 do
      local page, loads
      if with_loads then
        local r = redis.call('ZRANGE', key, int_str(start), int_str(start + size - 1), 'WITHSCORES')
        page, loads = {}, {}
        for i = 2, #r, 2 do
          page[#page + 1] = r[i - 1]
          loads[#loads + 1] = r[i] + 0
        end
      else
        page = redis.call('ZRANGE', key, int_str(start), int_str(start + size - 1))
      end
      if #page == 0 then break end
      local ids, fields, load_of_id = {}, {}, {}
      for i, id in ipairs(page) do
        if id ~= self_id then
          local n = #ids + 1
          ids[n] = id
          if loads then load_of_id[n] = loads[i] end
          fields[2 * n - 1] = id
          fields[2 * n] = id .. '|n'
        end
      end
      if #ids > 0 then
        local beats = redis.call('ZMSCORE', K_HB, unpack(ids))
        local sums = redis.call('HMGET', k_summary, unpack(fields))
        if any_stalled == nil then any_stalled = redis.call('EXISTS', P .. 'stalled') == 1 end
        local marks = any_stalled and redis.call('HMGET', P .. 'stalled', unpack(ids)) or nil
        for j, id in ipairs(ids) do
          local beat = beats[j]
          if beat then beat = beat + 0 end
          local cf, conc, rc, last, stalled = nil, nil, nil, nil, false
          local s, inflight = sums[2 * j - 1], sums[2 * j]
          if beat then
            if s and inflight then
              -- The summary's numbers are numbers (summary_text); its last claim may be empty.
              local lc
              cf, conc, rc, lc = string.match(s, '^(%S+) (%S+) (%S+) ?(%S*)$')
              if cf == fid then
                inflight, conc, rc = inflight + 0, conc + 0, rc + 0
                if lc ~= '' then last = lc + 0 end
              end
            else
              -- No summary (written by a routed claim): its hash and in-flight set, as they are.
              local a = redis.call('HMGET', P .. 'a:' .. id, 'cf', 'conc', 'rc', 'lc')
              cf, conc, rc, last = a[1], tonumber(a[2]), tonumber(a[3]), tonumber(a[4])
              inflight = redis.call('SCARD', P .. 'al:' .. id)
            end
            if marks and marks[j] then
              local a = redis.call('HMGET', P .. 'a:' .. id, 'stall', 'prog', 'started')
              stalled = is_stalled(a[1], a[2], a[3])
            end
          end
          if not beat or cf ~= fid then
            -- Stopped, lost, or claiming with another filter now: no longer one of these.
            redis.call('ZREM', key, id)
            start = start - 1
          elseif taken < limit and beat >= live_since and not stalled then
            found[#found + 1] = {
              id = id, conc = math.max(1, conc or 1), inflight = inflight,
              recent = decay_recent(rc or 0, last, policy.half_life), last_claim = last,
              reserved = 0, queues = qs, load = load_of_id[j],
            }
            taken = taken + 1
          end
        end
      end
      if taken >= limit or #page < size then break end
      start = start + size
    end
  end
  -- Several filters' agents, merged: least loaded first (equal loads by id), so that the first
  -- few are the least loaded of all (a claim may weigh only those).
  if with_loads and #found > 1 then
    table.sort(found, function(a, b)
      if a.load ~= b.load then return a.load < b.load end
      return a.id < b.id
    end)
    for i = #found, limit + 1, -1 do found[i] = nil end
  end
  return found
end
