-- submit-abort: delete a staged submission that will not be committed (its commit was refused).
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     tasks    zset task id -> seq
-- KEYS[7]     pending  zset staged submission -> stage time
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     submission id
-- Returns     the number of staged tasks deleted

local K_TASKS, K_PENDING = KEYS[6], KEYS[7]
local K_RUNS, K_IDEM, K_SEQ, K_QUEUES, K_QUEUE_IDS, K_FILTERS, K_PUBLISHING, K_PUBCUR = nil, nil, nil, nil, nil, nil, nil, nil

--@include common
--@include graph
--@include registry
--@include submit

return drop_staged(ARGV[3])
