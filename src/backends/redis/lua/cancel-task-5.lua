-- cancel-task: cancel a task that is not terminal (a no-op for a terminal one). A running
-- task's attempt ends as cancelled and its holder learns of it on its next renew; hard
-- dependents are skipped, soft ones released.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     task id
-- ARGV[4]     reason
-- Returns     { 'not_found' } or { 'ok', task hash as a flat list, after the cancel }

--@include common
--@include graph
--@include lease

local id = ARGV[3]
local state = redis.call('HGET', tkey(id), 'state')
if not state then return { 'not_found' } end
if not TERMINAL[state] then
  local t = cancel_one(id, state, ARGV[4])
  if t.hasDn then settle_dependents(id, t.key, 'cancelled') end
  finish()
end
return { 'ok', redis.call('HGETALL', tkey(id)) }
