-- Record that an active agent is alive.
-- ?1 ns, ?2 agent id, ?3 now
-- Returns: nothing; no change means the agent is unknown or no longer active.
UPDATE agents SET last_heartbeat_at = ?3 WHERE ns = ?1 AND id = ?2 AND state = 'active'
