-- What a call is recorded against: the task's seq, run and epic, and the attempt of the token
-- (NULL columns when the token was never issued).
-- ?1 task id, ?2 ns, ?3 token
SELECT t.seq, t.run_id, t.epic, a.attempt, a.agent_id
FROM tasks t LEFT JOIN attempts a ON a.task_seq = t.seq AND a.token = ?3
WHERE t.id = ?1 AND t.ns = ?2
