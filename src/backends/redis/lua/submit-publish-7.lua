-- submit-publish: publish one chunk of a committed submission: enqueue its ready tasks,
-- schedule its delayed ones, write their task.submitted events. The submitter stages tasks that
-- are not ready first, so a task's own events never come before its task.submitted. A cursor
-- per submission makes chunks idempotent: the sweep finishes a submission whose client died.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     publishing  zset committed submission -> commit time
-- KEYS[7]     pubcur      hash submission -> publish cursor
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     submission id
-- ARGV[4]     position of the first task of the chunk in the submission's staged list
-- ARGV[5]     number of tasks in the chunk
-- Returns     the next position, or -1 once the submission is fully published (or when another
--             caller published past this chunk already: the position it reached)

local K_PUBLISHING, K_PUBCUR = KEYS[6], KEYS[7]
local K_TASKS, K_RUNS, K_IDEM, K_SEQ, K_QUEUES, K_QUEUE_IDS, K_FILTERS, K_PENDING = nil, nil, nil, nil, nil, nil, nil, nil

--@include common
--@include graph
--@include registry
--@include submit

local result = publish_chunk(ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]))
finish()
return result
