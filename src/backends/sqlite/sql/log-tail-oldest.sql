-- The oldest lines of one claim's tail, to cut while it is over its bound.
-- ?1 task seq, ?2 token, ?3 the seq its tail lines are above, ?4 how many
SELECT seq, bytes FROM task_logs
WHERE task_seq = ?1 AND seq > ?3 AND token = ?2
ORDER BY seq LIMIT ?4
