-- Declare lost the active agents whose last heartbeat is older than the cut-off.
-- ?1 ns, ?2 cut-off time
-- Returns: the agents declared lost.
UPDATE agents SET state = 'lost'
WHERE ns = ?1 AND state = 'active' AND last_heartbeat_at < ?2
RETURNING id, last_heartbeat_at
