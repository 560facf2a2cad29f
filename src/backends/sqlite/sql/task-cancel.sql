-- Cancel a task that is not terminal yet.
-- ?1 seq, ?2 error (JSON), ?3 now
UPDATE tasks SET
  state = 'cancelled',
  error = ?2,
  lease_expires_at = NULL,
  deadline_at = NULL,
  finished_at = ?3,
  updated_at = ?3
WHERE seq = ?1
