-- The active agents whose last heartbeat is older than the cut-off: the sweep declares them lost
-- (unless its caller spares them, SweepOptions.spare).
-- ?1 ns, ?2 cut-off time
-- Returns: { id, host, pid, started_at, last_heartbeat_at } per agent.
SELECT id, host, pid, started_at, last_heartbeat_at FROM agents
WHERE ns = ?1 AND state = 'active' AND last_heartbeat_at < ?2
