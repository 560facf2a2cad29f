-- A task skipped because of a failure is blocked again: the failed task was retried. Its
-- pending_deps is counted afresh (a dependency that finished while it was skipped did not
-- release it).
-- ?1 seq, ?2 pending dependencies, ?3 now
-- Returns: nothing; no change means the task is no longer skipped.
UPDATE tasks SET
  state = 'blocked',
  pending_deps = ?2,
  error = NULL,
  finished_at = NULL,
  updated_at = ?3
WHERE seq = ?1 AND state = 'skipped'
