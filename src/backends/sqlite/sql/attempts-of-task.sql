-- Every attempt of a task, oldest first.
-- ?1 task seq
SELECT * FROM attempts WHERE task_seq = ?1 ORDER BY token
