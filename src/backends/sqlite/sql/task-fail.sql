-- A running task failed for good.
-- ?1 seq, ?2 error (JSON), ?3 now
UPDATE tasks SET
  state = 'failed',
  error = ?2,
  lease_expires_at = NULL,
  deadline_at = NULL,
  finished_at = ?3,
  updated_at = ?3
WHERE seq = ?1
