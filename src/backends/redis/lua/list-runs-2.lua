-- list-runs: a page of runs in submission order (oldest or newest first), after a cursor.
--
-- KEYS[1]  prefix  `{baton:<ns>}:` (run hashes run:<id> are derived from it)
-- KEYS[2]  runs    zset run id -> seq
-- ARGV[1]  cursor: the seq of the last run of the previous page ('' for the first page)
-- ARGV[2]  limit
-- ARGV[3]  order: 'asc' (oldest first: seqs above the cursor) or 'desc' (newest first: below it)
-- Returns  { next cursor or '', run hash as a flat list, ... }

local cursor, limit = ARGV[1], tonumber(ARGV[2])
local ids
if ARGV[3] == 'desc' then
  local from = cursor == '' and '+inf' or '(' .. cursor
  ids = redis.call('ZREVRANGEBYSCORE', KEYS[2], from, '-inf', 'WITHSCORES', 'LIMIT', 0, limit + 1)
else
  local from = cursor == '' and '-inf' or '(' .. cursor
  ids = redis.call('ZRANGEBYSCORE', KEYS[2], from, '+inf', 'WITHSCORES', 'LIMIT', 0, limit + 1)
end
local out = { '' }
for i = 1, math.min(#ids, limit * 2), 2 do
  out[#out + 1] = redis.call('HGETALL', KEYS[1] .. 'run:' .. ids[i])
end
if #ids > limit * 2 then out[1] = ids[limit * 2] end
return out
