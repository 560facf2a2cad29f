-- Whether a queue has a ready task.
-- ?1 ns, ?2 queue
SELECT 1 AS found FROM tasks WHERE ns = ?1 AND state = 'ready' AND queue = ?2 LIMIT 1
