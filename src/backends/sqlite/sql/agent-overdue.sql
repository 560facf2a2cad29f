-- The sweep timed out an attempt of the agent that the agent did not report: remember when,
-- unless an earlier such time is still unreported (it is reported once progress_at reaches it).
-- ?1 ns, ?2 agent id, ?3 now
UPDATE agents SET overdue_at = ?3
WHERE ns = ?1 AND id = ?2 AND state = 'active'
  AND (overdue_at IS NULL OR overdue_at <= coalesce(progress_at, started_at))
