-- submit: store small submissions (each up to one chunk of tasks), one after the other, in one
-- script call: for each, check, stage, commit and publish together (see includes/submit.lua).
-- Each submission is atomic and independent: its refusal is checked before any write of it, a
-- refused one changes nothing and the next ones go on, and a later one sees what an earlier one
-- stored (an idempotency key taken by an earlier one refuses it). Counts, wake-up markers, run
-- completion and the stream trim are written once, at the end (common.lua finish). The adapter
-- groups the submissions made while one of its submit calls is in flight (submit-batch.ts).
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     tasks     zset task id -> seq (every committed or staged task)
-- KEYS[7]     runs      zset run id -> seq
-- KEYS[8]     idem      hash idempotency key -> task id
-- KEYS[9]     seq       string, the sequence counter of tasks and runs
-- KEYS[10]    queues    hash queue id -> queue JSON ([type, [requires]], includes/registry.lua)
-- KEYS[11]    queueids  hash queue JSON -> queue id
-- KEYS[12]    filters   hash filter JSON -> filter id
-- KEYS[13]    pending   zset staged submission -> stage time (unused here; see submit-stage)
-- ARGV[1..2]  now (of the latest submission; '' for the server's clock), events maxlen
-- ARGV[3]     the number of submissions, then for each: its now ('' for the time of this call),
--             the commit arguments
--             (submit.ts commitArgs), the number of tasks and each task's TASK_FIELDS values
--             (submit.ts taskArgs)
-- Returns     one reply per submission, in order: { 'ok', id, state, ... } listing the tasks
--             whose state differs from the plan, or a refusal: { 'not_found' },
--             { 'closed', run state }, { 'retry' },
--             { 'idem', idempotency key, task id, state, task key, ... }

local K_TASKS, K_RUNS, K_IDEM, K_SEQ = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local K_QUEUES, K_QUEUE_IDS, K_FILTERS, K_PENDING = KEYS[10], KEYS[11], KEYS[12], KEYS[13]
local K_PUBLISHING, K_PUBCUR = nil, nil

--@include common
--@include graph
--@include registry
--@include submit

local call_now, call_nows = NOW, NOWS
local replies = {}
for s = 1, tonumber(nextarg()) do
  -- Each submission at the time it was made (events, run creation, settled dependencies) when
  -- the caller's clock is injected; on the server's clock, all at the time of this call.
  local at = nextarg()
  if at ~= '' then
    NOW = store_now(P .. 'evmeta', at)
    NOWS = int_str(NOW)
  end
  local c = read_commit()
  local n = tonumber(nextarg())
  local refused = commit_refusal(c)
  if refused then
    argi = argi + n * TASK_FIELDS -- skip its tasks: nothing of it is written
    replies[s] = refused
  else
    local staged = stage_tasks('', c.run, c.mode, seq_base('', n), n)
    local changed, changed_map, skipped = commit_apply(c, n)
    publish_staged(staged, c.run, changed_map)
    settle_skipped(skipped)
    local out = { 'ok' }
    for i = 1, #changed do out[#out + 1] = changed[i] end
    replies[s] = out
  end
end
NOW, NOWS = call_now, call_nows
finish()
return replies
