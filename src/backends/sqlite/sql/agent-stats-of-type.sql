-- Every agent's counters for one task type (routing's history criterion).
-- ?1 ns, ?2 task type
SELECT agent_id, succeeded, failed, total_run_ms FROM agent_stats WHERE ns = ?1 AND type = ?2
