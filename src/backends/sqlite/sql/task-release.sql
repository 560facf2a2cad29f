-- Give a lease back without counting its attempt (graceful shutdown, a handler that deferred):
-- the task is ready again, or delayed until run_after. The fencing token is kept, so the old
-- holder stays fenced off.
-- ?1 seq, ?2 now, ?3 state ('ready' | 'delayed'), ?4 run_after (NULL keeps it)
UPDATE tasks SET
  state = ?3,
  run_after = coalesce(?4, run_after),
  attempts = attempts - 1,
  lease_expires_at = NULL,
  deadline_at = NULL,
  updated_at = ?2
WHERE seq = ?1
