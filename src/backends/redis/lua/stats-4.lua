-- stats: task counts by state, ready tasks by requires set, agents by state.
--
-- KEYS[1]  prefix  `{baton:<ns>}:` (ready queues q:<rs> and agent hashes a:<id> are derived)
-- KEYS[2]  counts  hash state -> number of tasks
-- KEYS[3]  rs      hash requires-set id -> requires JSON
-- KEYS[4]  agents  zset agent id -> startedAt
-- Returns  { counts as a flat list, { requires JSON, ready count, ... }, { agent state, ... } }

local ready = {}
local sets = redis.call('HGETALL', KEYS[3])
for i = 1, #sets, 2 do
  local n = redis.call('ZCARD', KEYS[1] .. 'q:' .. sets[i])
  if n > 0 then
    ready[#ready + 1] = sets[i + 1]
    ready[#ready + 1] = n
  end
end
local agents = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  agents[#agents + 1] = redis.call('HGET', KEYS[1] .. 'a:' .. id, 'state') or 'stopped'
end
return { redis.call('HGETALL', KEYS[2]), ready, agents }
