-- One agent's counters for one task type (routing's history criterion).
-- ?1 ns, ?2 agent id, ?3 task type
SELECT succeeded, failed, total_run_ms FROM agent_stats WHERE ns = ?1 AND agent_id = ?2 AND type = ?3
