-- heartbeat: record that an active agent is alive, and its process report when it sent one. A
-- heartbeat proves the process alive, not that its worker loop makes progress (renew does).
--
-- KEYS[1]  agent  hash of the agent (a:<agent id>)
-- KEYS[2]  hb     zset active agent id -> last heartbeat
-- ARGV[1]  now
-- ARGV[2]  agent id
-- ARGV[3]  '1' when a report came (ARGV[4..6]), '0' to keep the last one
-- ARGV[4]  CPU % of the agent's process ('' for unknown)
-- ARGV[5]  RSS bytes of the agent's process ('' for unknown)
-- ARGV[6]  handlers its worker abandoned that still run
-- Returns  1, or 0 when the agent is not registered or not active (lost, stopped)

if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 0 end
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'hb', ARGV[1], 'cpu', ARGV[4], 'rss', ARGV[5], 'abh', ARGV[6])
else
  redis.call('HSET', KEYS[1], 'hb', ARGV[1])
end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
return 1
