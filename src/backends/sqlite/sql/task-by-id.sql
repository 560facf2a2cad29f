-- One task, whole row.
-- ?1 task id, ?2 ns
SELECT * FROM tasks WHERE id = ?1 AND ns = ?2
