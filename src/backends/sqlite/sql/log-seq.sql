-- The last seq given to a log line.
SELECT seq FROM task_log_seq WHERE id = 1
