-- list-tasks: a page of tasks in submission order, after a cursor, with optional filters.
-- Filters are checked task by task, so one call examines at most `budget` tasks: a page may
-- come back short (even empty) with a next cursor when matches are sparse.
--
-- KEYS[1]  prefix   `{baton:<ns>}:` (task hashes t:<id> are derived from it)
-- KEYS[2]  index    zset task id -> seq: every task (tasks) or one run's (rt:<run id>)
-- KEYS[3]  pending  zset staged submission -> stage time (their tasks are not listed yet)
-- ARGV[1]  cursor: the seq after which to start ('0' for the beginning)
-- ARGV[2]  limit
-- ARGV[3]  state filter ('' for any)
-- ARGV[4]  type filter ('' for any)
-- ARGV[5]  agent filter ('' for any)
-- ARGV[6]  budget: most tasks examined
-- Returns  { next cursor or '', task hash as a flat list, ... }

local P, index, pending = KEYS[1], KEYS[2], KEYS[3]
local after, limit = ARGV[1], tonumber(ARGV[2])
local want_state, want_type, want_agent = ARGV[3], ARGV[4], ARGV[5]
local budget = tonumber(ARGV[6])
local out = { '' }
local examined = 0
while true do
  local batch = redis.call('ZRANGEBYSCORE', index, '(' .. after, '+inf', 'WITHSCORES', 'LIMIT', 0, 100)
  if #batch == 0 then return out end
  for i = 1, #batch, 2 do
    local id = batch[i]
    local f = redis.call('HMGET', P .. 't:' .. id, 'state', 'type', 'agent', 'sub')
    local match = f[1] and (want_state == '' or f[1] == want_state) and (want_type == '' or f[2] == want_type) and
      (want_agent == '' or f[3] == want_agent)
    if match and f[4] and redis.call('ZSCORE', pending, f[4]) then match = false end
    after = batch[i + 1]
    examined = examined + 1
    if match then
      out[#out + 1] = redis.call('HGETALL', P .. 't:' .. id)
      if #out - 1 == limit then
        local rest = redis.call('ZRANGEBYSCORE', index, '(' .. after, '+inf', 'LIMIT', 0, 1)
        if #rest > 0 then out[1] = after end
        return out
      end
    end
    if examined >= budget then
      out[1] = after
      return out
    end
  end
end
