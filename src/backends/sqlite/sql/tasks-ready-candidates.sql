-- The first ready tasks of one queue (type and requires set), in claim order: priority, then the
-- longest critical path, then FIFO. Reads only the tasks_ready index.
-- ?1 ns, ?2 queue, ?3 limit
SELECT seq, priority, critical_path FROM tasks
WHERE ns = ?1 AND state = 'ready' AND queue = ?2
ORDER BY priority, critical_path DESC, seq
LIMIT ?3
