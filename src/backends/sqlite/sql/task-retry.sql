-- A running task whose attempt ended without success goes back to the queue: `delayed` until
-- run_after (backoff), or `ready` at once.
-- ?1 seq, ?2 state ('delayed' | 'ready'), ?3 run_after (NULL keeps it), ?4 error (JSON), ?5 now
UPDATE tasks SET
  state = ?2,
  run_after = coalesce(?3, run_after),
  error = ?4,
  lease_expires_at = NULL,
  deadline_at = NULL,
  updated_at = ?5
WHERE seq = ?1
