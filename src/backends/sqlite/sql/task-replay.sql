-- Retry (replay) a failed task: ready again with a fresh attempt budget, its error and finish
-- time cleared. The attempts counter is kept, so the new attempts are numbered on from the old
-- ones; max_attempts is raised instead, to the attempts used so far plus the maxAttempts the task
-- was submitted with (kept in submitted_max_attempts by the first retry: see
-- migrations/000004_retry_budget.sql). The fencing token is kept, so every lease of the failed
-- run stays fenced off. (The right-hand sides all read the row as it was before the update.)
-- ?1 seq, ?2 now
-- Returns: nothing; no change means the task is no longer failed.
UPDATE tasks SET
  state = 'ready',
  max_attempts = attempts + coalesce(submitted_max_attempts, max_attempts),
  submitted_max_attempts = coalesce(submitted_max_attempts, max_attempts),
  error = NULL,
  lease_expires_at = NULL,
  deadline_at = NULL,
  finished_at = NULL,
  updated_at = ?2
WHERE seq = ?1 AND state = 'failed'
