-- heartbeat: record that an active agent is alive, and its process report when it sent one. A
-- heartbeat proves the process alive, not that its worker loop makes progress (renew does).
--
-- KEYS[1]  agent   hash of the agent (a:<agent id>)
-- KEYS[2]  hb      zset active agent id -> last heartbeat
-- KEYS[3]  evmeta  hash of the namespace's event stream: its latest recorded time (store_now)
-- ARGV[1]  now ('' for the Redis server's clock: includes/common.lua store_now)
-- ARGV[2]  agent id
-- ARGV[3]  '1' when a report came (ARGV[4..6]), '0' to keep the last one
-- ARGV[4]  CPU % of the agent's process ('' for unknown)
-- ARGV[5]  RSS bytes of the agent's process ('' for unknown)
-- ARGV[6]  handlers its worker abandoned that still run
-- Returns  1, or 0 when the agent is not registered or not active (lost, stopped)

--@include common

if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 0 end
-- The same clock as the sweep that compares it with the agent TTL.
local now = int_str((store_now(KEYS[3], ARGV[1])))
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'hb', now, 'cpu', ARGV[4], 'rss', ARGV[5], 'abh', ARGV[6])
else
  redis.call('HSET', KEYS[1], 'hb', now)
end
redis.call('ZADD', KEYS[2], now, ARGV[2])
return 1
