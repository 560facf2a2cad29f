-- list-agents: every agent of the namespace in registration order, with its in-flight tasks.
--
-- KEYS[1]  prefix  `{baton:<ns>}:` (agent hashes a:<id> and sets al:<id> are derived from it)
-- KEYS[2]  agents  zset agent id -> startedAt
-- Returns  { { agent hash as a flat list, in-flight task ids }, ... }

local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  out[#out + 1] = { redis.call('HGETALL', KEYS[1] .. 'a:' .. id), redis.call('SMEMBERS', KEYS[1] .. 'al:' .. id) }
end
return out
