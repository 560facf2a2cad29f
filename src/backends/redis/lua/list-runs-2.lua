-- list-runs: a page of runs in submission order, after a cursor.
--
-- KEYS[1]  prefix  `{baton:<ns>}:` (run hashes run:<id> are derived from it)
-- KEYS[2]  runs    zset run id -> seq
-- ARGV[1]  cursor: the seq after which to start ('0' for the beginning)
-- ARGV[2]  limit
-- Returns  { next cursor or '', run hash as a flat list, ... }

local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]) + 1)
local limit = tonumber(ARGV[2])
local out = { '' }
for i = 1, math.min(#ids, limit * 2), 2 do
  out[#out + 1] = redis.call('HGETALL', KEYS[1] .. 'run:' .. ids[i])
end
if #ids > limit * 2 then out[1] = ids[limit * 2] end
return out
