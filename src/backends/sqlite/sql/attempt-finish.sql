-- Record how an attempt ended. Only a running attempt can end, so each outcome is written once.
-- ?1 task seq, ?2 token, ?3 outcome, ?4 error (JSON), ?5 now
UPDATE attempts SET outcome = ?3, error = ?4, finished_at = ?5
WHERE task_seq = ?1 AND token = ?2 AND outcome = 'running'
