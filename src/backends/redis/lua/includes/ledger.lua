-- includes/ledger.lua: budgets and their reservations (docs/costs.md). Needs nothing else; every
-- function takes its keys as parameters. Amounts are whole nano-dollars, as text in the hashes
-- and as Lua numbers here (exact below 2^53).
--
-- Keys (keys.ts): budgets (hash run or task id -> limit), spent (hash id -> recorded cost, for
-- ids with a budget), held (hash id -> amount reservations hold, for ids with a budget), rsv
-- (hash reservation id -> '<task id> <token> <run id or empty> <amount>'), rsvz (zset
-- reservation id -> when it was taken).

-- The attempt `token` names on the task hash `ck`, and the task's run ('' for none), when `agent`
-- held it: the attempt's record once it ended (a release keeps the token but gives the attempt
-- number back), else the task's own fields while it is the current one. Returns attempt, run; or
-- nil and 'not_found' (no such task) or 'not_held'. Usage and model choices are recorded against
-- it even after the lease was lost.
local function attempt_held(ck, token, agent)
  local v = redis.call('HMGET', ck, 'tok', 'agent', 'att', 'run', 'a:' .. token)
  if not v[1] then return nil, 'not_found' end
  local attempt, held_by
  if v[5] then
    local a = cjson.decode(v[5])
    attempt, held_by = a.attempt, a.agentId
  elseif tonumber(token) >= 1 and v[1] == token then
    attempt, held_by = tonumber(v[3]), v[2]
  end
  if not attempt or held_by ~= agent then return nil, 'not_held' end
  return attempt, v[4] or ''
end

-- The parts of a reservation's text: task id, token, run id ('' for none), amount.
local function parse_reservation(text)
  local task, tok, run, nano = string.match(text, '^(%S+) (%S+) (%S*) (%S+)$')
  return task, tonumber(tok), run, tonumber(nano)
end

-- Add `delta` to what reservations hold against the budgets of `run` ('' for none) and `task`,
-- for those that have a budget; an entry that falls to nothing is dropped.
local function hold(k_budgets, k_held, run, task, delta)
  local ids = { task }
  if run ~= '' then ids[2] = run end
  for _, id in ipairs(ids) do
    if redis.call('HEXISTS', k_budgets, id) == 1 then
      if redis.call('HINCRBY', k_held, id, string.format('%d', delta)) <= 0 then redis.call('HDEL', k_held, id) end
    end
  end
end

-- Drop reservation `rid` and what it holds. With `task`, only a reservation of that task (a
-- settle names its call's task; another task's reservation is left to its own lease). Returns
-- true when one was dropped.
local function let_go(k_budgets, k_held, k_rsv, k_rsvz, rid, task)
  local text = redis.call('HGET', k_rsv, rid)
  if not text then return false end
  local rtask, _, run, nano = parse_reservation(text)
  if task and rtask ~= task then return false end
  redis.call('HDEL', k_rsv, rid)
  redis.call('ZREM', k_rsvz, rid)
  hold(k_budgets, k_held, run, rtask, -nano)
  return true
end
