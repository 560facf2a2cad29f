-- includes/submit.lua: storing a submission. Needs common.lua, graph.lua and registry.lua, and
-- the locals K_TASKS (zset of every task id by seq), K_RUNS (zset of run ids by seq), K_IDEM
-- (hash idempotency key -> task id), K_SEQ (the sequence counter), K_PENDING (zset of staged
-- submissions by stage time), K_PUBLISHING (zset of committed submissions still being published,
-- by commit time) and K_PUBCUR (hash submission -> publish cursor) defined by the including
-- script (nil where the script does not use the functions that need them).
--
-- A submission goes through three steps, which the one-shot `submit` script runs together and a
-- large submission runs as separate scripts (`submit-stage` per chunk, `submit-commit` once,
-- `submit-publish` per chunk) so that no single call holds Redis for long:
--   stage    write the task hashes, the run's key and task indexes, the edges between new tasks;
--            nothing reads them yet (claims read queues, lists skip staged submissions);
--   commit   check and apply what must be atomic (the run is still open, keys are still unique,
--            idempotency keys are still free), count the tasks, settle edges to stored tasks:
--            the run and its tasks become visible;
--   publish  enqueue ready tasks, schedule delayed ones, write their task.submitted events.
-- The TypeScript side validates with core/validate.ts first and plans every task (ids, edges,
-- initial state); see redis/submit.ts for the encoding of the arguments read here.

local SUBMITTED = { ready = '{"state":"ready"}', blocked = '{"state":"blocked"}', delayed = '{"state":"delayed"}' }

-- Number of values per task in the arguments (submit.ts TASK_FIELDS).
local TASK_FIELDS = 16

-- Reads ARGV from index `i` on.
local argi = 3
local function nextarg()
  local v = ARGV[argi]
  argi = argi + 1
  return v
end

-- The submission's first sequence number: seq of a task = base + its offset in the submission,
-- so FIFO follows the input order even when a large submission is staged in another order.
local function seq_base(sid, total)
  if sid == '' then return redis.call('INCRBY', K_SEQ, int_str(total)) - total end
  local meta = P .. 'stgm:' .. sid
  local base = redis.call('HGET', meta, 'base')
  if base then return tonumber(base) end
  base = redis.call('INCRBY', K_SEQ, total) - total
  redis.call('HSET', meta, 'base', base)
  return base
end

-- Write `n` tasks from the arguments (submit.ts TASK_FIELDS values each). `sid` names a staged
-- submission ('' for one-shot); its tasks are hidden from lists until committed and remembered
-- for publishing and clean-up. Returns per task { id, state, queue id, qs, qm, runAfter } in order.
local function stage_tasks(sid, run, mode, base, n)
  local staged = {}
  local index = {}
  for _ = 1, n do
    local id, offset, spec, ttype, key, tmo, max_att = nextarg(), nextarg(), nextarg(), nextarg(), nextarg(), nextarg(),
      nextarg()
    local queue, run_after, dids, unmet, has_dn, state = nextarg(), nextarg(), nextarg(), nextarg(), nextarg(), nextarg()
    local qs, edges, aff = nextarg(), nextarg(), nextarg()
    local seq = base + tonumber(offset) + 1
    local qm = string.format('%015d', seq) .. ':' .. id
    seq = int_str(seq)
    local q = queue_id(queue)
    -- The spec ends with `"createdAt":` (submit.ts specJson): the task is created now, by the
    -- store's clock.
    local fields = { 'spec', spec .. NOWS .. '}', 'type', ttype, 'maxAtt', max_att, 'q', q, 'state', state, 'qs', qs, 'qm', qm }
    local f = #fields
    if run ~= '' then fields[f + 1] = 'run'; fields[f + 2] = run; f = f + 2 end
    if key ~= '' then fields[f + 1] = 'key'; fields[f + 2] = key; f = f + 2 end
    if tmo ~= '' then fields[f + 1] = 'tmo'; fields[f + 2] = tmo; f = f + 2 end
    if run_after ~= '' then fields[f + 1] = 'runAfter'; fields[f + 2] = run_after; f = f + 2 end
    if dids ~= '' then fields[f + 1] = 'dids'; fields[f + 2] = dids; f = f + 2 end
    if unmet ~= '0' then fields[f + 1] = 'unmet'; fields[f + 2] = unmet; f = f + 2 end
    if has_dn ~= '0' then fields[f + 1] = 'hasDn'; fields[f + 2] = has_dn; f = f + 2 end
    if sid ~= '' then fields[f + 1] = 'sub'; fields[f + 2] = sid; f = f + 2 end
    if aff ~= '' then fields[f + 1] = 'aff'; fields[f + 2] = aff; f = f + 2 end
    redis.call('HSET', tkey(id), unpack(fields))
    index[#index + 1] = seq
    index[#index + 1] = id
    if run ~= '' and mode == 'new' and key ~= '' then redis.call('HSET', P .. 'rk:' .. run, key, id) end
    if edges ~= '' then
      local dep
      for word in string.gmatch(edges, '%S+') do
        if dep then
          redis.call('HSET', P .. 'dn:' .. dep, id, word)
          dep = nil
        else
          dep = word
        end
      end
    end
    staged[#staged + 1] = { id, state, q, qs, qm, run_after }
  end
  -- Index entries in bulk (a few calls rather than one per task).
  for i = 1, #index, 4000 do
    local last = math.min(i + 3999, #index)
    redis.call('ZADD', K_TASKS, unpack(index, i, last))
    if run ~= '' then redis.call('ZADD', P .. 'rt:' .. run, unpack(index, i, last)) end
  end
  if sid ~= '' then
    for i = 1, #staged, 4000 do
      local ids = {}
      for j = i, math.min(i + 3999, #staged) do ids[#ids + 1] = staged[j][1] end
      redis.call('RPUSH', P .. 'stg:' .. sid, unpack(ids))
    end
    redis.call('ZADD', K_PENDING, 'NX', NOWS, sid)
    redis.call('HSET', P .. 'stgm:' .. sid, 'run', run, 'mode', mode)
  end
  return staged
end

-- The commit arguments (submit.ts commitArgs): mode, run id, run name, expected keys version,
-- the planned count of each state, idempotency keys to take, edges to stored tasks, and the
-- keys an added batch brings to its run.
local function read_commit()
  local c = { mode = nextarg(), run = nextarg(), name = nextarg(), kv = nextarg(), counts = {}, idem = {}, ext = {}, keys = {} }
  -- Counts stay text: they are written as they came, and compared with '0'.
  for i = 1, 8 do c.counts[i] = nextarg() end
  for _ = 1, tonumber(nextarg()) do c.idem[#c.idem + 1] = { nextarg(), nextarg() } end
  for _ = 1, tonumber(nextarg()) do c.ext[#c.ext + 1] = { nextarg(), nextarg(), nextarg(), nextarg() } end
  for _ = 1, tonumber(nextarg()) do c.keys[#c.keys + 1] = { nextarg(), nextarg() } end
  return c
end

-- What must still hold when the submission commits. nil when it may, else the answer to return:
-- { 'not_found' } / { 'closed', state } for the run, { 'retry' } when keys were added to the run
-- since they were read, { 'idem', idempotency key, id, state, task key, ... } for idempotency
-- keys taken meanwhile.
local function commit_refusal(c)
  if c.mode == 'add' then
    local run = redis.call('HMGET', rkey(c.run), 'state', 'kv')
    if not run[1] then return { 'not_found' } end
    if run[1] ~= 'running' then return { 'closed', run[1] } end
    if (run[2] or '0') ~= c.kv then return { 'retry' } end
  end
  local taken = nil
  for _, pair in ipairs(c.idem) do
    local id = redis.call('HGET', K_IDEM, pair[1])
    if id then
      taken = taken or { 'idem' }
      taken[#taken + 1] = pair[1]
      taken[#taken + 1] = id
      local f = redis.call('HMGET', tkey(id), 'state', 'key')
      taken[#taken + 1] = f[1] or 'ready'
      taken[#taken + 1] = f[2] or ''
    end
  end
  return taken
end

-- Apply a commit that passed `commit_refusal`. Returns the tasks whose state it changed (edges
-- to stored tasks), as a flat list id, state, ... and as a map id -> state, and the list of
-- those it skipped (their dependents are settled by the caller once their task.submitted
-- events are written).
local function commit_apply(c, total)
  for _, pair in ipairs(c.idem) do redis.call('HSET', K_IDEM, pair[1], pair[2]) end
  local run = c.run
  if c.mode == 'new' then
    local seq = redis.call('INCR', K_SEQ)
    local fields = { 'id', run, 'name', c.name, 'state', 'running', 'created', NOWS, 'finished', '', 'seq', int_str(seq), 'kv', '0' }
    for i = 1, 8 do
      fields[#fields + 1] = 'n:' .. STATES[i]
      fields[#fields + 1] = c.counts[i]
    end
    redis.call('HSET', rkey(run), unpack(fields))
    redis.call('ZADD', K_RUNS, seq, run)
    touch_run(run)
    emit('run.submitted', '', run, '', '{"name":' .. jstr(c.name) .. ',"tasks":' .. total .. '}')
  elseif c.mode == 'add' then
    for _, pair in ipairs(c.keys) do redis.call('HSET', P .. 'rk:' .. run, pair[1], pair[2]) end
    redis.call('HINCRBY', rkey(run), 'kv', 1)
    for i = 1, 8 do
      if c.counts[i] ~= '0' then redis.call('HINCRBY', rkey(run), 'n:' .. STATES[i], c.counts[i]) end
    end
  end
  for i = 1, 8 do
    if c.counts[i] ~= '0' then redis.call('HINCRBY', K_COUNTS, STATES[i], c.counts[i]) end
  end

  -- Edges to stored tasks: a dependency still open gets an edge and counts as unmet; one that
  -- ended already is satisfied (succeeded, or soft), or skips the new task (hard, not succeeded).
  local touched, order, skip = {}, {}, {}
  for _, e in ipairs(c.ext) do
    local child, dep, soft, dep_key = e[1], e[2], e[3], e[4]
    if not touched[child] then
      touched[child] = true
      order[#order + 1] = child
    end
    local dep_state = redis.call('HGET', tkey(dep), 'state')
    if dep_state and not TERMINAL[dep_state] then
      redis.call('HSET', P .. 'dn:' .. dep, child, soft)
      redis.call('HSET', tkey(dep), 'hasDn', '1')
      redis.call('HINCRBY', tkey(child), 'unmet', 1)
    elseif dep_state and dep_state ~= 'succeeded' and soft ~= '1' and not skip[child] then
      skip[child] = '{"message":' .. jstr("skipped: its hard dependency '" .. dep_key .. "' (" .. dep ..
        ') had already ended ' .. dep_state) .. ',"code":"DEPENDENCY_FAILED"}'
    end
  end
  local changed, changed_map, skipped = {}, {}, {}
  for _, child in ipairs(order) do
    local ck = tkey(child)
    local f = redis.call('HMGET', ck, 'state', 'unmet', 'runAfter', 'key')
    local state = f[1]
    if skip[child] then
      state = 'skipped'
      redis.call('HSET', ck, 'state', state, 'error', skip[child], 'finished', NOWS)
      skipped[#skipped + 1] = { child, f[4] or '' }
    elseif (tonumber(f[2]) or 0) <= 0 then
      local run_after = tonumber(f[3])
      if run_after and run_after > NOW then state = 'delayed' else state = 'ready' end
      redis.call('HSET', ck, 'state', state)
    end
    if state ~= f[1] then
      moved(run, f[1], state)
      changed[#changed + 1] = child
      changed[#changed + 1] = state
      changed_map[child] = state
    end
  end
  return changed, changed_map, skipped
end

-- Make a task that was committed visible to workers: enqueue it if ready, schedule it if
-- delayed, and write its task.submitted event (with the state it has now).
local function publish_task(id, run, state, q, qs, qm, run_after, err)
  if state == 'ready' then
    push_ready(id, q, qs, qm)
  elseif state == 'delayed' then
    redis.call('ZADD', K_DELAYED, run_after, id)
  end
  if state == 'skipped' then
    emit('task.submitted', id, run, '', '{"state":"skipped","error":' .. err .. '}')
  else
    emit('task.submitted', id, run, '', SUBMITTED[state] or '{"state":"' .. state .. '"}')
  end
end

-- The same, reading the task from its hash (a staged submission published in chunks).
local function publish_stored(id)
  local f = redis.call('HMGET', tkey(id), 'state', 'run', 'q', 'qs', 'qm', 'runAfter', 'error')
  if not f[1] then return end
  publish_task(id, f[2] or '', f[1], f[3], f[4], f[5], f[6], f[7])
end

-- Publish the tasks a one-shot submit just staged, in the order given, with the states the
-- commit settled (`changed`: id -> state for tasks with edges to stored tasks).
local function publish_staged(staged, run, changed)
  for _, t in ipairs(staged) do
    local state = changed[t[1]]
    if state == 'skipped' then
      publish_task(t[1], run, state, t[3], t[4], t[5], t[6], redis.call('HGET', tkey(t[1]), 'error'))
    else
      publish_task(t[1], run, state or t[2], t[3], t[4], t[5], t[6], nil)
    end
  end
end

local function settle_skipped(skipped)
  for _, s in ipairs(skipped) do settle_dependents(s[1], s[2], 'skipped') end
end

-- Publish up to `count` staged tasks of submission `sid` from position `from`, if nobody moved
-- its cursor meanwhile. Returns the new cursor, or -1 when the submission is fully published.
local function publish_chunk(sid, from, count)
  local cursor = redis.call('HGET', K_PUBCUR, sid)
  if not cursor or tonumber(cursor) ~= from then return tonumber(cursor) or -1 end
  local list = P .. 'stg:' .. sid
  local ids = redis.call('LRANGE', list, from, from + count - 1)
  for _, id in ipairs(ids) do publish_stored(id) end
  local next_from = from + #ids
  if next_from >= redis.call('LLEN', list) then
    redis.call('DEL', list, P .. 'stgm:' .. sid)
    redis.call('HDEL', K_PUBCUR, sid)
    redis.call('ZREM', K_PUBLISHING, sid)
    return -1
  end
  redis.call('HSET', K_PUBCUR, sid, next_from)
  return next_from
end

-- Delete a staged submission that was never committed (refused, or abandoned by a client that
-- died while staging): its task hashes, their index entries and edges, a new run's key index.
local function drop_staged(sid)
  if not redis.call('ZSCORE', K_PENDING, sid) then return 0 end
  local list = P .. 'stg:' .. sid
  local meta = redis.call('HMGET', P .. 'stgm:' .. sid, 'run', 'mode')
  local run = meta[1] or ''
  local ids = redis.call('LRANGE', list, 0, -1)
  for _, id in ipairs(ids) do
    redis.call('ZREM', K_TASKS, id)
    if run ~= '' then redis.call('ZREM', P .. 'rt:' .. run, id) end
    redis.call('DEL', tkey(id), P .. 'dn:' .. id)
  end
  if run ~= '' and meta[2] == 'new' then redis.call('DEL', P .. 'rk:' .. run, P .. 'rt:' .. run) end
  redis.call('DEL', list, P .. 'stgm:' .. sid)
  redis.call('ZREM', K_PENDING, sid)
  return #ids
end
