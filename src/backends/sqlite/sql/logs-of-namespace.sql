-- A page of every agent's log lines across tasks, in seq order.
-- ?1 ns, ?2 after (exclusive seq), ?3 lowest level, ?4 since (ms, inclusive), ?5 until (ms,
-- exclusive), ?6 limit
SELECT l.seq, t.id AS task_id, l.attempt, l.agent_id, l.stream, l.level, l.at, l.text
FROM task_logs l JOIN tasks t ON t.seq = l.task_seq
WHERE l.seq > ?2 AND l.ns = ?1 AND l.level >= ?3 AND l.at >= ?4 AND l.at < ?5
ORDER BY l.seq LIMIT ?6
