-- list-agents: every agent of the namespace in registration order, with its in-flight tasks
-- and its counters.
--
-- KEYS[1]  prefix  `{baton:<ns>}:` (agent hashes a:<id>, sets al:<id> and counter hashes
--                  agent-stats:<id> are derived from it)
-- KEYS[2]  agents  zset agent id -> startedAt
-- Returns  { { agent hash as a flat list, in-flight task ids, counters as a flat list }, ... }

local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  out[#out + 1] = { redis.call('HGETALL', KEYS[1] .. 'a:' .. id), redis.call('SMEMBERS', KEYS[1] .. 'al:' .. id),
    redis.call('HGETALL', KEYS[1] .. 'agent-stats:' .. id) }
end
return out
