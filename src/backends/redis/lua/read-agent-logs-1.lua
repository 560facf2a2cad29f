-- read-agent-logs: a page of log lines across tasks after a cursor, of one agent's claims or of
-- every agent's, filtered by level and time (includes/logs.lua has the layout).
--
-- KEYS[1]     prefix
-- ARGV[1..7]  agent id ('' for every agent), after (exclusive seq), lowest level (0-3), since
--             (ms, inclusive), until (ms, exclusive), limit, scan (most lines looked at)
-- Returns     { lines, complete, scanned to }: lines flat, 8 values each (seq, task id, attempt,
--             agent, stream code, level, at, text) in seq order; complete 1 when every stored
--             line after the cursor was looked at, else 0 and scanned to: the last seq looked at.
--
-- Read-only: it stamps nothing.

--@include common
--@include logs

local agent, after, min_level = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local since, until_, limit, budget = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local ll = P .. 'll'
local lines = {}
local got, last, from = 0, after, int_str(after + 1)
local complete = 1
while true do
  if got >= limit or budget <= 0 then
    complete = 0
    break
  end
  local count = math.min(budget, 256)
  local entries = redis.call('XRANGE', ll, from, '+', 'COUNT', count)
  for _, e in ipairs(entries) do
    local f = log_meta(e[2])
    local seq = tonumber(string.match(e[1], '^(%d+)'))
    budget = budget - 1
    last = seq
    local at = tonumber(f.a)
    if (agent == '' or f.g == agent) and tonumber(f.l) >= min_level and at >= since and at < until_ then
      for _, v in ipairs({ int_str(seq), f.k, f.n, f.g, f.s, f.l, f.a, f.x }) do lines[#lines + 1] = v end
      got = got + 1
      if got >= limit then break end
    end
  end
  if got < limit and #entries < count then break end
  if #entries > 0 then from = '(' .. entries[#entries][1] end
end
return { lines, complete, int_str(last) }
