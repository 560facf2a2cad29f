-- Every call recorded against a task, in the order recorded.
-- ?1 task id, ?2 ns
SELECT * FROM usage WHERE task_id = ?1 AND ns = ?2 ORDER BY seq
