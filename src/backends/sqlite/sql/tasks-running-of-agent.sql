-- The tasks an agent holds leases on.
-- ?1 ns, ?2 agent id
SELECT seq, id, run_id, key, state, token, attempts, max_attempts, backoff, queue, agent_id,
       lease_expires_at, timeout_ms, has_dependents
FROM tasks WHERE ns = ?1 AND state = 'running' AND agent_id = ?2
ORDER BY seq
