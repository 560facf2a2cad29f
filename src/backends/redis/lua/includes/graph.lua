-- includes/graph.lua: releasing and skipping dependents. Needs includes/common.lua first.
--
-- Per-task keys it touches: t:<id> (task hash), dn:<id> (hash dependent id -> '1' soft / '0'
-- hard), q:<q> (the dependent's ready queue), plus the common delayed zset.

-- A task reached the terminal `state`: release or skip its dependents, and so on downstream.
-- Iterative (a queue, not recursion), so a long chain of skips cannot overflow Lua's C stack.
-- Only `blocked` dependents change: one that was cancelled meanwhile is left alone.
local function settle_dependents(id, key, state)
  local queue = { { id, key, state } }
  local qi = 1
  while qi <= #queue do
    local dep = queue[qi]
    qi = qi + 1
    local dep_id, dep_key, dep_state = dep[1], dep[2], dep[3]
    local edges = redis.call('HGETALL', P .. 'dn:' .. dep_id)
    for i = 1, #edges, 2 do
      local child = edges[i]
      local soft = edges[i + 1] == '1'
      local ck = tkey(child)
      local f = redis.call('HMGET', ck, 'state', 'run', 'runAfter', 'q', 'qs', 'qm', 'hasDn', 'key')
      if f[1] == 'blocked' then
        if dep_state == 'succeeded' or soft then
          local unmet = redis.call('HINCRBY', ck, 'unmet', -1)
          if unmet <= 0 then
            local run_after = tonumber(f[3])
            if run_after and run_after > NOW then
              redis.call('HSET', ck, 'state', 'delayed', 'updated', NOWS)
              redis.call('ZADD', K_DELAYED, run_after, child)
              moved(f[2], 'blocked', 'delayed')
              emit('task.delayed', child, f[2], '', '{"runAfter":' .. f[3] .. '}')
            else
              redis.call('HSET', ck, 'state', 'ready', 'updated', NOWS)
              push_ready(child, f[4], f[5], f[6])
              moved(f[2], 'blocked', 'ready')
              emit('task.ready', child, f[2], '', '{"after":' .. jstr(dep_key ~= '' and dep_key or dep_id) .. '}')
            end
          end
        else
          local name
          if dep_key == '' then name = 'task ' .. dep_id else name = "'" .. dep_key .. "' (" .. dep_id .. ')' end
          local err = '{"message":' .. jstr('skipped: its hard dependency ' .. name .. ' ended ' .. dep_state) ..
            ',"code":"DEPENDENCY_FAILED"}'
          redis.call('HSET', ck, 'state', 'skipped', 'error', err, 'finished', NOWS, 'updated', NOWS)
          moved(f[2], 'blocked', 'skipped')
          emit('task.skipped', child, f[2], '', '{"dependency":' .. (dep_key ~= '' and jstr(dep_key) or 'null') ..
            ',"dependencyId":' .. jstr(dep_id) .. ',"dependencyState":"' .. dep_state .. '","error":' .. err .. '}')
          if f[7] == '1' then queue[#queue + 1] = { child, f[8] or '', 'skipped' } end
        end
      end
    end
  end
end
