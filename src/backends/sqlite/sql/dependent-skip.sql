-- A hard dependency of a blocked task failed, was cancelled or skipped: skip the task.
-- ?1 seq, ?2 error (JSON), ?3 now
-- Returns: what the event and the next round of skipping need, or nothing when the task is not
-- blocked.
UPDATE tasks SET
  state = 'skipped',
  error = ?2,
  finished_at = ?3,
  updated_at = ?3
WHERE seq = ?1 AND state = 'blocked'
RETURNING id, run_id, key, has_dependents
