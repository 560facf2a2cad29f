-- state-delete: delete an entry of shared state (Backend.deleteState), when its version is the
-- expected one if given, under a lease when a fence is given, atomically.
--
-- KEYS[1]  prefix (includes/common.lua; entry keys are derived from it, includes/state.lua)
-- ARGV[1]  now ('' for the Redis server's clock)
-- ARGV[2]  scope, ARGV[3] key
-- ARGV[4]  expected version ('' any)
-- ARGV[5]  fence: task id ('' none), ARGV[6] its token, ARGV[7] its holder agent id
-- Returns  { 'ok' } when there was no entry; { 'ok', value JSON, version, expiry, updated at }
--          for the entry deleted; { 'version', current version ('' none) }; or the refusal of a
--          lease the agent does not hold (includes/lease.lua)

--@include common
--@include lease
--@include state

local scope, key, expected = ARGV[2], ARGV[3], ARGV[4]
if ARGV[5] ~= '' then
  local refused = refusal(lease_of(ARGV[5]), ARGV[7], tonumber(ARGV[6]))
  if refused then return refused end
end
state_expire(scope)
local current = state_entry(scope, key)
if expected ~= '' and (not current or tonumber(expected) ~= tonumber(current[2])) then
  return { 'version', current and current[2] or '' }
end
if not current then return { 'ok' } end
state_drop(scope, key)
return { 'ok', current[1], current[2], current[3], current[4] }
