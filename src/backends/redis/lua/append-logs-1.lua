-- append-logs: store lines of attempts' logs as they are written (docs/logs.md), each item's
-- lines in order, bounded per attempt (includes/logs.lua).
--
-- KEYS[1]     prefix
-- ARGV[1]     now ('' for the Redis server's clock; includes/common.lua store_now)
-- ARGV[2]     unused (where mutating scripts take the events' maxlen: this one writes no event)
-- ARGV[3..]   the log section (includes/logs.lua): head bytes, tail bytes, number of items, then
--             per item: task id, token, agent id, number of lines, then per line: stream code,
--             level, text
-- Returns     per item 'ok', or why its lines were not stored: 'task' (no such task), 'attempt'
--             (no attempt with that token), 'agent' (another agent ran the attempt)

--@include common
--@include logs

return append_logs(3)
