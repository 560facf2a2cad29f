-- state-get: a live entry of shared state (Backend.getState).
--
-- KEYS[1]  prefix (includes/common.lua; the entry's key is derived from it, includes/state.lua)
-- ARGV[1]  now ('' for the Redis server's clock)
-- ARGV[2]  scope, ARGV[3] key
-- Returns  { value JSON, version, expiry ('' for none), updated at }, or an empty list

--@include common
--@include state

return state_entry(ARGV[2], ARGV[3]) or {}
