-- Record the last seq given to a log line.
-- ?1 seq
UPDATE task_log_seq SET seq = ?1 WHERE id = 1
