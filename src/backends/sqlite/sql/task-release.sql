-- Give a lease back without counting its attempt (graceful shutdown): the task is ready again.
-- The fencing token is kept, so the old holder stays fenced off.
-- ?1 seq, ?2 now
UPDATE tasks SET
  state = 'ready',
  attempts = attempts - 1,
  lease_expires_at = NULL,
  deadline_at = NULL,
  updated_at = ?2
WHERE seq = ?1
