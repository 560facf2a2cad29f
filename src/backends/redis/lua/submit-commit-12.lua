-- submit-commit: make a staged submission visible, atomically and in a short step (its work is
-- proportional to its idempotency keys and edges to stored tasks, not to its size): check the
-- run is still open and its keys still unique, take the idempotency keys, create or extend the
-- run, count the tasks, settle edges to stored tasks. Publishing follows (submit-publish).
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     tasks       zset task id -> seq
-- KEYS[7]     runs        zset run id -> seq
-- KEYS[8]     idem        hash idempotency key -> task id
-- KEYS[9]     seq         string, the sequence counter
-- KEYS[10]    pending     zset staged submission -> stage time
-- KEYS[11]    publishing  zset committed submission -> commit time
-- KEYS[12]    pubcur      hash submission -> publish cursor
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     submission id
-- ARGV[4]     number of tasks in the submission
-- ARGV[5..]   the commit arguments (submit.ts commitArgs)
-- Returns     { 'ok', id, state, ... } (tasks whose state differs from the plan), { 'gone' } when
--             the staged submission no longer exists, or a refusal as submit-13.lua

local K_TASKS, K_RUNS, K_IDEM, K_SEQ = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local K_PENDING, K_PUBLISHING, K_PUBCUR = KEYS[10], KEYS[11], KEYS[12]
local K_QUEUES, K_QUEUE_IDS, K_FILTERS = nil, nil, nil

--@include common
--@include graph
--@include registry
--@include submit

local sid, total = ARGV[3], tonumber(ARGV[4])
if not redis.call('ZSCORE', K_PENDING, sid) then return { 'gone' } end
argi = 5
local c = read_commit()
local refused = commit_refusal(c)
if refused then return refused end
local changed, _, skipped = commit_apply(c, total)
redis.call('ZREM', K_PENDING, sid)
redis.call('ZADD', K_PUBLISHING, NOWS, sid)
redis.call('HSET', K_PUBCUR, sid, 0)
settle_skipped(skipped)
finish()
local out = { 'ok' }
for i = 1, #changed do out[#out + 1] = changed[i] end
return out
