-- heartbeat: record that an active agent is alive.
--
-- KEYS[1]  agent  hash of the agent (a:<agent id>)
-- KEYS[2]  hb     zset active agent id -> last heartbeat
-- ARGV[1]  now
-- ARGV[2]  agent id
-- Returns  1, or 0 when the agent is not registered or not active (lost, stopped)

if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 0 end
redis.call('HSET', KEYS[1], 'hb', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
return 1
