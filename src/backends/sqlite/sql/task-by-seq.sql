-- One task, whole row, by its internal seq.
-- ?1 seq
SELECT * FROM tasks WHERE seq = ?1
