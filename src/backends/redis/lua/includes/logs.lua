-- includes/logs.lua: task logs (docs/logs.md), appended by append-logs-1.lua and by the lines that
-- complete, fail and release carry. Needs common.lua.
--
-- A log belongs to one claim of a task (its token: one AttemptRecord), which holds the attempt
-- number. Keys derived from the prefix (the namespace's hash tag, one Cluster slot):
--   P lseq             string  the last seq given to a log line (lines are numbered across tasks)
--   P ll               stream  every stored line, entry id '<seq>-0', fields k task, t token,
--                              n attempt, g agent, s stream (o stdout, e stderr, l log), l level
--                              (0 debug .. 3 error), a at, x text: the lines themselves, read by
--                              seq for a task's log and in order for agent logs
--   P lg               hash    '<task>:<token>' -> the claim's log record (log_record): what the
--                              bounds know of its log, and the seqs of its head lines
--   P lt:<task>:<tok>  list    the seqs of the claim's tail lines, oldest first, each '<seq>
--                              <bytes>'; the oldest are cut (popped, and their ll entries deleted)
--                              while the tail holds more than its bytes. Made only once the head
--                              is full.
--
-- Why this shape: appends are on the hot path (a worker's complete carries each task's last
-- lines). A line's text goes from the call's arguments straight into one stream entry, never
-- through a Lua string built around it; a claim that writes little (the usual case) touches one
-- field of one hash, and creates no key.
--
-- The log section of a script's ARGV, from index i: head bytes, tail bytes, number of items, then
-- per item: task id, token, agent id, number of lines, then per line: stream code, level, text,
-- size (the text's bytes plus one for its newline: what the bounds count). Bounds, as
-- src/backends/sqlite/logs.ts applies them: a line goes to the head while it fits there; the
-- first that does not ends the head, and it and every later line go to the tail, whose oldest
-- lines are cut while it holds more than the tail bytes (lines of one append that would be cut
-- before it ends are never written, but keep their seq).

-- A claim's log record: ten numbers packed with `struct` (lines, head lines, head bytes, head
-- full 0|1, tail bytes, cut lines, cut bytes, cut to, cut at, attempt), the agent id's length and
-- the agent id, then the seq of each head line (a packed double each). Returns the state and
-- where the head seqs start; nil for none.
local function log_record(record)
  if not record then return nil end
  local lines, hl, hb, hf, tb, cl, cb, ct, ca, att, agent_len, pos = struct.unpack('<ddddddddddH', record)
  return {
    lines = lines, hl = hl, hb = hb, hf = hf, tb = tb, cl = cl, cb = cb, ct = ct, ca = ca, att = att,
    agent = string.sub(record, pos, pos + agent_len - 1),
  }, pos + agent_len
end

local function log_header(s)
  return struct.pack('<ddddddddddH', s.lines, s.hl, s.hb, s.hf, s.tb, s.cl, s.cb, s.ct, s.ca, s.att, #s.agent) ..
    s.agent
end

-- The seqs of a record's head lines, from position `pos`: a list of numbers.
local function log_head_seqs(record, pos)
  local seqs = {}
  for at = pos, #record - 7, 8 do seqs[#seqs + 1] = struct.unpack('<d', record, at) end
  return seqs
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

-- The stored line of seq `seq` as a field table (k, t, n, g, s, l, a, x), or nil when it is gone.
local function log_line(seq)
  local id = int_str(seq) .. '-0'
  local e = redis.call('XRANGE', P .. 'll', id, id)[1]
  if not e then return nil end
  local f, kv = {}, e[2]
  for j = 1, #kv, 2 do f[kv[j]] = kv[j + 1] end
  return f
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
-- given so far. Returns the last seq given.
local function log_append_claim(task, token, att, agent, n, at, head_max, tail_max, seq)
  local field = task .. ':' .. token
  local old = redis.call('HGET', P .. 'lg', field)
  local s, seqs_at = log_record(old or nil)
  if not s then
    s = { lines = 0, hl = 0, hb = 0, hf = 0, tb = 0, cl = 0, cb = 0, ct = 0, ca = 0, att = att, agent = agent }
  end
  local ll = P .. 'll'
  local lt = P .. 'lt:' .. task .. ':' .. token
  local atts = int_str(att)
  local head_seqs = {}
  -- This append's tail lines: { seq, ARGV index, size }; the first `tail_from - 1` were cut
  -- before being written.
  local tail, tail_from = {}, 1
  -- Stored tail lines are cut first (oldest first), popped one by one; there are some only when
  -- the head was full before this append.
  local stored_left = s.hf == 1 and s.tb > 0
  local dead = {}
  for j = 0, n - 1 do
    local base = at + j * 4
    local size = tonumber(ARGV[base + 3])
    seq = seq + 1
    s.lines = s.lines + 1
    if s.hf == 0 and s.hb + size <= head_max then
      s.hb = s.hb + size
      s.hl = s.hl + 1
      head_seqs[#head_seqs + 1] = struct.pack('<d', seq)
      redis.call('XADD', ll, int_str(seq) .. '-0', 'k', task, 't', token, 'n', atts, 'g', agent, 's', ARGV[base],
        'l', ARGV[base + 1], 'a', NOWS, 'x', ARGV[base + 2])
    else
      s.hf = 1
      s.tb = s.tb + size
      tail[#tail + 1] = { seq, base, size }
      while s.tb > tail_max do
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
        s.tb = s.tb - cut_size
        s.cl = s.cl + 1
        s.cb = s.cb + cut_size
        s.ct = cut_seq
        s.ca = NOW
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
      redis.call('XADD', ll, seqs .. '-0', 'k', task, 't', token, 'n', atts, 'g', agent, 's', ARGV[base],
        'l', ARGV[base + 1], 'a', NOWS, 'x', ARGV[base + 2])
    end
    call_chunked('RPUSH', lt, entries)
  end
  redis.call('HSET', P .. 'lg', field,
    log_header(s) .. (old and string.sub(old, seqs_at) or '') .. table.concat(head_seqs))
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
    at = at + 4 + n * 4
  end
  if seq and seq ~= first then redis.call('SET', P .. 'lseq', int_str(seq)) end
  return out
end
