-- renew: extend leases that are still held, and record the agent's heartbeat, the progress of
-- its worker loop (even with no leases) and its process report when it sent one. One answer
-- per item; a cancelled task answers 'cancelled' so its handler stops.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     agent  hash of the renewing agent (a:<agent id>)
-- KEYS[7]     hb     zset active agent id -> last heartbeat
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     agent id
-- ARGV[4]     lease duration in ms
-- ARGV[5]     '1' when a report came (ARGV[6..8]), '0' to keep the last one
-- ARGV[6]     CPU % of the agent's process ('' for unknown)
-- ARGV[7]     RSS bytes of the agent's process ('' for unknown)
-- ARGV[8]     handlers its worker abandoned that still run
-- ARGV[9]     number of items, then per item: task id, token
-- Returns     per item { 'ok', 'running', expiresAt }, or a refusal (includes/lease.lua): a
--             lease this agent does not hold is left as it is

local K_AGENT, K_HB = KEYS[6], KEYS[7]

--@include common
--@include graph
--@include lease

local agent, ttl = ARGV[3], tonumber(ARGV[4])
if redis.call('HGET', K_AGENT, 'state') == 'active' then
  if ARGV[5] == '1' then
    redis.call('HSET', K_AGENT, 'hb', NOWS, 'prog', NOWS, 'cpu', ARGV[6], 'rss', ARGV[7], 'abh', ARGV[8])
  else
    redis.call('HSET', K_AGENT, 'hb', NOWS, 'prog', NOWS)
  end
  redis.call('ZADD', K_HB, NOWS, agent)
end
local expires = NOW + ttl
local n = tonumber(ARGV[9])
local out = {}
for i = 1, n do
  local base = 9 + (i - 1) * 2
  local id, token = ARGV[base + 1], tonumber(ARGV[base + 2])
  local t = lease_of(id)
  local refused = refusal(t, agent, token)
  if refused then
    out[i] = refused
  else
    redis.call('HSET', tkey(id), 'lease', expires)
    local deadline = expires
    if t.dl and t.dl < deadline then deadline = t.dl end
    redis.call('ZADD', K_RUNNING, deadline, id)
    out[i] = { 'ok', 'running', expires }
  end
end
return out
