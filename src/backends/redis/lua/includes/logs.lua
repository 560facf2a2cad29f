-- includes/logs.lua: task logs (docs/logs.md), appended by append-logs-1.lua and by the lines that
-- complete, fail and release carry. Needs common.lua.
--
-- A log belongs to one claim of a task (its token: one AttemptRecord), which holds the attempt
-- number. Keys derived from the prefix (the namespace's hash tag, one Cluster slot):
--   P lseq             string  the last seq given to a log line (lines are numbered across tasks)
--   P ll               stream  every stored line, entry id '<seq>-0' (added as '<seq>', which XADD
--                              reads as '<seq>-0': one string less per line), fields m '<task> <token>
--                              <attempt> <at> <agent>' (the claim and the time of the append; the
--                              agent last: it may hold spaces), c '<stream><level>' (stream o
--                              stdout, e stderr, l log; level 0 debug .. 3 error), x the text: the
--                              lines themselves, read by seq for a task's log and in order for
--                              agent logs (log_meta)
--   P t:<task>         hash    the task's hash; its field 'lg:<token>' holds the claim's log
--                              record (log_record): what the bounds know of its log, and the
--                              seqs of its head lines. In the task's own hash, because the
--                              scripts that settle an attempt read and write that hash anyway:
--                              the record of a claim whose last lines its complete carries costs
--                              no command of its own. (Builds before this one kept the records
--                              in a hash 'P lg' of '<task> <token>' fields: read-logs-1.lua
--                              still reads a record from there when the task has none.)
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
-- writes one field of its task's hash, and creates no key.
--
-- The log section of a script's ARGV (append-logs-1.lua), from index i: head bytes, tail
-- bytes, number of items, then per item: task id, token, agent id, number of lines, then per
-- line: stream code and level as one argument ('o1'), and the text. (The settle scripts send a
-- shorter carried section, whose items are their own: carried_at.) A line's size is its text's
-- bytes plus one for its newline: what the bounds count. Bounds, as
-- src/backends/sqlite/logs.ts applies them: a line goes to the head while it fits there; the
-- first that does not ends the head, and it and every later line go to the tail, whose oldest
-- lines are cut while it holds more than the tail bytes (lines of one append that would be cut
-- before it ends are never written, but keep their seq).

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

-- A claim's log record: ten numbers packed with `struct` (lines, head lines, head bytes, head
-- full 0|1, tail bytes, cut lines, cut bytes, cut to, cut at, attempt) and the agent id's length,
-- 82 bytes; then the seq of each head line (a packed double each); then the agent id. A claim
-- whose log is one line, in its head (what a task that logs a line and returns leaves), has a
-- compact record instead: that line's seq, as text (under 82 bytes: a packed one is longer),
-- the string the script already made for the line's entry id; its attempt and agent are in the
-- line's entry. Returns the state (a table: readers take it whole) and the record's head seqs as
-- a list; nil for none.
local function log_record(record)
  if not record then return nil end
  if #record < 82 then
    local seq = tonumber(record)
    local f = log_line(seq)
    if not f then return nil end
    return {
      lines = 1, hl = 1, hb = #f.x + 1, hf = 0, tb = 0, cl = 0, cb = 0, ct = 0, ca = 0, att = tonumber(f.n), agent = f.g,
    }, { seq }
  end
  local lines, hl, hb, hf, tb, cl, cb, ct, ca, att, agent_len = struct.unpack('<ddddddddddH', record)
  local seqs = {}
  for at = 83, #record - agent_len - 7, 8 do seqs[#seqs + 1] = struct.unpack('<d', record, at) end
  return {
    lines = lines, hl = hl, hb = hb, hf = hf, tb = tb, cl = cl, cb = cb, ct = ct, ca = ca, att = att,
    agent = string.sub(record, #record - agent_len + 1),
  }, seqs
end

-- The claim a lease's token names: its attempt, the agent that ran it and its log record (nil for
-- none yet); or nil and why ('task': no such task, 'attempt': it never had a claim with that
-- token). An ended claim has its record (a:<token>); the running or succeeded one is the task's
-- own fields.
local function log_claim(task, token)
  local v = redis.call('HMGET', tkey(task), 'state', 'tok', 'att', 'agent', 'a:' .. token, 'lg:' .. token)
  if not v[1] then return nil, 'task' end
  if v[5] then
    local record = cjson.decode(v[5])
    return record.attempt, record.agentId, v[6] or nil
  end
  if v[2] == token then return tonumber(v[3]), v[4] or '', v[6] or nil end
  return nil, 'attempt'
end

-- Append `n` lines, whose ARGV start at index `at`, to one claim's log, whose record is `old`
-- (nil: none yet); `seq` is the last seq given so far. The lines are pairs of arguments (stream
-- and level, text), or, given `codes` (a carried section's: every line's stream and level in one
-- string, two characters each), their texts alone. Returns the last seq given and the
-- claim's new record, which the caller writes to field 'lg:<token>' of the task's hash (the
-- settle scripts with the fields they write anyway). The state lives in locals, and a claim's
-- first lines, when they fit its head (the usual case), take no table at all: tables and strings
-- made in a script cost Redis more than most commands do (measured with callgrind:
-- docs/benchmarks.md).
local function log_append_claim(task, token, att, agent, n, at, head_max, tail_max, seq, old, codes)
  local ll = P .. 'll'
  -- The claim's part of every line's entry.
  -- (`att` may come as the task field's text, which struct.pack reads as the number.)
  local att_s = type(att) == 'string' and att or int_str(att)
  local meta = task .. ' ' .. token .. ' ' .. att_s .. ' ' .. NOWS .. ' ' .. agent
  if not old then
    local bytes = 0
    if codes then
      for j = 0, n - 1 do bytes = bytes + #ARGV[at + j] + 1 end
    else
      for j = 1, n do bytes = bytes + #ARGV[at + j * 2 - 1] + 1 end
    end
    if bytes <= head_max then
      if n == 1 then
        -- The claim's only line so far: its record is the compact one, the line's seq (log_record).
        seq = seq + 1
        local seq_s = int_str(seq)
        if codes then
          redis.call('XADD', ll, seq_s, 'm', meta, 'c', codes, 'x', ARGV[at])
        else
          redis.call('XADD', ll, seq_s, 'm', meta, 'c', ARGV[at], 'x', ARGV[at + 1])
        end
        return seq, seq_s
      end
      local first = seq + 1
      for j = 0, n - 1 do
        seq = seq + 1
        if codes then
          local code = string.sub(codes, j * 2 + 1, j * 2 + 2)
          redis.call('XADD', ll, int_str(seq), 'm', meta, 'c', code, 'x', ARGV[at + j])
        else
          redis.call('XADD', ll, int_str(seq), 'm', meta, 'c', ARGV[at + j * 2], 'x', ARGV[at + j * 2 + 1])
        end
      end
      local parts = { struct.pack('<ddddddddddH', n, n, bytes, 0, 0, 0, 0, 0, 0, att, #agent) }
      for s = first, seq do parts[#parts + 1] = struct.pack('<d', s) end
      parts[#parts + 1] = agent
      return seq, table.concat(parts)
    end
  end
  local lines, hl, hb, hf, tb, cl, cb, ct, ca = 0, 0, 0, 0, 0, 0, 0, 0, 0
  -- The head seqs of the record so far, packed.
  local old_heads = nil
  if old and #old < 82 then
    -- A compact record: one line, in the head, whose size its entry tells.
    local f = log_line(tonumber(old))
    lines, hl, hb = 1, 1, f and #f.x + 1 or 0
    old_heads = struct.pack('<d', tonumber(old))
  elseif old then
    local _, agent_len
    lines, hl, hb, hf, tb, cl, cb, ct, ca, _, agent_len = struct.unpack('<ddddddddddH', old)
    old_heads = string.sub(old, 83, #old - agent_len)
  end
  local lt = nil
  -- Seqs of this append's head lines; its tail lines { seq, line index j, size }, the first
  -- `tail_from - 1` cut before being written.
  local head_seqs = {}
  local tail, tail_from = {}, 1
  -- Stored tail lines are cut first (oldest first), popped one by one; there are some only when
  -- the head was full before this append.
  local stored_left = hf == 1 and tb > 0
  local dead = {}
  -- Line j's stream and level, and the ARGV index of its text.
  local function line_at(j)
    if codes then return string.sub(codes, j * 2 + 1, j * 2 + 2), at + j end
    return ARGV[at + j * 2], at + j * 2 + 1
  end
  for j = 0, n - 1 do
    local code, text_at = line_at(j)
    local size = #ARGV[text_at] + 1
    seq = seq + 1
    lines = lines + 1
    if hf == 0 and hb + size <= head_max then
      hb = hb + size
      hl = hl + 1
      head_seqs[#head_seqs + 1] = seq
      redis.call('XADD', ll, int_str(seq), 'm', meta, 'c', code, 'x', ARGV[text_at])
    else
      hf = 1
      tb = tb + size
      tail[#tail + 1] = { seq, j, size }
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
      local seqs = int_str(t[1])
      local code, text_at = line_at(t[2])
      entries[#entries + 1] = seqs .. ' ' .. int_str(t[3])
      redis.call('XADD', ll, seqs, 'm', meta, 'c', code, 'x', ARGV[text_at])
    end
    call_chunked('RPUSH', lt or P .. 'lt:' .. task .. ':' .. token, entries)
  end
  local parts = { struct.pack('<ddddddddddH', lines, hl, hb, hf, tb, cl, cb, ct, ca, att, #agent) }
  if old_heads then parts[2] = old_heads end
  for _, hseq in ipairs(head_seqs) do parts[#parts + 1] = struct.pack('<d', hseq) end
  parts[#parts + 1] = agent
  return seq, table.concat(parts)
end

-- Append the log section of ARGV that starts at index `i` (see the header). Returns one answer
-- per item: 'ok', or why its lines were not stored: 'task', 'attempt' (log_claim), 'agent'
-- (another agent ran the claim).
local function append_logs(i)
  local head_max, tail_max, items = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local out = {}
  local seq = nil
  local first = nil
  local at = i + 3
  for k = 1, items do
    local task, token, agent, n = ARGV[at], ARGV[at + 1], ARGV[at + 2], tonumber(ARGV[at + 3])
    local att, holder, record = log_claim(task, token)
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
        seq, record = log_append_claim(task, token, att, agent, n, at + 4, head_max, tail_max, seq, record)
        redis.call('HSET', tkey(task), 'lg:' .. token, record)
      end
    end
    at = at + 4 + n * 2
  end
  if seq and seq ~= first then redis.call('SET', P .. 'lseq', int_str(seq)) end
  return out
end

-- The carried section of the settle scripts (complete, fail, release): the lines a call's items
-- carry, for the claims those items name (their task, token and agent), so that nothing is sent
-- twice. At ARGV index `i`: head bytes, tail bytes, then per settle item, in order: every line's
-- stream and level in one argument ('l1' for one line, 'l1o1' for two, '' for none), then the
-- texts of its lines. Returns the ARGV index of each item's codes argument (a list of `n`), nil
-- when there is no section. One table per call, none per item: a complete carries a line for
-- most items.
local function carried_at(i, n)
  if not i then return nil end
  local at_of = {}
  local at = i + 2
  for k = 1, n do
    at_of[k] = at
    at = at + 1 + #ARGV[at] / 2
  end
  return at_of
end

-- Store the lines settle item `k` carries (carried_at's `at_of`) in the claim the item names,
-- whose lease the calling script just checked: `att` its attempt (as the task field's text),
-- `record` its log record (nil for none). `seq` is the last seq given in this script (nil
-- before its first line). Returns the new last seq and the record to write to field
-- 'lg:<token>', or nil when the item carries no line. The caller saves the last seq (SET P
-- lseq) before any append_carried.
local function log_carried(i, at_of, k, task, token, att, agent, record, seq)
  local codes = ARGV[at_of[k]]
  if codes == '' then return nil end
  seq = seq or tonumber(redis.call('GET', P .. 'lseq') or '0')
  return log_append_claim(task, token, att, agent, #codes / 2, at_of[k] + 1, tonumber(ARGV[i]), tonumber(ARGV[i + 1]),
    seq, record, codes)
end

-- Store the carried lines of the settle items not in `stored` (settle item -> true: the calling
-- script stored them with the item's outcome; nil for none) as append_logs would. The settle
-- items start at ARGV[4], `stride` arguments each, the first three its task id, token and agent.
-- `held` (nil for none) maps an item whose lease the calling script found held to its attempt:
-- then its claim needs no second look; without it, the claim is looked up (log_claim), and the
-- lines are kept when the item's agent ran that claim (a refused settle's lines are still what
-- its attempt printed). Saves the last seq.
local function append_carried(i, at_of, n, stride, stored, held)
  local head_max, tail_max = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local seq, first = nil, nil
  for k = 1, n do
    local codes = ARGV[at_of[k]]
    if codes ~= '' and not (stored and stored[k]) then
      local base = 3 + (k - 1) * stride
      local task, token, agent = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
      local lg = 'lg:' .. token
      local att, holder, record = held and held[k], agent, nil
      if att then
        record = redis.call('HGET', tkey(task), lg) or nil
      else
        att, holder, record = log_claim(task, token)
      end
      if att and holder == agent then
        if not seq then
          seq = tonumber(redis.call('GET', P .. 'lseq') or '0')
          first = seq
        end
        seq, record = log_append_claim(task, token, att, agent, #codes / 2, at_of[k] + 1, head_max, tail_max, seq, record,
          codes)
        redis.call('HSET', tkey(task), lg, record)
      end
    end
  end
  if seq and seq ~= first then redis.call('SET', P .. 'lseq', int_str(seq)) end
end
