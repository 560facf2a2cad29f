-- includes/state.lua: shared state (docs/mcp.md). Needs common.lua (P, NOW, NOWS, int_str).
--
-- Keys derived from the prefix (same hash tag as every key of the namespace):
--   P s:<#scope>:<scope>:<key>  hash  v (value JSON), ver, exp ('' never), at: one entry. The
--                                     scope's length keeps (scope 'a:b', key 'c') apart from
--                                     (scope 'a', key 'b:c').
--   P sx:<scope>                zset  every key of the scope, score 0 (listing in key order)
--   P sxe:<scope>               zset  key -> expiry, the entries that expire
-- An entry whose exp has passed is absent for every script; writes delete such entries as they
-- go, and on the real clock PEXPIREAT lets Redis reclaim one nobody touches again.

local function state_key(scope, key)
  return P .. 's:' .. string.len(scope) .. ':' .. scope .. ':' .. key
end

-- The live entry { v, ver, exp, at } (exp '' for none), or nil when absent or expired.
local function state_entry(scope, key)
  local h = redis.call('HMGET', state_key(scope, key), 'v', 'ver', 'exp', 'at')
  if not h[1] then return nil end
  local exp = h[3] or ''
  if exp ~= '' and tonumber(exp) <= NOW then return nil end
  return { h[1], h[2], exp, h[4] }
end

-- Delete an entry and its index members.
local function state_drop(scope, key)
  redis.call('DEL', state_key(scope, key))
  redis.call('ZREM', P .. 'sx:' .. scope, key)
  redis.call('ZREM', P .. 'sxe:' .. scope, key)
end

-- Delete up to 100 expired entries of a scope.
local function state_expire(scope)
  local gone = redis.call('ZRANGEBYSCORE', P .. 'sxe:' .. scope, '-inf', NOWS, 'LIMIT', '0', '100')
  for _, key in ipairs(gone) do state_drop(scope, key) end
end
