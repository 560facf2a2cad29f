-- release: give leases back without counting their attempts (graceful shutdown, a handler that
-- deferred): each attempt is recorded as released, and its task is ready again at once, or
-- delayed for the item's delay. One answer per item.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     number of items, then per item: task id, token, holder agent id, delay in ms (0:
--             ready at once), reason (for the task.released event)
-- ARGV[4 + n * 5 ..]  optional: the lines the items carry (includes/logs.lua carried_at: per
--             item, its lines' streams and levels in one argument, then their texts), stored in
--             the same step as the outcomes
-- Returns     per item { 'ok', 'ready' | 'delayed' }, or a refusal (includes/lease.lua): a lease
--             the item's agent does not hold is left as it is

--@include common
--@include graph
--@include lease
--@include logs

local n = tonumber(ARGV[3])
-- The lines the items carry (stored in this same step as their outcomes), and the attempts of
-- the leases this call found held (item -> attempt), whose claims the log append then need not
-- look up again.
local logs_at = #ARGV > 3 + n * 5 and 4 + n * 5 or nil
local carried = carried_at(logs_at, n)
local held = carried and {} or nil
local out = {}
for i = 1, n do
  local base = 3 + (i - 1) * 5
  local id, token, holder = ARGV[base + 1], tonumber(ARGV[base + 2]), ARGV[base + 3]
  local t = lease_of(id)
  local refused = refusal(t, holder, token)
  if refused then
    out[i] = refused
  else
    if held then held[i] = t.att end
    out[i] = { 'ok', release_attempt(t, ARGV[base + 5], tonumber(ARGV[base + 4])) }
  end
end
if carried then append_carried(logs_at, carried, n, 5, nil, held) end
finish()
return out
