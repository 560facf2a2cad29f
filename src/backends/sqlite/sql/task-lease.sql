-- What settling a lease needs to know about a task (and to say why a lease was lost).
-- ?1 task id, ?2 ns
SELECT seq, id, run_id, key, state, token, attempts, max_attempts, backoff, queue, agent_id,
       lease_expires_at, timeout_ms, has_dependents
FROM tasks WHERE id = ?1 AND ns = ?2
