-- read-logs: a page of one task's log after a cursor, every attempt's or one attempt's lines
-- (includes/logs.lua has the layout), and what each attempt's bounds cut after the cursor.
--
-- KEYS[1]     prefix
-- ARGV[1..6]  task id, after (exclusive seq), attempt ('' for every one), stream code ('' for
--             every stream), limit (lines per attempt), scan (most entries looked at per attempt)
-- Returns     { 'not_found' } when there is no such task; else { 'ok', lines, cuts, complete,
--             scanned to }: lines flat, 6 values each (seq, attempt, stream code, level, at, text)
--             in seq order per attempt; cuts flat, 7 values per attempt that cut lines after the
--             cursor (attempt, agent, head lines, cut lines, cut bytes, cut to, cut at); agents
--             flat (attempt, agent) for every attempt read; complete 1 when every attempt was read
--             to its end, else 0 and scanned to: no attempt has an unread line at or below it.
--
-- Read-only: it stamps nothing.

--@include common
--@include logs

local task, after, want_att, want_s = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local limit, scan = tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('EXISTS', tkey(task)) == 0 then return { 'not_found' } end
local meta = redis.call('HGETALL', P .. 'lm:' .. task)
local lines, cuts, agents = {}, {}, {}
local complete, scanned_to = 1, nil
local start = int_str(after + 1)
for i = 1, #meta, 2 do
  local att = meta[i]
  if want_att == '' or want_att == att then
    local s = log_state(meta[i + 1])
    agents[#agents + 1] = att
    agents[#agents + 1] = s.agent
    if s.cl > 0 and s.ct > after then
      for _, v in ipairs({ att, s.agent, int_str(s.hl), int_str(s.cl), int_str(s.cb), int_str(s.ct), int_str(s.ca) }) do
        cuts[#cuts + 1] = v
      end
    end
    local got, budget, last = 0, scan, after
    local stopped = false
    for _, part in ipairs({ 'lh:', 'lt:' }) do
      local key = P .. part .. task .. ':' .. att
      local from = start
      while true do
        if got >= limit or budget <= 0 then
          stopped = true
          break
        end
        local count = math.min(budget, 256)
        local entries = redis.call('XRANGE', key, from, '+', 'COUNT', count)
        for _, e in ipairs(entries) do
          local f = e[2]
          local seq = log_seq_of(e[1])
          budget = budget - 1
          last = seq
          if want_s == '' or f[2] == want_s then
            for _, v in ipairs({ int_str(seq), att, f[2], f[4], f[6], f[8] }) do lines[#lines + 1] = v end
            got = got + 1
            if got >= limit then
              stopped = true
              break
            end
          end
        end
        if stopped or #entries < count then break end
        from = '(' .. entries[#entries][1]
      end
      if stopped then break end
    end
    if stopped then
      complete = 0
      if not scanned_to or last < scanned_to then scanned_to = last end
    end
  end
end
return { 'ok', lines, cuts, agents, complete, scanned_to and int_str(scanned_to) or '' }
