-- Count a failed (or timed-out) attempt for the task's agent and type. Runs in the transaction
-- that ends the attempt, before the task moves on (agent_id is still the holder's).
-- ?1 task seq
INSERT INTO agent_stats (ns, agent_id, type, succeeded, failed, total_run_ms)
SELECT ns, agent_id, type, 0, 1, 0
FROM tasks WHERE seq = ?1 AND agent_id IS NOT NULL
ON CONFLICT (ns, agent_id, type) DO UPDATE SET failed = failed + 1
