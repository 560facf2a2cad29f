-- Record how an attempt ended. Only a running attempt can end, so each outcome is written once.
-- ?1 task seq, ?2 token, ?3 outcome, ?4 error (JSON), ?5 now, ?6 how long the handler ran in ms
-- (NULL when its worker did not say)
UPDATE attempts SET outcome = ?3, error = ?4, finished_at = ?5, run_ms = ?6
WHERE task_seq = ?1 AND token = ?2 AND outcome = 'running'
