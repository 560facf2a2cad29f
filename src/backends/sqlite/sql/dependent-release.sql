-- One of a blocked task's dependencies released it; when it was the last one the task becomes
-- ready, or delayed when its run_after is still ahead.
-- ?1 seq, ?2 now
-- Returns: the task's new state (and what the event and the wake-up need), or nothing when the
-- task is not blocked (e.g. it was cancelled meanwhile).
UPDATE tasks SET
  pending_deps = pending_deps - 1,
  state = CASE
    WHEN pending_deps > 1 THEN 'blocked'
    WHEN run_after > ?2 THEN 'delayed'
    ELSE 'ready'
  END,
  updated_at = ?2
WHERE seq = ?1 AND state = 'blocked'
RETURNING id, run_id, state, queue, run_after
