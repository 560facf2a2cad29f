-- The counters of one agent.
-- ?1 ns, ?2 agent id
SELECT agent_id, type, succeeded, failed, total_run_ms FROM agent_stats
WHERE ns = ?1 AND agent_id = ?2 ORDER BY type
