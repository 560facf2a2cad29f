-- Whose log a lease's lines go to: the task's seq, and the attempt its token names and the agent
-- that ran it (both NULL when the task never had an attempt with that token). No row when there
-- is no such task in the namespace.
-- ?1 task id, ?2 ns, ?3 token
SELECT t.seq AS task_seq, a.attempt, a.agent_id
FROM tasks t LEFT JOIN attempts a ON a.task_seq = t.seq AND a.token = ?3
WHERE t.id = ?1 AND t.ns = ?2
