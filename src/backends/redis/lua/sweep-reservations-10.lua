-- sweep-reservations: release the reservations whose lease is not held any more: their task is
-- not running under their token, or its lease ran out (the sweep, after sweep-11.lua ended the
-- expired leases). Looks at up to `limit` reservations a call, oldest first from where the
-- previous call stopped, so a crowd of healthy reservations cannot hide a lapsed one for long.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     budgets, KEYS[7] held, KEYS[8] rsv, KEYS[9] rsvz (includes/ledger.lua)
-- KEYS[10]    rsvoff   string: where the next call starts in rsvz
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     most reservations looked at
-- Returns     how many were released

--@include common
--@include ledger

local K_BUDGETS, K_HELD, K_RSV, K_RSVZ, K_OFF = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local limit = tonumber(ARGV[3])
local from = tonumber(redis.call('GET', K_OFF) or '0')
local ids = redis.call('ZRANGE', K_RSVZ, from, from + limit - 1)
if #ids == 0 and from > 0 then
  from = 0
  ids = redis.call('ZRANGE', K_RSVZ, 0, limit - 1)
end
local released, removed = 0, 0
for _, rid in ipairs(ids) do
  local text = redis.call('HGET', K_RSV, rid)
  local lapsed = true
  if text then
    local task, tok = parse_reservation(text)
    local f = redis.call('HMGET', tkey(task), 'state', 'tok', 'lease')
    lapsed = not (f[1] == 'running' and tonumber(f[2]) == tok and (tonumber(f[3]) or -1) >= NOW)
  end
  if lapsed then
    if text then
      let_go(K_BUDGETS, K_HELD, K_RSV, K_RSVZ, rid, nil)
      released = released + 1
    else
      redis.call('ZREM', K_RSVZ, rid)
    end
    removed = removed + 1
  end
end
-- The next call starts after the ones kept here (the others left the zset), or anew.
local next_from = from + #ids - removed
if #ids < limit then next_from = 0 end
redis.call('SET', K_OFF, int_str(next_from))
return released
