-- wait-prepare: what an idle worker needs before it blocks: the id of its capability set (whose
-- wake-up marker w:<cs> it blocks on, registering the set when new) and the earliest runAfter
-- of a delayed task (to wake up when it is due).
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     rs  hash requires-set id -> requires JSON
-- KEYS[7]     cs  hash capability JSON -> capability-set id
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     the capabilities, sorted, as JSON
-- Returns     { capability-set id, earliest runAfter or '' }

local K_RS, K_CS = KEYS[6], KEYS[7]
local K_RSI = nil

--@include common
--@include registry

local cs = capset_id(ARGV[3])
local first = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
return { cs, first[2] or '' }
