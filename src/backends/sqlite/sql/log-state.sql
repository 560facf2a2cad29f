-- What the bounds know of one attempt's log (see migrations/000009_task_logs.sql).
-- ?1 task seq, ?2 attempt
SELECT * FROM task_log_attempts WHERE task_seq = ?1 AND attempt = ?2
