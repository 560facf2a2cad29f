-- Every counter of a namespace's agents (for listAgents).
-- ?1 ns
SELECT agent_id, type, succeeded, failed, total_run_ms FROM agent_stats WHERE ns = ?1
ORDER BY agent_id, type
