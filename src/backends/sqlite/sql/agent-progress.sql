-- The agent's worker loop reported an attempt (complete or fail of a lease it held): progress.
-- ?1 ns, ?2 agent id, ?3 now
UPDATE agents SET progress_at = ?3 WHERE ns = ?1 AND id = ?2 AND state = 'active'
