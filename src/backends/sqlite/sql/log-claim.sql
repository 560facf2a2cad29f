-- Whose log a lease's lines go to: the task's seq; the attempt its token names and the agent
-- that ran it (NULL when the task never had a claim with that token); and what the bounds know of
-- that claim's log (NULL columns before its first line). No row when there is no such task in the
-- namespace.
-- ?1 task id, ?2 ns, ?3 token
SELECT t.seq AS task_seq, a.attempt, a.agent_id, s.lines, s.head_lines, s.head_bytes, s.head_full,
       s.tail_bytes, s.tail_after, s.cut_lines, s.cut_bytes, s.cut_to, s.cut_at
FROM tasks t
LEFT JOIN attempts a ON a.task_seq = t.seq AND a.token = ?3
LEFT JOIN task_log_claims s ON s.task_seq = t.seq AND s.token = ?3
WHERE t.id = ?1 AND t.ns = ?2
