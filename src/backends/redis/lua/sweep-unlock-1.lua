-- sweep-unlock: a closing process gives up the sweep lock if it holds it, so another process
-- (or a reopened backend) sweeps at once.
--
-- KEYS[1]  lock  string, the id of the process that sweeps
-- ARGV[1]  id of the closing process
-- Returns  1 when the lock was released, else 0

if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
