-- state-set: write an entry of shared state (Backend.setState): a compare-and-set when an
-- expected version is given, under a lease when a fence is given, atomically.
--
-- KEYS[1]  prefix (includes/common.lua; entry keys are derived from it, includes/state.lua)
-- ARGV[1]  now ('' for the Redis server's clock)
-- ARGV[2]  scope, ARGV[3] key, ARGV[4] value JSON
-- ARGV[5]  ttl in ms ('' never expires)
-- ARGV[6]  expected version ('' any; '0' only when there is no entry)
-- ARGV[7]  fence: task id ('' none), ARGV[8] its token, ARGV[9] its holder agent id
-- Returns  { 'ok', version, expiry ('' none), now }; { 'version', current version ('' none) };
--          or the refusal of a lease the agent does not hold (includes/lease.lua)

--@include common
--@include lease
--@include state

local scope, key, json, ttl, expected = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if ARGV[7] ~= '' then
  local refused = refusal(lease_of(ARGV[7]), ARGV[9], tonumber(ARGV[8]))
  if refused then return refused end
end
state_expire(scope)
local current = state_entry(scope, key)
local version = current and tonumber(current[2]) or 0
if expected ~= '' and tonumber(expected) ~= version then
  return { 'version', current and current[2] or '' }
end
local sk = state_key(scope, key)
local nv = int_str(version + 1)
local exp = ''
if ttl ~= '' then exp = int_str(NOW + tonumber(ttl)) end
redis.call('DEL', sk)
redis.call('HSET', sk, 'v', json, 'ver', nv, 'exp', exp, 'at', NOWS)
redis.call('ZADD', P .. 'sx:' .. scope, '0', key)
if exp ~= '' then
  redis.call('ZADD', P .. 'sxe:' .. scope, exp, key)
  -- On the server's clock, Redis reclaims the entry itself if nobody touches it again.
  if ARGV[1] == '' then redis.call('PEXPIREAT', sk, exp) end
else
  redis.call('ZREM', P .. 'sxe:' .. scope, key)
end
return { 'ok', nv, exp, NOWS }
