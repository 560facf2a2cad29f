-- When the earliest delayed task of a namespace becomes due (NULL when none is delayed).
-- ?1 ns
SELECT min(run_after) AS at FROM tasks WHERE ns = ?1 AND state = 'delayed'
