-- Lease one ready task: next fencing token, one more attempt, lease and timeout deadline.
-- ?1 seq, ?2 agent id, ?3 lease expires at, ?4 now
-- Returns: nothing; no change means the task is no longer ready. (Read the row back with
-- task-by-seq: RETURNING costs more than a second lookup.)
UPDATE tasks SET
  state = 'running',
  token = token + 1,
  attempts = attempts + 1,
  agent_id = ?2,
  lease_expires_at = ?3,
  deadline_at = ?4 + timeout_ms,
  started_at = ?4,
  updated_at = ?4
WHERE seq = ?1 AND state = 'ready'
