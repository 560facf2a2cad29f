-- includes/logs.lua: task logs (docs/logs.md), appended by append-logs-1.lua and by the lines that
-- complete, fail and release carry. Needs common.lua.
--
-- A log belongs to one claim of a task (its token: one AttemptRecord), which holds the attempt
-- number. Keys derived from the prefix (the namespace's hash tag, one Cluster slot):
--   P lseq             string  the last seq given to a log line (lines are numbered across tasks)
--   P ll               stream  every stored line, entry id '<seq>-0', fields m '<task> <token>
--                              <attempt> <at> <agent>' (the claim and the time of the append; the
--                              agent last: it may hold spaces), c '<stream><level>' (stream o
--                              stdout, e stderr, l log; level 0 debug .. 3 error), x the text: the
--                              lines themselves, read by seq for a task's log and in order for
--                              agent logs (log_meta)
--   P lg               hash    '<task> <token>' -> the claim's log record (log_record): what the
--                              bounds know of its log, and the seqs of its head lines
--   P lt:<task>:<tok>  list    the seqs of the claim's tail lines, oldest first, each '<seq>
--                              <bytes>'; the oldest are cut (popped, and their ll entries deleted)
--                              while the tail holds more than its bytes. Made only once the head
--                              is full.
--
-- Why this shape: appends are on the hot path (a worker's complete carries each task's last
-- lines), and Redis spent more on them than on the complete itself. A line's text, its stream
-- and level go from the call's arguments straight into one stream entry, never through a Lua
-- string built around them (creating a string costs a Lua script more than most commands); the
-- claim's part of the entry is built once per claim; a claim that writes little (the usual case)
-- touches one field of one hash, and creates no key.
--
-- The log section of a script's ARGV, from index i: head bytes, tail bytes, number of items, then
-- per item: task id, token, agent id, number of lines, then per line: stream code and level as
-- one argument ('o1'), and the text. A line's size is its text's bytes plus one for its newline:
-- what the bounds count. Bounds, as
-- src/backends/sqlite/logs.ts applies them: a line goes to the head while it fits there; the
-- first that does not ends the head, and it and every later line go to the tail, whose oldest
-- lines are cut while it holds more than the tail bytes (lines of one append that would be cut
-- before it ends are never written, but keep their seq).

-- A claim's log record: ten numbers packed with `struct` (lines, head lines, head bytes, head
-- full 0|1, tail bytes, cut lines, cut bytes, cut to, cut at, attempt) and the agent id's length,
-- 82 bytes; then the seq of each head line (a packed double each); then the agent id. Returns
-- the state (a table: readers take it whole) and the record's head seqs as a list; nil for none.
local function log_record(record)
  if not record then return nil end
  local lines, hl, hb, hf, tb, cl, cb, ct, ca, att, agent_len = struct.unpack('<ddddddddddH', record)
  local seqs = {}
  for at = 83, #record - agent_len - 7, 8 do seqs[#seqs + 1] = struct.unpack('<d', record, at) end
  return {
    lines = lines, hl = hl, hb = hb, hf = hf, tb = tb, cl = cl, cb = cb, ct = ct, ca = ca, att = att,
    agent = string.sub(record, #record - agent_len + 1),
  }, seqs
end

-- A tail list element '<seq> <bytes>': seq and bytes, as numbers.
local function log_tail_entry(e)
  local seq, bytes = string.match(e, '^(%d+) (%d+)$')
  return tonumber(seq), tonumber(bytes)
end

-- The position (0-based) of the first element of tail list `key` whose seq is above `after`: the
-- list is in seq order, so a binary search over LINDEX. `n` is its length.
local function log_after(key, n, after)
  local lo, hi = 0, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local seq = tonumber(string.match(redis.call('LINDEX', key, mid), '^(%d+)'))
    if seq <= after then lo = mid + 1 else hi = mid end
  end
  return lo
end

-- A stored line's fields (an XRANGE entry's field list: m, c, x) as a table: k task, t token,
-- n attempt, a at, g agent, s stream code, l level, x text.
local function log_meta(kv)
  local k, t, n, a, g = string.match(kv[2], '^(%S+) (%d+) (%d+) (%d+) (.*)$')
  return { k = k, t = t, n = n, a = a, g = g, s = string.sub(kv[4], 1, 1), l = string.sub(kv[4], 2, 2), x = kv[6] }
end

-- The stored line of seq `seq` (log_meta), or nil when it is gone.
local function log_line(seq)
  local id = int_str(seq) .. '-0'
  local e = redis.call('XRANGE', P .. 'll', id, id)[1]
  if not e then return nil end
  return log_meta(e[2])
end

-- The claim a lease's token names: its attempt and the agent that ran it; or nil and why
-- ('task': no such task, 'attempt': it never had a claim with that token). An ended claim has its
-- record (a:<token>); the running or succeeded one is the task's own fields.
local function log_claim(task, token)
  local v = redis.call('HMGET', tkey(task), 'state', 'tok', 'att', 'agent', 'a:' .. token)
  if not v[1] then return nil, 'task' end
  if v[5] then
    local record = cjson.decode(v[5])
    return record.attempt, record.agentId
  end
  if v[2] == token then return tonumber(v[3]), v[4] or '' end
  return nil, 'attempt'
end

-- Append `n` lines, whose ARGV start at index `at`, to one claim's log; `seq` is the last seq
-- given so far. Returns the last seq given. The state lives in locals, and a claim's first and
-- only line is recorded with one `struct.pack`: tables and strings made in a script cost Redis
-- more than most commands do (measured with callgrind: docs/benchmarks.md).
local function log_append_claim(task, token, att, agent, n, at, head_max, tail_max, seq)
  local field = task .. ' ' .. token
  local old = redis.call('HGET', P .. 'lg', field)
  local lines, hl, hb, hf, tb, cl, cb, ct, ca, agent_len = 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
  if old then
    local _
    lines, hl, hb, hf, tb, cl, cb, ct, ca, _, agent_len = struct.unpack('<ddddddddddH', old)
  end
  local ll = P .. 'll'
  local lt = nil
  -- The claim's part of every line's entry.
  local meta = field .. ' ' .. int_str(att) .. ' ' .. NOWS .. ' ' .. agent
  -- Seqs of this append's head lines; its tail lines { seq text, stream and level, ARGV index of
  -- the text, size, seq }, the first `tail_from - 1` cut before being written.
  local head_seqs = {}
  local tail, tail_from = {}, 1
  -- Stored tail lines are cut first (oldest first), popped one by one; there are some only when
  -- the head was full before this append.
  local stored_left = hf == 1 and tb > 0
  local dead = {}
  for j = 0, n - 1 do
    local base = at + j * 2
    local size = #ARGV[base + 1] + 1
    seq = seq + 1
    lines = lines + 1
    if hf == 0 and hb + size <= head_max then
      hb = hb + size
      hl = hl + 1
      head_seqs[#head_seqs + 1] = seq
      redis.call('XADD', ll, int_str(seq) .. '-0', 'm', meta, 'c', ARGV[base], 'x', ARGV[base + 1])
    else
      hf = 1
      tb = tb + size
      tail[#tail + 1] = { seq, base, size }
      while tb > tail_max do
        lt = lt or P .. 'lt:' .. task .. ':' .. token
        local cut_seq, cut_size
        local popped = stored_left and redis.call('LPOP', lt) or nil
        if popped then
          cut_seq, cut_size = log_tail_entry(popped)
          dead[#dead + 1] = int_str(cut_seq) .. '-0'
        else
          stored_left = false
          local first = tail[tail_from]
          tail_from = tail_from + 1
          cut_seq, cut_size = first[1], first[3]
        end
        tb = tb - cut_size
        cl = cl + 1
        cb = cb + cut_size
        ct = cut_seq
        ca = NOW
      end
    end
  end
  if #dead > 0 then call_chunked('XDEL', ll, dead) end
  if tail_from <= #tail then
    local entries = {}
    for j = tail_from, #tail do
      local t = tail[j]
      local seqs, base = int_str(t[1]), t[2]
      entries[#entries + 1] = seqs .. ' ' .. int_str(t[3])
      redis.call('XADD', ll, seqs .. '-0', 'm', meta, 'c', ARGV[base], 'x', ARGV[base + 1])
    end
    call_chunked('RPUSH', lt or P .. 'lt:' .. task .. ':' .. token, entries)
  end
  local record
  if not old and #head_seqs == 1 then
    record = struct.pack('<ddddddddddHd', lines, hl, hb, hf, tb, cl, cb, ct, ca, att, #agent, head_seqs[1]) .. agent
  else
    local parts = { struct.pack('<ddddddddddH', lines, hl, hb, hf, tb, cl, cb, ct, ca, att, #agent) }
    if old then parts[2] = string.sub(old, 83, #old - agent_len) end
    for _, hseq in ipairs(head_seqs) do parts[#parts + 1] = struct.pack('<d', hseq) end
    parts[#parts + 1] = agent
    record = table.concat(parts)
  end
  redis.call('HSET', P .. 'lg', field, record)
  return seq
end

-- Append the log section of ARGV that starts at index `i` (see the header). `held` maps task ids
-- to { token, attempt, agent } of leases the calling script just checked (their claim needs no
-- second look). Returns one answer per item: 'ok', or why its lines were not stored: 'task',
-- 'attempt' (log_claim), 'agent' (another agent ran the claim).
local function append_logs(i, held)
  local head_max, tail_max, items = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local out = {}
  local seq = nil
  local first = nil
  local at = i + 3
  for k = 1, items do
    local task, token, agent, n = ARGV[at], ARGV[at + 1], ARGV[at + 2], tonumber(ARGV[at + 3])
    local att, holder
    local h = held and held[task]
    if h and h[1] == token then
      att, holder = h[2], h[3]
    else
      att, holder = log_claim(task, token)
    end
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
        seq = log_append_claim(task, token, att, agent, n, at + 4, head_max, tail_max, seq)
      end
    end
    at = at + 4 + n * 2
  end
  if seq and seq ~= first then redis.call('SET', P .. 'lseq', int_str(seq)) end
  return out
end
