-- The first ready tasks of one requires set, in claim order: priority, then the longest
-- critical path, then FIFO. Reads only the tasks_ready index.
-- ?1 ns, ?2 requires_set, ?3 limit
SELECT seq, priority, critical_path FROM tasks
WHERE ns = ?1 AND state = 'ready' AND requires_set = ?2
ORDER BY priority, critical_path DESC, seq
LIMIT ?3
