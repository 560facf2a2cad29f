-- state-list: a page of the live entries of a scope, in key order (Backend.listState).
--
-- KEYS[1]  prefix (includes/common.lua; entry keys are derived from it, includes/state.lua)
-- ARGV[1]  now ('' for the Redis server's clock)
-- ARGV[2]  scope, ARGV[3] key prefix ('' every key), ARGV[4] after this key ('' from the first)
-- ARGV[5]  limit
-- Returns  a flat list: key, value JSON, version, expiry ('' none), updated at; per entry

--@include common
--@include state

local scope, prefix, after, limit = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local index = P .. 'sx:' .. scope
local min = '-'
if after ~= '' and after >= prefix then
  min = '(' .. after
elseif prefix ~= '' then
  min = '[' .. prefix
end
local out = {}
local n = 0
while n < limit do
  local keys = redis.call('ZRANGEBYLEX', index, min, '+', 'LIMIT', '0', int_str(limit * 2))
  if #keys == 0 then break end
  for _, key in ipairs(keys) do
    if string.sub(key, 1, string.len(prefix)) ~= prefix then return out end
    local e = state_entry(scope, key)
    if e then
      out[#out + 1] = key
      out[#out + 1] = e[1]
      out[#out + 1] = e[2]
      out[#out + 1] = e[3]
      out[#out + 1] = e[4]
      n = n + 1
      if n >= limit then return out end
    end
  end
  min = '(' .. keys[#keys]
end
return out
