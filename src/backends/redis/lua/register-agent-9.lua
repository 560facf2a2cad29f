-- register-agent: register an agent, or make a known one active again with what it says about
-- itself now.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     agents    zset agent id -> startedAt (listing order)
-- KEYS[7]     hb        zset active agent id -> last heartbeat
-- KEYS[8]     agent     hash of the agent (a:<agent id>)
-- KEYS[9]     inflight  set of the task ids the agent holds (al:<agent id>)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3..11] id, name, capabilities JSON (sorted), labels JSON, concurrency, host, pid,
--             version, owner ('' for none)
-- Returns     { agent hash as a flat list, in-flight task ids, counters (agent-stats:<id>) as a
--             flat list }, or { 'owner' } when the id is registered with another owner (field
--             own: an agent keeps the owner of its first registration; nothing changes)
--
-- A registration starts healthy: its progress is now, no stall, no unreported timeout, no
-- process report yet. The counters are kept: they belong to the agent id.

local K_AGENTS, K_HB, K_AGENT, K_INFLIGHT = KEYS[6], KEYS[7], KEYS[8], KEYS[9]

--@include common

local id, name, caps, concurrency, owner = ARGV[3], ARGV[4], ARGV[5], ARGV[7], ARGV[11]
local known = redis.call('HMGET', K_AGENT, 'id', 'own', 'cf', 'rc', 'lc')
if known[1] and (known[2] or '') ~= owner then return { 'owner' } end
-- An agent registered again keeps its claim filter and recent claims: its routing summary (ar,
-- includes/routing.lua summary_text) takes the new concurrency; it is not stalled.
if known[3] then
  redis.call('HSET', P .. 'ar', id, known[3] .. ' ' .. math.max(1, tonumber(concurrency) or 1) .. ' ' ..
    (known[4] or '0') .. ' ' .. (known[5] or ''))
end
-- (And the stall mark earlier builds kept in ar, `<id>|s`, before the `stalled` hash.)
redis.call('HDEL', P .. 'stalled', id)
redis.call('HDEL', P .. 'ar', id .. '|s')
redis.call('HSET', K_AGENT, 'id', id, 'name', name, 'caps', caps, 'labels', ARGV[6], 'conc', concurrency,
  'host', ARGV[8], 'pid', ARGV[9], 'ver', ARGV[10], 'own', owner, 'state', 'active', 'started', NOWS, 'hb', NOWS,
  'prog', NOWS, 'ovd', '', 'stall', '', 'cpu', '', 'rss', '', 'abh', '0')
redis.call('ZADD', K_AGENTS, NOWS, id)
redis.call('ZADD', K_HB, NOWS, id)
emit('agent.joined', '', '', id, '{"name":' .. jstr(name) .. ',"capabilities":' .. caps .. ',"concurrency":' ..
  concurrency .. '}')
finish()
return { redis.call('HGETALL', K_AGENT), redis.call('SMEMBERS', K_INFLIGHT),
  redis.call('HGETALL', P .. 'agent-stats:' .. id) }
