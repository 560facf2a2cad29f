-- Stalled active agents that made progress since they were declared stalled.
-- ?1 ns
SELECT id, stalled_at FROM agents
WHERE ns = ?1 AND state = 'active' AND stalled_at IS NOT NULL
  AND coalesce(progress_at, started_at) > stalled_at
