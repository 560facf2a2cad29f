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
-- (nil: none yet); `seq` is the last seq given so far. Returns the last seq given and the
-- claim's new record, which the caller writes to field 'lg:<token>' of the task's hash (the
-- settle scripts with the fields they write anyway). The state lives in locals, and a claim's
-- first lines, when they fit its head (the usual case), take no table at all: tables and strings
-- made in a script cost Redis more than most commands do (measured with callgrind:
-- docs/benchmarks.md).
local function log_append_claim(task, token, att, agent, n, at, head_max, tail_max, seq, old)
  local ll = P .. 'll'
  -- The claim's part of every line's entry.
  local meta = task .. ' ' .. token .. ' ' .. int_str(att) .. ' ' .. NOWS .. ' ' .. agent
  if not old then
    local bytes = 0
    for j = 1, n do bytes = bytes + #ARGV[at + j * 2 - 1] + 1 end
    if bytes <= head_max then
      local first = seq + 1
      for j = 0, n - 1 do
        seq = seq + 1
        redis.call('XADD', ll, int_str(seq), 'm', meta, 'c', ARGV[at + j * 2], 'x', ARGV[at + j * 2 + 1])
      end
      if n == 1 then return seq, struct.pack('<ddddddddddHd', 1, 1, bytes, 0, 0, 0, 0, 0, 0, att, #agent, seq) .. agent end
      local parts = { struct.pack('<ddddddddddH', n, n, bytes, 0, 0, 0, 0, 0, 0, att, #agent) }
      for s = first, seq do parts[#parts + 1] = struct.pack('<d', s) end
      parts[#parts + 1] = agent
      return seq, table.concat(parts)
    end
  end
  local lines, hl, hb, hf, tb, cl, cb, ct, ca, agent_len = 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
  if old then
    local _
    lines, hl, hb, hf, tb, cl, cb, ct, ca, _, agent_len = struct.unpack('<ddddddddddH', old)
  end
  local lt = nil
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
      redis.call('XADD', ll, int_str(seq), 'm', meta, 'c', ARGV[base], 'x', ARGV[base + 1])
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
      redis.call('XADD', ll, seqs, 'm', meta, 'c', ARGV[base], 'x', ARGV[base + 1])
    end
    call_chunked('RPUSH', lt or P .. 'lt:' .. task .. ':' .. token, entries)
  end
  local parts = { struct.pack('<ddddddddddH', lines, hl, hb, hf, tb, cl, cb, ct, ca, att, #agent) }
  if old then parts[2] = string.sub(old, 83, #old - agent_len) end
  for _, hseq in ipairs(head_seqs) do parts[#parts + 1] = struct.pack('<d', hseq) end
  parts[#parts + 1] = agent
  return seq, table.concat(parts)
end

-- Append the log section of ARGV that starts at index `i` (see the header). `held` maps task ids
-- to { token, attempt, agent } of leases the calling script just checked (their claim needs no
-- second look), or to true for an item the calling script stored itself (log_carried). Returns
-- one answer per item: 'ok', or why its lines were not stored: 'task', 'attempt' (log_claim),
-- 'agent' (another agent ran the claim).
local function append_logs(i, held)
  local head_max, tail_max, items = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local out = {}
  local seq = nil
  local first = nil
  local at = i + 3
  for k = 1, items do
    local task, token, agent, n = ARGV[at], ARGV[at + 1], ARGV[at + 2], tonumber(ARGV[at + 3])
    local h = held and held[task]
    if h == true then
      out[k] = 'ok'
    else
      local att, holder, record
      if h and h[1] == token then
        att, holder, record = h[2], h[3], redis.call('HGET', tkey(task), 'lg:' .. token) or nil
      else
        att, holder, record = log_claim(task, token)
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
          seq, record = log_append_claim(task, token, att, agent, n, at + 4, head_max, tail_max, seq, record)
          redis.call('HSET', tkey(task), 'lg:' .. token, record)
        end
      end
    end
    at = at + 4 + n * 2
  end
  if seq and seq ~= first then redis.call('SET', P .. 'lseq', int_str(seq)) end
  return out
end

-- Where each item of the log section at ARGV index `i` starts: task id -> { ARGV index of its
-- first line, number of lines, token, agent id } (false for a task with several items), for a settle script that stores an item's
-- lines as it settles it (log_carried), and how many items there are. nil, 0 when there is no
-- log section.
local function log_items(i)
  if not i then return nil, 0 end
  local items = tonumber(ARGV[i + 2])
  local found = {}
  local at = i + 3
  for _ = 1, items do
    local n = tonumber(ARGV[at + 3])
    -- A task named twice is left to append_logs, which takes its items in order.
    found[ARGV[at]] = found[ARGV[at]] == nil and { at + 4, n, ARGV[at + 1], ARGV[at + 2] } or false
    at = at + 4 + n * 2
  end
  return found, items
end

-- The lines a settle item carries, stored as the script settles it (so the claim's record goes
-- into the task's hash with the fields the script writes there anyway): `item` is the task's
-- entry of log_items; `token`, `att` and `agent` the lease just checked (its token as text) and
-- `record` the claim's log record (nil for none). `seq` is the last seq given in this script (nil
-- before its first line). Returns the new last seq and the record to write to field
-- 'lg:<token>', or nil when the item's lines do not name this claim (append_logs then answers
-- for them). The caller saves the last seq (SET P lseq) before any append_logs.
local function log_carried(i, task, item, token, att, agent, record, seq)
  if item[3] ~= token or item[4] ~= agent or item[2] == 0 then return nil end
  seq = seq or tonumber(redis.call('GET', P .. 'lseq') or '0')
  return log_append_claim(task, token, att, agent, item[2], item[1], tonumber(ARGV[i]), tonumber(ARGV[i + 1]), seq,
    record)
end
