-- includes/registry.lua: ready queues and worker filters, and which filter takes which queue.
--
-- A queue holds the ready tasks of one task type and one requires set; it is named by the JSON
-- text [type, [sorted requires]] (e.g. ["train",["gpu","python"]]). A filter is what a claiming
-- or waiting worker takes: [[sorted capabilities]] for tasks of any type, or
-- [[sorted capabilities], [sorted types]] for tasks of those types only. Both get small integer
-- ids. A filter takes a queue when its capabilities cover the queue's requires set and, if it
-- names types, the queue's type is one of them. For every such pair, fq:<f> holds the queue and
-- qf:<q> holds the filter: a claim reads the ready queues q:<q> of fq:<f>, and a task becoming
-- ready in q:<q> wakes the idle workers blocked on w:<f> for each f in qf:<q>. Queues and
-- filters are few and permanent, so the pairing is computed once, when one of them is new.
--
-- Needs common.lua, and the locals K_QUEUES (hash queue id -> queue JSON), K_QUEUE_IDS (hash
-- queue JSON -> queue id) and K_FILTERS (hash filter JSON -> filter id) defined by the
-- including script.

-- A filter as sets: { caps = { name = true }, types = { type = true } or nil for any type }.
local function decode_filter(json)
  local f = cjson.decode(json)
  local caps = {}
  for _, name in ipairs(f[1]) do caps[name] = true end
  local types = nil
  if type(f[2]) == 'table' then
    types = {}
    for _, t in ipairs(f[2]) do types[t] = true end
  end
  return { caps = caps, types = types }
end

-- Whether a decoded filter takes the queue named by `queue_json`.
local function takes(filter, queue_json)
  local q = cjson.decode(queue_json)
  if filter.types and not filter.types[q[1]] then return false end
  for _, name in ipairs(q[2]) do
    if not filter.caps[name] then return false end
  end
  return true
end

local queue_cache = {}

-- The id of a queue, registering it (and pairing it with every filter that takes it) if new.
local function queue_id(json)
  local id = queue_cache[json]
  if id then return id end
  id = redis.call('HGET', K_QUEUE_IDS, json)
  if not id then
    id = tostring(redis.call('HLEN', K_QUEUES) + 1)
    redis.call('HSET', K_QUEUES, id, json)
    redis.call('HSET', K_QUEUE_IDS, json, id)
    local all = redis.call('HGETALL', K_FILTERS)
    for i = 1, #all, 2 do
      if takes(decode_filter(all[i]), json) then
        redis.call('SADD', P .. 'fq:' .. all[i + 1], id)
        redis.call('SADD', P .. 'qf:' .. id, all[i + 1])
      end
    end
  end
  queue_cache[json] = id
  return id
end

-- The id of a filter, registering it (and pairing it with every queue it takes) if new. A new
-- filter whose queues already hold ready tasks gets its wake-up marker at once.
local function filter_id(json)
  local id = redis.call('HGET', K_FILTERS, json)
  if id then return id end
  id = tostring(redis.call('HLEN', K_FILTERS) + 1)
  redis.call('HSET', K_FILTERS, json, id)
  local filter = decode_filter(json)
  local all = redis.call('HGETALL', K_QUEUES)
  local pending = false
  for i = 1, #all, 2 do
    if takes(filter, all[i + 1]) then
      redis.call('SADD', P .. 'fq:' .. id, all[i])
      redis.call('SADD', P .. 'qf:' .. all[i], id)
      if redis.call('ZCARD', P .. 'q:' .. all[i]) > 0 then pending = true end
    end
  end
  if pending then redis.call('ZADD', P .. 'w:' .. id, 0, 'm') end
  return id
end
