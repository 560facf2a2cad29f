-- run-keys: what adding tasks to a run needs to validate them: the run's state, the version of
-- its key index (bumped by every addition; the commit checks it did not move), and its keys.
--
-- KEYS[1]  run  hash of the run (run:<id>)
-- KEYS[2]  rk   hash task key -> task id of the run (rk:<id>)
-- Returns  {} when the run does not exist, else { state, keys version, { key, id, ... } }

local run = redis.call('HMGET', KEYS[1], 'state', 'kv')
if not run[1] then return {} end
return { run[1], run[2] or '0', redis.call('HGETALL', KEYS[2]) }
