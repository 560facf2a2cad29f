-- A stalled agent made progress again.
-- ?1 ns, ?2 agent id
UPDATE agents SET stalled_at = NULL WHERE ns = ?1 AND id = ?2
