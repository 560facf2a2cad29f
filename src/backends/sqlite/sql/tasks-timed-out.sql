-- Running tasks whose attempt ran past timeout_ms.
-- ?1 ns, ?2 now
SELECT seq, id, run_id, key, state, token, attempts, max_attempts, backoff, queue, agent_id,
       lease_expires_at, timeout_ms, has_dependents
FROM tasks WHERE ns = ?1 AND state = 'running' AND deadline_at < ?2
ORDER BY seq
