-- A page of one agent's log lines across tasks, in seq order.
-- ?1 ns, ?2 agent id, ?3 after (exclusive seq), ?4 lowest level, ?5 since (ms, inclusive),
-- ?6 until (ms, exclusive), ?7 limit
SELECT l.seq, t.id AS task_id, l.attempt, l.agent_id, l.stream, l.level, l.at, l.text
FROM task_logs l JOIN tasks t ON t.seq = l.task_seq
WHERE l.ns = ?1 AND l.agent_id = ?2 AND l.seq > ?3 AND l.level >= ?4 AND l.at >= ?5 AND l.at < ?6
ORDER BY l.seq LIMIT ?7
