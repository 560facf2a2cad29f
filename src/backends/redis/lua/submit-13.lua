-- submit: store a small submission (up to one chunk of tasks) in one atomic step: check,
-- stage, commit and publish together (see includes/submit.lua).
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
-- ARGV[1..2]  now, events maxlen
-- ARGV[3..]   the commit arguments (submit.ts commitArgs), then the number of tasks and each
--             task's TASK_FIELDS values (submit.ts taskArgs)
-- Returns     { 'ok', id, state, ... } listing the tasks whose state differs from the plan, or
--             a refusal: { 'not_found' }, { 'closed', run state }, { 'retry' },
--             { 'idem', idempotency key, task id, state, task key, ... }

local K_TASKS, K_RUNS, K_IDEM, K_SEQ = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local K_QUEUES, K_QUEUE_IDS, K_FILTERS, K_PENDING = KEYS[10], KEYS[11], KEYS[12], KEYS[13]
local K_PUBLISHING, K_PUBCUR = nil, nil

--@include common
--@include graph
--@include registry
--@include submit

local c = read_commit()
local refused = commit_refusal(c)
if refused then return refused end
local n = tonumber(nextarg())
local staged = stage_tasks('', c.run, c.mode, seq_base('', n), n)
local changed, changed_map, skipped = commit_apply(c, n)
publish_staged(staged, c.run, changed_map)
settle_skipped(skipped)
finish()
local out = { 'ok' }
for i = 1, #changed do out[#out + 1] = changed[i] end
return out
