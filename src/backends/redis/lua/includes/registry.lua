-- includes/registry.lua: requires sets and capability sets, and which covers which.
--
-- A requires set is a task's sorted `requires` list (JSON text, e.g. ["gpu","python"]); a
-- capability set is an agent's sorted capabilities (same form). Both get small integer ids. For
-- every pair where the capabilities cover the requirements, csr:<cs> holds the requires set and
-- rsw:<rs> holds the capability set: a claim reads the ready queues q:<rs> of csr:<cs>, and a
-- task becoming ready in q:<rs> wakes the idle workers blocked on w:<cs> for each cs in rsw:<rs>.
-- Both kinds of set are few and permanent, so the pairing is computed once, when one is new.
--
-- Needs common.lua, and the locals K_RS (hash rs id -> JSON), K_RSI (hash JSON -> rs id) and
-- K_CS (hash capability JSON -> cs id) defined by the including script.

local function as_set(json)
  local s = {}
  for _, name in ipairs(cjson.decode(json)) do s[name] = true end
  return s
end

local function covers(caps, requires_json)
  for _, name in ipairs(cjson.decode(requires_json)) do
    if not caps[name] then return false end
  end
  return true
end

local rs_cache = {}

-- The id of a requires set, registering it (and pairing it with every capability set) if new.
local function requires_id(json)
  local id = rs_cache[json]
  if id then return id end
  id = redis.call('HGET', K_RSI, json)
  if not id then
    id = tostring(redis.call('HLEN', K_RS) + 1)
    redis.call('HSET', K_RS, id, json)
    redis.call('HSET', K_RSI, json, id)
    local all = redis.call('HGETALL', K_CS)
    for i = 1, #all, 2 do
      if covers(as_set(all[i]), json) then
        redis.call('SADD', P .. 'csr:' .. all[i + 1], id)
        redis.call('SADD', P .. 'rsw:' .. id, all[i + 1])
      end
    end
  end
  rs_cache[json] = id
  return id
end

-- The id of a capability set, registering it (and pairing it with every requires set) if new.
-- A new set whose queues already hold ready tasks gets its wake-up marker at once.
local function capset_id(json)
  local id = redis.call('HGET', K_CS, json)
  if id then return id end
  id = tostring(redis.call('HLEN', K_CS) + 1)
  redis.call('HSET', K_CS, json, id)
  local caps = as_set(json)
  local all = redis.call('HGETALL', K_RS)
  local pending = false
  for i = 1, #all, 2 do
    if covers(caps, all[i + 1]) then
      redis.call('SADD', P .. 'csr:' .. id, all[i])
      redis.call('SADD', P .. 'rsw:' .. all[i], id)
      if redis.call('ZCARD', P .. 'q:' .. all[i]) > 0 then pending = true end
    end
  end
  if pending then redis.call('ZADD', P .. 'w:' .. id, 0, 'm') end
  return id
end
