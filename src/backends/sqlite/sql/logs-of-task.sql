-- A page of a task's log in seq order.
-- ?1 task seq, ?2 after (exclusive seq), ?3 attempt or NULL for every one, ?4 stream or NULL,
-- ?5 limit
SELECT seq, attempt, agent_id, stream, level, at, text FROM task_logs
WHERE task_seq = ?1 AND seq > ?2 AND (?3 IS NULL OR attempt = ?3) AND (?4 IS NULL OR stream = ?4)
ORDER BY seq LIMIT ?5
