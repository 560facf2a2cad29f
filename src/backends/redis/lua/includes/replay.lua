-- includes/replay.lua: retrying (replaying) a failed task (Backend.retryTask in backend.ts).
-- Needs includes/common.lua first.
--
-- Per-task keys it touches: t:<id> (task hash), dn:<id> (hash dependent id -> '1' soft / '0'
-- hard: the edges out of a task), q:<q> (the retried task's ready queue), run:<run> (runs it
-- reopens).

-- The state each run touched had before this script reopened it ('' when there is no such run).
local run_before = {}

local function run_state_before(run)
  local state = run_before[run]
  if state == nil then
    state = redis.call('HGET', rkey(run), 'state') or ''
    run_before[run] = state
  end
  return state
end

-- A finished run has an open task again: running again, announced once as run.reopened.
local function reopen_run(run, retried)
  if not run or run == '' then return end
  local before = run_state_before(run)
  if before == '' or before == 'running' then return end
  if redis.call('HGET', rkey(run), 'state') == 'running' then return end
  redis.call('HSET', rkey(run), 'state', 'running', 'finished', '')
  emit('run.reopened', '', run, '', '{"from":"' .. before .. '","retriedTaskId":' .. jstr(retried) .. '}')
end

-- A task that leaves a terminal state makes its blocked soft dependents wait for it again: its
-- ending released them, and its next ending will release them once more. Done at once, so tasks
-- revived later in the same script (which count it as open already) are not counted twice.
local function rewait(id)
  local edges = redis.call('HGETALL', P .. 'dn:' .. id)
  for i = 1, #edges, 2 do
    if edges[i + 1] == '1' then
      local ck = tkey(edges[i])
      if redis.call('HGET', ck, 'state') == 'blocked' then
        redis.call('HINCRBY', ck, 'unmet', 1)
        redis.call('HSET', ck, 'updated', NOWS)
      end
    end
  end
end

-- The dependencies a skipped task would wait for if revived (hard ones not succeeded, soft ones
-- not ended), or nil when it cannot run: a hard dependency is failed, cancelled or skipped.
-- `dids` are its dependency ids in dependsOn order. An edge says whether a dependency is soft; a
-- dependency that had ended when the task was submitted has none, and then the task's spec says.
-- Each one it would wait for gets its edge, so that its ending releases the task.
local function pending_if_revived(child, dids)
  local waits = {}
  local specs = nil
  local i = 0
  for dep in string.gmatch(dids or '', '%S+') do
    i = i + 1
    local state = redis.call('HGET', tkey(dep), 'state')
    if state then
      local edge = redis.call('HGET', P .. 'dn:' .. dep, child)
      local soft
      if edge then
        soft = edge == '1'
      else
        if not specs then specs = cjson.decode(redis.call('HGET', tkey(child), 'spec')).dependsOn or {} end
        soft = type(specs[i]) == 'table' and specs[i].soft == true
      end
      local met
      if soft then met = TERMINAL[state] else met = state == 'succeeded' end
      if not met then
        if TERMINAL[state] then return nil end
        waits[#waits + 1] = { dep, soft, edge }
      end
    end
  end
  for _, w in ipairs(waits) do
    if not w[3] then
      redis.call('HSET', P .. 'dn:' .. w[1], child, w[2] and '1' or '0')
      redis.call('HSET', tkey(w[1]), 'hasDn', '1')
    end
  end
  return #waits
end

-- Revive the skipped hard dependents of a task that is open again (retried, or itself revived):
-- blocked again when none of their hard dependencies is still failed, cancelled or skipped, and
-- their run was not cancelled; and so on downstream. Iterative, like graph.lua's
-- settle_dependents; a task reached again through another revived dependency is checked again.
local function revive(id, retried)
  local queue = { id }
  local qi = 1
  while qi <= #queue do
    local parent = queue[qi]
    qi = qi + 1
    local edges = redis.call('HGETALL', P .. 'dn:' .. parent)
    for i = 1, #edges, 2 do
      if edges[i + 1] == '0' then
        local child = edges[i]
        local ck = tkey(child)
        local f = redis.call('HMGET', ck, 'state', 'run', 'dids', 'hasDn')
        local run = f[2] or ''
        if f[1] == 'skipped' and not (run ~= '' and run_state_before(run) == 'cancelled') then
          local pending = pending_if_revived(child, f[3])
          if pending then
            redis.call('HSET', ck, 'state', 'blocked', 'unmet', pending, 'error', '', 'finished', '', 'updated', NOWS)
            moved(run, 'skipped', 'blocked')
            emit('task.revived', child, run, '', '{"retriedTaskId":' .. jstr(retried) .. '}')
            reopen_run(run, retried)
            if f[4] == '1' then
              rewait(child)
              queue[#queue + 1] = child
            end
          end
        end
      end
    end
  end
end

-- Retry the failed task `id`: ready with a fresh attempt budget, error and finish time cleared,
-- its run reopened, then its dependents as above. The attempts counter (att) is kept, so the new
-- attempts are numbered on from the old ones; the budget (maxAtt) is raised instead, to the
-- attempts used so far plus the maxAttempts the task was submitted with (its spec keeps it). Its
-- attempt records a:<token> are kept. `f` is its HMGET of state, run, att, q, qs, qm, hasDn,
-- spec; `reason` the reason as JSON (a string, or null).
local function replay(id, f, reason)
  local run = f[2] or ''
  local att = tonumber(f[3]) or 0
  local budget = att + (tonumber(cjson.decode(f[8]).maxAttempts) or 1)
  redis.call('HSET', tkey(id), 'state', 'ready', 'maxAtt', budget, 'error', '', 'finished', '', 'lease', '',
    'dl', '', 'updated', NOWS)
  push_ready(id, f[4], f[5], f[6])
  moved(run, 'failed', 'ready')
  emit('task.retried', id, run, '', '{"reason":' .. reason .. ',"previousAttempts":' .. att .. '}')
  reopen_run(run, id)
  if f[7] == '1' then
    rewait(id)
    revive(id, id)
  end
end
