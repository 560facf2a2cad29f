-- read-logs: a page of one task's log after a cursor, every claim's lines or one attempt's
-- (includes/logs.lua has the layout), and what each claim's bounds cut after the cursor.
--
-- KEYS[1]     prefix
-- ARGV[1..6]  task id, after (exclusive seq), attempt ('' for every one), stream code ('' for
--             every stream), limit (lines per claim), scan (most lines looked at per claim)
-- Returns     { 'not_found' } when there is no such task; else { 'ok', lines, cuts, claims,
--             complete, scanned to }: lines flat, 6 values each (seq, token, stream code, level,
--             at, text), in seq order per claim; cuts flat, 6 values per claim that cut lines after
--             the cursor (token, head lines, cut lines, cut bytes, cut to, cut at); claims flat
--             (token, attempt, agent) for every claim read; complete 1 when every claim was read
--             to its end, else 0, and scanned to: no claim has an unread line at or below it.
--
-- Read-only: it stamps nothing.

--@include common
--@include logs

local task, after, want_att, want_s = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local limit, scan = tonumber(ARGV[5]), tonumber(ARGV[6])
local found = redis.call('HMGET', tkey(task), 'state', 'tok')
if not found[1] then return { 'not_found' } end
local last_token = tonumber(found[2]) or 0
local lines, cuts, claims = {}, {}, {}
local complete, scanned_to = 1, nil
if last_token > 0 then
  local fields = {}
  for t = 1, last_token do fields[t] = 'lg:' .. t end
  local records = redis.call('HMGET', tkey(task), unpack(fields))
  -- A claim logged by a build that kept the records in P lg ('<task> <token>' fields).
  if redis.call('EXISTS', P .. 'lg') == 1 then
    local old = {}
    for t = 1, last_token do old[t] = task .. ' ' .. t end
    local before = redis.call('HMGET', P .. 'lg', unpack(old))
    for t = 1, last_token do
      if not records[t] then records[t] = before[t] end
    end
  end
  for t = 1, last_token do
    local record = records[t] or nil
    local s, head_seqs = log_record(record)
    if s and (want_att == '' or tonumber(want_att) == s.att) then
      local token = int_str(t)
      for _, v in ipairs({ token, int_str(s.att), s.agent }) do claims[#claims + 1] = v end
      if s.cl > 0 and s.ct > after then
        for _, v in ipairs({ token, int_str(s.hl), int_str(s.cl), int_str(s.cb), int_str(s.ct), int_str(s.ca) }) do
          cuts[#cuts + 1] = v
        end
      end
      local got, budget, last = 0, scan, after
      local stopped = false
      local function take(seq)
        budget = budget - 1
        last = seq
        local f = log_line(seq)
        if f and (want_s == '' or f.s == want_s) then
          for _, v in ipairs({ int_str(seq), token, f.s, f.l, f.a, f.x }) do lines[#lines + 1] = v end
          got = got + 1
        end
        if got >= limit or budget <= 0 then stopped = true end
      end
      -- The head, by the seqs its record holds.
      for _, seq in ipairs(head_seqs) do
        if stopped then break end
        if seq > after then take(seq) end
      end
      -- The tail, from the first line after the cursor.
      if not stopped and s.hf == 1 then
        local key = P .. 'lt:' .. task .. ':' .. token
        local n = redis.call('LLEN', key)
        local from = n > 0 and log_after(key, n, after) or 0
        while from < n and not stopped do
          local entries = redis.call('LRANGE', key, from, from + math.min(budget, 256) - 1)
          from = from + #entries
          for _, e in ipairs(entries) do
            take((log_tail_entry(e)))
            if stopped then break end
          end
        end
      end
      if stopped then
        complete = 0
        if not scanned_to or last < scanned_to then scanned_to = last end
      end
    end
  end
end
return { 'ok', lines, cuts, claims, complete, scanned_to and int_str(scanned_to) or '' }
