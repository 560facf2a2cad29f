-- record-event: write one event that comes from outside the store (Backend.recordEvent), counted
-- and trimmed like the events of every other script (includes/common.lua finish).
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     event type (checked by the caller: one of the recordable types)
-- ARGV[4]     agent id ('' for none)
-- ARGV[5]     data JSON
-- Returns     the event id

--@include common

emit(ARGV[3], '', '', ARGV[4], ARGV[5])
return finish()
