-- Extend a lease that is still held: by its agent, with the right token, still running, not yet
-- expired.
-- ?1 task id, ?2 ns, ?3 token, ?4 now, ?5 new expiry, ?6 agent id
-- Returns: seq, or nothing when the lease is not held (by this agent).
UPDATE tasks SET lease_expires_at = ?5
WHERE id = ?1 AND ns = ?2 AND token = ?3 AND agent_id = ?6 AND state = 'running'
  AND lease_expires_at >= ?4
RETURNING seq
