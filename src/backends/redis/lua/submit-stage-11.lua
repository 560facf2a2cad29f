-- submit-stage: write one chunk of a large submission into place, invisible until its commit:
-- task hashes (marked with the submission id), index entries, edges between its tasks. Chunks
-- are sent back to back in a pipeline; other clients' commands run between them.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     tasks     zset task id -> seq
-- KEYS[7]     seq       string, the sequence counter
-- KEYS[8]     queues    hash queue id -> queue JSON ([type, [requires]], includes/registry.lua)
-- KEYS[9]     queueids  hash queue JSON -> queue id
-- KEYS[10]    filters   hash filter JSON -> filter id
-- KEYS[11]    pending   zset staged submission -> stage time
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     submission id
-- ARGV[4]     run id ('' for standalone tasks)
-- ARGV[5]     mode: 'new' (a new run), 'add' (tasks added to a run) or 'none'
-- ARGV[6]     number of tasks in the whole submission (reserves their sequence numbers)
-- ARGV[7]     number of tasks in this chunk, then each task's TASK_FIELDS values
-- Returns     the number of tasks staged

local K_TASKS, K_SEQ, K_QUEUES, K_QUEUE_IDS, K_FILTERS, K_PENDING = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local K_RUNS, K_IDEM, K_PUBLISHING, K_PUBCUR = nil, nil, nil, nil

--@include common
--@include graph
--@include registry
--@include submit

local sid, run, mode, total = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
argi = 7
local n = tonumber(nextarg())
stage_tasks(sid, run, mode, seq_base(sid, total), n)
-- It emits nothing until published, but its tasks' createdAt is a time the namespace recorded.
record_time()
return n
