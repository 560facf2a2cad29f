-- Open the record of one attempt.
-- ?1 task seq, ?2 token, ?3 attempt number, ?4 agent id, ?5 now
INSERT INTO attempts (task_seq, token, attempt, agent_id, started_at, outcome)
VALUES (?1, ?2, ?3, ?4, ?5, 'running')
