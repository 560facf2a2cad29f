-- The tasks of a run that are not terminal yet, in submission order.
-- ?1 run id
SELECT * FROM tasks
WHERE run_id = ?1 AND state IN ('blocked', 'delayed', 'ready', 'running')
ORDER BY seq
