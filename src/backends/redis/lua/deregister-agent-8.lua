-- deregister-agent: the agent leaves. Its leases are released at once (attempts recorded as
-- released, tasks ready again), its wake-up marker is deleted, and it is stopped.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     agent     hash of the agent (a:<agent id>)
-- KEYS[7]     inflight  set of the task ids the agent holds (al:<agent id>)
-- KEYS[8]     hb        zset active agent id -> last heartbeat
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     agent id
-- Returns     { 'not_found' } or { 'ok', tasks released }

local K_AGENT, K_INFLIGHT, K_HB = KEYS[6], KEYS[7], KEYS[8]

--@include common
--@include graph
--@include lease

local agent = ARGV[3]
local state = redis.call('HGET', K_AGENT, 'state')
if not state then return { 'not_found' } end
if state == 'stopped' then return { 'ok', 0 } end
local released = 0
for _, id in ipairs(redis.call('SMEMBERS', K_INFLIGHT)) do
  local t = lease_of(id)
  if t and t.state == 'running' and t.agent == agent then
    release_attempt(t, 'agent_left')
    released = released + 1
  end
end
redis.call('DEL', K_INFLIGHT)
-- Its wake-up marker (wa:<id>, left by claims that deferred tasks to it) would outlive it.
redis.call('DEL', P .. 'wa:' .. agent)
redis.call('HSET', K_AGENT, 'state', 'stopped')
redis.call('ZREM', K_HB, agent)
-- (`<id>|s`: the stall mark earlier builds kept in ar, before the `stalled` hash.)
redis.call('HDEL', P .. 'ar', agent, agent .. '|n', agent .. '|s')
redis.call('HDEL', P .. 'stalled', agent)
emit('agent.left', '', '', agent, '{"from":"' .. state .. '"}')
finish()
return { 'ok', released }
