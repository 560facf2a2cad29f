-- Declare stalled the active agents whose worker loop made no progress since the cut-off while
-- they owed some: a running task claimed before the cut-off, or an unreported timed-out attempt
-- from before the cut-off (backend.ts SweepOptions.stallAfterMs).
-- ?1 ns, ?2 now, ?3 cut-off (now - stallAfterMs)
-- Returns: the agents declared stalled, their last progress and why ('timeout' | 'no_progress').
UPDATE agents SET stalled_at = ?2
WHERE ns = ?1 AND state = 'active' AND stalled_at IS NULL
  AND coalesce(progress_at, started_at) < ?3
  AND (
    (overdue_at IS NOT NULL AND overdue_at > coalesce(progress_at, started_at) AND overdue_at < ?3)
    OR id IN (SELECT agent_id FROM tasks WHERE ns = ?1 AND state = 'running' AND started_at < ?3)
  )
RETURNING id, coalesce(progress_at, started_at) AS last_progress_at,
  CASE WHEN overdue_at IS NOT NULL AND overdue_at > coalesce(progress_at, started_at)
    AND overdue_at < ?3 THEN 'timeout' ELSE 'no_progress' END AS reason
