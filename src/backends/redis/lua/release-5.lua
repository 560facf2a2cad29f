-- release: give leases back without counting their attempts (graceful shutdown, a handler that
-- deferred): each attempt is recorded as released, and its task is ready again at once, or
-- delayed for the item's delay. One answer per item.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     number of items, then per item: task id, token, delay in ms (0: ready at once),
--             reason (for the task.released event)
-- Returns     per item { 'ok', 'ready' | 'delayed' } or { status, reason } ('lease_lost',
--             'not_found')

--@include common
--@include graph
--@include lease

-- Like lease.lua's release_attempt (which an agent leaving uses), with a delay, and the delay in
-- the event's data. The token is kept, so the old holder stays fenced off.
local function release_later(t, delay, reason)
  drop_lease(t)
  local ck = tkey(t.id)
  local record = attempt_json(t.att, t.agent, t.started, NOWS, 'released', nil)
  local state
  if delay > 0 then
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
  emit('task.released', t.id, t.run, t.agent, '{"attempt":' .. t.att .. ',"reason":' .. jstr(reason) ..
    ',"delayMs":' .. delay .. '}')
  return state
end

local n = tonumber(ARGV[3])
local out = {}
for i = 1, n do
  local base = 3 + (i - 1) * 4
  local id, token = ARGV[base + 1], tonumber(ARGV[base + 2])
  local t = lease_of(id)
  local refused = refusal(t, token, false)
  if refused then
    out[i] = refused
  else
    out[i] = { 'ok', release_later(t, tonumber(ARGV[base + 3]), ARGV[base + 4]) }
  end
end
finish()
return out
