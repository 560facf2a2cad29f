-- release: give leases back without counting their attempts (graceful shutdown): each task is
-- ready again at once, its attempt recorded as released. One answer per item.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     number of items, then per item: task id, token
-- Returns     per item { 'ok', 'ready' } or { status, reason } ('lease_lost', 'not_found')

--@include common
--@include graph
--@include lease

local n = tonumber(ARGV[3])
local out = {}
for i = 1, n do
  local base = 3 + (i - 1) * 2
  local id, token = ARGV[base + 1], tonumber(ARGV[base + 2])
  local t = lease_of(id)
  local refused = refusal(t, token, false)
  if refused then
    out[i] = refused
  else
    release_attempt(t, 'released')
    out[i] = { 'ok', 'ready' }
  end
end
finish()
return out
