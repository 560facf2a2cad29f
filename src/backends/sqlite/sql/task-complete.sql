-- Record the success of a lease the caller checked is held (task-lease.sql, same transaction).
-- ?1 seq, ?2 token, ?3 result (JSON), ?4 now
-- Returns: nothing; no change means the lease is not held after all.
UPDATE tasks SET
  state = 'succeeded',
  result = ?3,
  error = NULL,
  lease_expires_at = NULL,
  deadline_at = NULL,
  finished_at = ?4,
  updated_at = ?4
WHERE seq = ?1 AND token = ?2 AND state = 'running'
