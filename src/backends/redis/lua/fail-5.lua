-- fail: record the failure of leased attempts, one answer per item: retry (delayed by the
-- given backoff, or ready at once for 0) while attempts are left and the failure is retryable,
-- else fail the task and skip (or release, for soft edges) its dependents.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     number of items, then per item: task id, token, holder agent id, error JSON,
--             retryable ('1'/'0'), retry delay in ms (computed by the client from the task's
--             backoff policy), outcome ('failed' or 'timed_out'), how long the handler ran in ms
--             ('' when its worker did not say)
-- ARGV[4 + n * 8 ..]  optional: the lines the items carry (includes/logs.lua carried_at: per
--             item, its lines' streams and levels in one argument, then their texts), stored in
--             the same step as the outcomes
-- Returns     per item { 'ok', new state }, or a refusal (includes/lease.lua): a lease the item's
--             agent does not hold is left as it is

--@include common
--@include graph
--@include lease
--@include logs

local n = tonumber(ARGV[3])
-- The lines the items carry (stored in this same step as their outcomes), and the attempts of
-- the leases this call found held (item -> attempt), whose claims the log append then need not
-- look up again.
local logs_at = #ARGV > 3 + n * 8 and 4 + n * 8 or nil
local carried = carried_at(logs_at, n)
local held = carried and {} or nil
local out = {}
for i = 1, n do
  local base = 3 + (i - 1) * 8
  local id, token, holder = ARGV[base + 1], tonumber(ARGV[base + 2]), ARGV[base + 3]
  local t = lease_of(id)
  local refused = refusal(t, holder, token)
  if refused then
    out[i] = refused
  else
    if held then held[i] = t.att end
    local run_ms = ARGV[base + 8]
    local state = end_attempt(t, ARGV[base + 7], ARGV[base + 4], ARGV[base + 5] == '1', tonumber(ARGV[base + 6]),
      run_ms ~= '' and run_ms or nil)
    if t.agent ~= '' then progressed[t.agent] = true end
    out[i] = { 'ok', state }
  end
end
mark_progress()
if carried then append_carried(logs_at, carried, n, 8, nil, held) end
finish()
return out
