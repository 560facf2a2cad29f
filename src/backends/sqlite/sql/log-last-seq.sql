-- The largest seq a log line ever had (AUTOINCREMENT keeps it even after the line is deleted);
-- no row before the first line.
SELECT seq FROM sqlite_sequence WHERE name = 'task_logs'
