-- includes/common.lua: what every mutating script shares. Included textually, keeping only the
-- top-level definitions the script uses (see scripts.ts pruneIncludes): each starts with `local`
-- in the first column.
--
-- Expects the common KEYS and ARGV of every mutating script:
--   KEYS[1] prefix   `{baton:<ns>}:`, not a key itself: per-task, per-run and per-queue keys are
--                    derived from it (they share its hash tag, so they live in the same slot)
--   KEYS[2] events   stream of events
--   KEYS[3] counts   hash state -> number of tasks in that state
--   KEYS[4] delayed  zset task id -> runAfter
--   KEYS[5] running  zset task id -> deadline (earliest of lease expiry and attempt timeout)
--   ARGV[1] now      epoch ms from the backend's clock, or '' for the Redis server's (store_now)
--   ARGV[2] maxlen   how many of the newest events the stream keeps at least (eventsMaxLen)
--
-- Keys derived from the prefix for the event stream (same hash tag, so the same Cluster slot):
--   P evmeta  hash  n = events written to the stream so far (every event, packed or not)
--   P evcp    list  checkpoints '<events before the entry> <entry id>', oldest first
--
-- The event stream: every script call writes its events as ONE entry, at its end (finish()).
-- One event keeps the historical format, fields t, at, task, run, agent, d (the event's data
-- JSON). Two or more are packed in one field b: a JSON array of [type, at, task, run, agent,
-- data], with '' for no task, run or agent. Readers (codec.ts toEvents) number the events of a
-- packed entry `<entry id>-<i>`.
--
-- Conventions: a null field is stored as '' (or absent). Times are compared as Lua numbers
-- (exact below 1e14; epoch ms are ~1.7e12) and written as text: the current time converted once
-- (NOWS), a computed one converted once too, because Lua formats a number for every
-- redis.call argument it appears in. Counter changes and wake-up markers are collected while a
-- script runs and written once at its end by `finish()`, so a batch of 100 transitions costs a
-- handful of HINCRBYs, and `run.completed` comes after the transitions that finished the run.
-- Events likewise: one XADD per call, however many events it made (an XADD from Lua costs about
-- 1.4 µs; packing an event into the call's entry about half that).

local P = KEYS[1]
local K_EVENTS = KEYS[2]
local K_COUNTS = KEYS[3]
local K_DELAYED = KEYS[4]
local K_RUNNING = KEYS[5]
local MAXLEN = ARGV[2]

-- A number as text, cheaply when it is whole: Lua's tostring (and redis.call, for a number
-- argument) formats with %.14g / %.17g, whose floating-point path costs several times a %d.
-- Pass constants to redis.call as text ('0', not 0) for the same reason.
local function int_str(n)
  if n % 1 == 0 then return string.format('%d', n) end
  return tostring(n)
end

-- The store's clock (src/core/clock.ts): how far behind the latest recorded time a clock may be
-- and still be held to it, in ms (test/backends/redis-scripts.test.ts checks they agree).
local CLOCK_HOLD_MS = 5000

-- The time a script stamps what it does with, read when it runs: the Redis server's clock (TIME)
-- when the caller passes '' for now (a backend on the real clock), so that every process on the
-- namespace stamps with one clock and times follow the order in which scripts ran; else the time
-- the caller passes (a backend on an injected clock, as the conformance suite's). Either way
-- never before the namespace's latest recorded time (field `at` of its P evmeta hash, written
-- with its events) while the clock is at most CLOCK_HOLD_MS behind it, so that a clock that
-- stepped back a little does not reorder what is recorded. Returns that time and the latest
-- recorded one (nil when none). Takes its key as a parameter: heartbeat-3.lua uses it alone.
local function store_now(meta, arg)
  local now
  if arg == '' then
    -- Effects replication (the default since Redis 5, the only mode since 7) lets a script
    -- write after reading the clock; ask for it explicitly in case a 6.x is configured otherwise.
    redis.replicate_commands()
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  else
    now = tonumber(arg)
  end
  local last = tonumber(redis.call('HGET', meta, 'at'))
  if last and last > now and last - now <= CLOCK_HOLD_MS then now = last end
  return now, last
end

-- This call's time (store_now), and the namespace's latest recorded time when it started.
local NOW, CLOCK_LAST = store_now(P .. 'evmeta', ARGV[1])
-- The same time as text: formatting a Lua number costs more than it seems.
local NOWS = int_str(NOW)

-- Most arguments one variadic command built with unpack() takes (an even number: ZADD pairs),
-- well below Lua's limit on the values unpack() can return.
local CHUNK = 1000

-- One variadic command `cmd key args...` for a list of arguments, in chunks of CHUNK: a
-- redis.call costs more than the work each argument adds.
local function call_chunked(cmd, key, args)
  for i = 1, #args, CHUNK do
    redis.call(cmd, key, unpack(args, i, math.min(i + CHUNK - 1, #args)))
  end
end

-- `f`, computed once per distinct text within a call (the text may be nil; so may the result):
-- a batch's tasks mostly share their token, attempt, lease expiry and start, and parsing or
-- formatting a number costs more than a table lookup.
local function per_text(f)
  local cache = {}
  return function(s)
    local key = s or false
    local r = cache[key]
    if r == nil then
      r = f(s)
      if r == nil then r = false end
      cache[key] = r
    end
    return r or nil
  end
end

local function tkey(id) return P .. 't:' .. id end
local function rkey(id) return P .. 'run:' .. id end

local function jstr(s) return cjson.encode(s) end
local function orjson(s) if s == nil or s == false or s == '' then return 'null' end return s end

-- Events of this call, in the order emitted; written by finish() as one stream entry. The first
-- is kept as fields (alone, it is written in the one-event format); from the second on, each is
-- kept as its JSON text [type, at, task, run, agent, data], the first one converted then, with
-- the array's brackets and commas folded in, so the entry is one table.concat. What this costs
-- is mostly Lua allocation (and the garbage collection it drives), hence no intermediate strings.
local ev_n = 0
local ev_json = {}
local ev_t, ev_at, ev_task, ev_run, ev_agent, ev_d

-- Run and agent ids as JSON text, per distinct value (a claim's agent, a run's tasks repeat).
-- Plain ids are quoted as they are; cjson.encode for any that needs escaping (run and agent ids
-- can come from callers). Task ids are not checked: a script emits only for a stored task, and
-- only the adapter names tasks (tsk_ + ULID, src/backends/ids.ts).
local ev_quoted = { [''] = '""' }
local function jq(s)
  local j
  if string.find(s, '[%c"\\]') then j = cjson.encode(s) else j = '"' .. s .. '"' end
  ev_quoted[s] = j
  return j
end

-- `etype` is a literal event type, needing no escaping (record-event's comes from the caller, but
-- alone in its call: written as a field); `data` is JSON text, spliced as it is.
local function emit(etype, task, run, agent, data)
  task, run, agent = task or '', run or '', agent or ''
  ev_n = ev_n + 1
  if ev_n == 1 then
    ev_t, ev_at, ev_task, ev_run, ev_agent, ev_d = etype, NOWS, task, run, agent, data
    return
  end
  if ev_n == 2 then
    ev_json[1] = '[["' .. ev_t .. '",' .. ev_at .. ',"' .. ev_task .. '",' .. (ev_quoted[ev_run] or jq(ev_run)) ..
      ',' .. (ev_quoted[ev_agent] or jq(ev_agent)) .. ',' .. ev_d .. ']'
  end
  ev_json[ev_n] = ',["' .. etype .. '",' .. NOWS .. ',"' .. task .. '",' .. (ev_quoted[run] or jq(run)) .. ',' ..
    (ev_quoted[agent] or jq(agent)) .. ',' .. data .. ']'
end

-- Record this call's time as the namespace's latest, which store_now holds later calls to: done
-- with the call's events (flush_events), and by a call that stamps without emitting.
local function record_time()
  if NOW ~= CLOCK_LAST then
    redis.call('HSET', P .. 'evmeta', 'at', NOWS)
    CLOCK_LAST = NOW
  end
end

-- Trimming keeps at least MAXLEN of the newest events, counted as events, not entries (a packed
-- entry holds many). O(1) commands per call: P evmeta n counts the events written; whenever that
-- total crosses a multiple of G = ceil(MAXLEN / 32), the call's entry becomes a checkpoint
-- (pushed to P evcp with the number of events before it), and the stream is cut (XTRIM MINID,
-- exact) at the newest checkpoint with at least MAXLEN events from it on. Checkpoints older than
-- that are dropped with it. So the stream holds at least MAXLEN events once that many were
-- written, and fewer than MAXLEN + 2G + one entry (checkpoints are under G + one entry apart,
-- and a cut comes at most G + one entry later): about MAXLEN * 1.06. Events written before this
-- counter existed are simply older than every checkpoint, trimmed by the first cut.
local function account_events(id, k)
  local total = redis.call('HINCRBY', P .. 'evmeta', 'n', int_str(k))
  local before = total - k
  local maxlen = tonumber(MAXLEN)
  local every = math.ceil(maxlen / 32)
  if math.floor(before / every) == math.floor(total / every) then return end
  local kc = P .. 'evcp'
  redis.call('RPUSH', kc, before .. ' ' .. id)
  local cps = redis.call('LRANGE', kc, 0, -1)
  local cut = nil
  local used = 0
  for i = 1, #cps do
    local sp = string.find(cps[i], ' ', 1, true)
    if total - tonumber(string.sub(cps[i], 1, sp - 1)) < maxlen then break end
    cut = string.sub(cps[i], sp + 1)
    used = i
  end
  if cut then
    redis.call('LTRIM', kc, used, -1)
    redis.call('XTRIM', K_EVENTS, 'MINID', cut)
  end
end

-- Write this call's events as one stream entry (nothing when there are none). Returns the id of
-- the last event written, or nil.
local function flush_events()
  if ev_n == 0 then return nil end
  local id, last
  if ev_n == 1 then
    id = redis.call('XADD', K_EVENTS, '*', 't', ev_t, 'at', ev_at, 'task', ev_task, 'run', ev_run,
      'agent', ev_agent, 'd', ev_d)
    last = id
  else
    ev_json[ev_n + 1] = ']'
    id = redis.call('XADD', K_EVENTS, '*', 'b', table.concat(ev_json, '', 1, ev_n + 1))
    last = id .. '-' .. (ev_n - 1)
  end
  account_events(id, ev_n)
  record_time()
  ev_n = 0
  ev_json = {}
  return last
end

-- Counter deltas: state -> delta, and run id -> state -> delta (runs in first-touched order).
local count_delta = {}
local run_delta = {}
local run_order = {}

local function moved(run, from, to)
  if from then count_delta[from] = (count_delta[from] or 0) - 1 end
  if to then count_delta[to] = (count_delta[to] or 0) + 1 end
  if run and run ~= '' then
    local d = run_delta[run]
    if not d then
      d = {}
      run_delta[run] = d
      run_order[#run_order + 1] = run
    end
    if from then d[from] = (d[from] or 0) - 1 end
    if to then d[to] = (d[to] or 0) + 1 end
  end
end

-- Queues that received ready tasks: the idle workers whose filters take them get a wake-up marker.
local woken = {}

local function push_ready(id, q, qs, qm)
  redis.call('ZADD', P .. 'q:' .. q, qs, qm)
  woken[q] = true
end

-- core/state.ts runStateOf, for a run with no task left that is not terminal.
local function final_run_state(c)
  if c.failed > 0 then return 'failed' end
  if c.cancelled > 0 then return 'cancelled' end
  if c.succeeded == c.total then return 'succeeded' end
  return 'failed'
end

local STATES = { 'blocked', 'delayed', 'ready', 'running', 'succeeded', 'failed', 'skipped', 'cancelled' }

local function run_counts(run)
  local v = redis.call('HMGET', rkey(run), 'n:blocked', 'n:delayed', 'n:ready', 'n:running',
    'n:succeeded', 'n:failed', 'n:skipped', 'n:cancelled')
  local c = { total = 0 }
  for i = 1, 8 do
    local n = tonumber(v[i]) or 0
    c[STATES[i]] = n
    c.total = c.total + n
  end
  return c
end

-- Runs being cancelled (run id -> reason): their end is announced as run.cancelled.
local cancelling = {}

-- Make sure `run` is checked for completion at the end, even without a count change.
local function touch_run(run)
  if not run_delta[run] then
    run_delta[run] = {}
    run_order[#run_order + 1] = run
  end
end

-- A run whose every task is terminal gets its final state and a run.completed event (or
-- run.cancelled when it is being cancelled).
local function maybe_complete_run(run)
  local state = redis.call('HGET', rkey(run), 'state')
  if state ~= 'running' then return end
  local c = run_counts(run)
  if c.blocked + c.delayed + c.ready + c.running > 0 then return end
  local final = final_run_state(c)
  redis.call('HSET', rkey(run), 'state', final, 'finished', NOWS)
  local reason = cancelling[run]
  if reason then
    emit('run.cancelled', '', run, '', '{"state":"' .. final .. '","reason":' .. jstr(reason) .. '}')
  else
    emit('run.completed', '', run, '', '{"state":"' .. final .. '"}')
  end
end

-- Write the collected counter deltas and wake-up markers, finish runs that are done, write the
-- call's events (one stream entry) and trim the stream. Called once, last, by every script that
-- can emit, on every path that emitted: run events follow the task events that caused them.
-- Returns the id of the last event written, or nil.
local function finish()
  for state, d in pairs(count_delta) do
    if d ~= 0 then redis.call('HINCRBY', K_COUNTS, state, int_str(d)) end
  end
  count_delta = {}
  for _, run in ipairs(run_order) do
    for state, n in pairs(run_delta[run]) do
      if n ~= 0 then redis.call('HINCRBY', rkey(run), 'n:' .. state, int_str(n)) end
    end
    maybe_complete_run(run)
  end
  run_delta = {}
  run_order = {}
  local marked = {}
  for q in pairs(woken) do
    local filters = redis.call('SMEMBERS', P .. 'qf:' .. q)
    for i = 1, #filters do
      if not marked[filters[i]] then
        marked[filters[i]] = true
        redis.call('ZADD', P .. 'w:' .. filters[i], '0', 'm')
      end
    end
  end
  woken = {}
  return flush_events()
end

-- Delayed tasks whose runAfter has come become ready (at most `limit`). Returns how many.
local function promote_due(limit)
  local due = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', NOWS, 'LIMIT', '0', int_str(limit))
  local promoted = 0
  for _, id in ipairs(due) do
    redis.call('ZREM', K_DELAYED, id)
    local f = redis.call('HMGET', tkey(id), 'state', 'run', 'q', 'qs', 'qm')
    if f[1] == 'delayed' then
      redis.call('HSET', tkey(id), 'state', 'ready', 'updated', NOWS)
      push_ready(id, f[3], f[4], f[5])
      moved(f[2], 'delayed', 'ready')
      emit('task.ready', id, f[2], '', '{"from":"delayed"}')
      promoted = promoted + 1
    end
  end
  return promoted
end

-- The record of one finished (or running) attempt, as JSON (see codec.ts AttemptJson). `run_ms`:
-- how long its handler ran, as text, when its worker said (nil otherwise).
local function attempt_json(att, agent, started, finished, outcome, err, run_ms)
  return '{"attempt":' .. att .. ',"agentId":' .. jstr(agent) .. ',"startedAt":' .. started ..
    ',"finishedAt":' .. (finished or 'null') .. ',"outcome":"' .. outcome .. '","error":' .. orjson(err) ..
    (run_ms and (',"runMs":' .. run_ms) or '') .. '}'
end

local TERMINAL = { succeeded = true, failed = true, skipped = true, cancelled = true }

-- Nano-dollars (the ledger's unit, docs/costs.md) as a decimal number of USD for JSON: exact,
-- by integer arithmetic, and never in exponent form.
local function usd_text(nano)
  local whole = math.floor(nano / 1000000000)
  local text = string.format('%d.%09d', whole, nano - whole * 1000000000)
  text = string.gsub(text, '0+$', '')
  return (string.gsub(text, '%.$', ''))
end
