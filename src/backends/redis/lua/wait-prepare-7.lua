-- wait-prepare: what an idle worker needs before it blocks: the id of its filter (whose wake-up
-- marker w:<f> it blocks on, registering the filter when new) and the earliest runAfter of a
-- delayed task (to wake up when it is due).
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     queues   hash queue id -> queue JSON (includes/registry.lua)
-- KEYS[7]     filters  hash filter JSON -> filter id
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     the filter JSON: [[sorted capabilities]] for any type, or
--             [[sorted capabilities], [sorted types]] (includes/registry.lua)
-- Returns     { filter id, earliest runAfter or '' }

local K_QUEUES, K_FILTERS = KEYS[6], KEYS[7]
local K_QUEUE_IDS = nil

--@include common
--@include registry

local f = filter_id(ARGV[3])
local first = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
return { f, first[2] or '' }
