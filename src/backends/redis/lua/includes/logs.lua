-- includes/logs.lua: task logs (docs/logs.md), appended by append-logs-1.lua and by the lines that
-- complete, fail and release carry. Needs common.lua.
--
-- Keys derived from the prefix (the namespace's hash tag, so the same Cluster slot):
--   P lseq             string  the last seq given to a log line (lines are numbered across tasks)
--   P lm:<task>        hash    attempt -> what the bounds know of its log (log_state)
--   P lh:<task>:<att>  stream  the attempt's head lines; entry id '<seq>-0', fields s (stream: o
--                              stdout, e stderr, l log), l (level 0 debug .. 3 error), a (at), t (text)
--   P lt:<task>:<att>  stream  its tail lines, the same; the oldest are deleted (cut) while they
--                              hold more than the tail's bytes
--   P li               stream  one entry per stored line, id '<seq>-0': k task, n attempt, g agent,
--                              l level, a at, p part (h head, t tail): agent logs of every agent
--   P lia:<agent>      stream  the same for the lines of one agent's attempts, without g
--
-- The log section of a script's ARGV, from index i: head bytes, tail bytes, number of items, then
-- per item: task id, token, agent id, number of lines, then per line: stream code, level, text.
-- Bounds, as src/backends/sqlite/logs.ts applies them: a line goes to the head while it fits
-- there; the first that does not ends the head, and it and every later line go to the tail,
-- whose oldest lines are cut while it holds more than the tail bytes (lines of one append that
-- would be cut before it ends are never written, but keep their seq).

-- What the bounds know of an attempt's log, from its packed P lm:<task> field: '<lines> <head
-- lines> <head bytes> <head full 0|1> <tail bytes> <cut lines> <cut bytes> <cut to> <cut at>
-- <agent>' (the agent last: an agent id may hold spaces). A fresh state for nil.
local function log_state(packed)
  if not packed then
    return { lines = 0, hl = 0, hb = 0, hf = 0, tb = 0, cl = 0, cb = 0, ct = 0, ca = 0, agent = '' }
  end
  local lines, hl, hb, hf, tb, cl, cb, ct, ca, agent = string.match(packed,
    '^(%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (.*)$')
  return {
    lines = tonumber(lines), hl = tonumber(hl), hb = tonumber(hb), hf = tonumber(hf), tb = tonumber(tb),
    cl = tonumber(cl), cb = tonumber(cb), ct = tonumber(ct), ca = tonumber(ca), agent = agent,
  }
end

local function log_pack(s)
  return int_str(s.lines) .. ' ' .. int_str(s.hl) .. ' ' .. int_str(s.hb) .. ' ' .. int_str(s.hf) .. ' ' ..
    int_str(s.tb) .. ' ' .. int_str(s.cl) .. ' ' .. int_str(s.cb) .. ' ' .. int_str(s.ct) .. ' ' .. int_str(s.ca) ..
    ' ' .. s.agent
end

-- The seq of a stream entry id '<seq>-0'.
local function log_seq_of(id)
  return tonumber(string.match(id, '^(%d+)'))
end

-- The attempt a lease's token names and the agent that ran it; or nil and why ('task': no such
-- task, 'attempt': it never had an attempt with that token). An ended attempt has its record
-- (a:<token>); the running or succeeded one is the task's own fields.
local function log_attempt(task, token)
  local v = redis.call('HMGET', tkey(task), 'state', 'tok', 'att', 'agent', 'a:' .. token)
  if not v[1] then return nil, 'task' end
  if v[5] then
    local record = cjson.decode(v[5])
    return record.attempt, record.agentId
  end
  if v[2] == token then return tonumber(v[3]), v[4] or '' end
  return nil, 'attempt'
end

-- Append `n` lines, whose ARGV start at index `at`, to one attempt's log; `seq` is the last seq
-- given so far. Returns the last seq given.
local function log_append_attempt(task, att, agent, n, at, head_max, tail_max, seq)
  local atts = int_str(att)
  local mk = P .. 'lm:' .. task
  local s = log_state(redis.call('HGET', mk, atts))
  s.agent = agent
  local lh = P .. 'lh:' .. task .. ':' .. atts
  local lt = P .. 'lt:' .. task .. ':' .. atts
  local li = P .. 'li'
  local lia = P .. 'lia:' .. agent
  -- Stored tail lines (there are some only when the head was full before this append) are cut
  -- first, oldest first, read a chunk at a time and deleted together at the end.
  local stored, si, stored_left, stored_from = {}, 1, s.hf == 1 and s.tb > 0, '-'
  local dead = {}
  -- This append's tail lines, the first `pending_from - 1` of them cut before being written.
  local pending, pending_from = {}, 1
  for j = 0, n - 1 do
    local base = at + j * 3
    local code, lvl, text = ARGV[base], ARGV[base + 1], ARGV[base + 2]
    local bytes = #text
    seq = seq + 1
    s.lines = s.lines + 1
    if s.hf == 0 and s.hb + bytes <= head_max then
      s.hb = s.hb + bytes
      s.hl = s.hl + 1
      local id = int_str(seq) .. '-0'
      redis.call('XADD', lh, id, 's', code, 'l', lvl, 'a', NOWS, 't', text)
      redis.call('XADD', li, id, 'k', task, 'n', atts, 'g', agent, 'l', lvl, 'a', NOWS, 'p', 'h')
      redis.call('XADD', lia, id, 'k', task, 'n', atts, 'l', lvl, 'a', NOWS, 'p', 'h')
    else
      s.hf = 1
      s.tb = s.tb + bytes
      pending[#pending + 1] = { seq, code, lvl, text, bytes }
      while s.tb > tail_max do
        local cut_seq, cut_bytes
        if stored_left and si > #stored then
          stored = redis.call('XRANGE', lt, stored_from, '+', 'COUNT', 128)
          si = 1
          if #stored < 128 then stored_left = false end
          if #stored > 0 then stored_from = '(' .. stored[#stored][1] end
        end
        if si <= #stored then
          local entry = stored[si]
          si = si + 1
          dead[#dead + 1] = entry[1]
          cut_seq, cut_bytes = log_seq_of(entry[1]), #entry[2][8]
        else
          local line = pending[pending_from]
          pending_from = pending_from + 1
          cut_seq, cut_bytes = line[1], line[5]
        end
        s.tb = s.tb - cut_bytes
        s.cl = s.cl + 1
        s.cb = s.cb + cut_bytes
        s.ct = cut_seq
        s.ca = NOW
      end
    end
  end
  if #dead > 0 then
    call_chunked('XDEL', lt, dead)
    call_chunked('XDEL', li, dead)
    call_chunked('XDEL', lia, dead)
  end
  for j = pending_from, #pending do
    local line = pending[j]
    local id = int_str(line[1]) .. '-0'
    redis.call('XADD', lt, id, 's', line[2], 'l', line[3], 'a', NOWS, 't', line[4])
    redis.call('XADD', li, id, 'k', task, 'n', atts, 'g', agent, 'l', line[3], 'a', NOWS, 'p', 't')
    redis.call('XADD', lia, id, 'k', task, 'n', atts, 'l', line[3], 'a', NOWS, 'p', 't')
  end
  redis.call('HSET', mk, atts, log_pack(s))
  return seq
end

-- Append the log section of ARGV that starts at index `i` (see the header). Returns one answer
-- per item: 'ok', or why its lines were not stored: 'task', 'attempt' (log_attempt), 'agent'
-- (another agent ran the attempt).
local function append_logs(i)
  local head_max, tail_max, items = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local out = {}
  local seq = nil
  local first = nil
  local at = i + 3
  for k = 1, items do
    local task, token, agent, n = ARGV[at], ARGV[at + 1], ARGV[at + 2], tonumber(ARGV[at + 3])
    local att, holder = log_attempt(task, token)
    if not att then
      out[k] = holder
    elseif holder ~= agent then
      out[k] = 'agent'
    else
      out[k] = 'ok'
      if n > 0 then
        if not seq then
          seq = tonumber(redis.call('GET', P .. 'lseq') or '0')
          first = seq
        end
        seq = log_append_attempt(task, att, agent, n, at + 4, head_max, tail_max, seq)
      end
    end
    at = at + 4 + n * 3
  end
  if seq and seq ~= first then redis.call('SET', P .. 'lseq', int_str(seq)) end
  return out
end
