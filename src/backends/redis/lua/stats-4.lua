-- stats: task counts by state, ready tasks by queue (type and requires set), agents by state.
--
-- KEYS[1]  prefix  `{baton:<ns>}:` (ready queues q:<q> and agent hashes a:<id> are derived)
-- KEYS[2]  counts  hash state -> number of tasks
-- KEYS[3]  queues  hash queue id -> queue JSON [type, [requires]] (includes/registry.lua)
-- KEYS[4]  agents  zset agent id -> startedAt
-- Returns  { counts as a flat list, { queue JSON, ready count, ... } for the queues that have
--          ready tasks, { agent state, ... } }

local ready = {}
local queues = redis.call('HGETALL', KEYS[3])
for i = 1, #queues, 2 do
  local n = redis.call('ZCARD', KEYS[1] .. 'q:' .. queues[i])
  if n > 0 then
    ready[#ready + 1] = queues[i + 1]
    ready[#ready + 1] = n
  end
end
local agents = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  agents[#agents + 1] = redis.call('HGET', KEYS[1] .. 'a:' .. id, 'state') or 'stopped'
end
return { redis.call('HGETALL', KEYS[2]), ready, agents }
