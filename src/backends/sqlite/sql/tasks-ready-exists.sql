-- Whether a requires set has a ready task.
-- ?1 ns, ?2 requires_set
SELECT 1 AS found FROM tasks WHERE ns = ?1 AND state = 'ready' AND requires_set = ?2 LIMIT 1
