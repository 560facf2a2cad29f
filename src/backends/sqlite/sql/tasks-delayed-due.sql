-- Promote delayed tasks whose run_after has come.
-- ?1 ns, ?2 now
-- Returns: one row per promoted task.
UPDATE tasks SET state = 'ready', updated_at = ?2
WHERE ns = ?1 AND state = 'delayed' AND run_after <= ?2
RETURNING id, run_id, queue
