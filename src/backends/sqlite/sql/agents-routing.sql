-- The peers routing weighs a claim against (docs/routing.md): the other agents of the namespace
-- that are alive and pulling work: active, heartbeat fresh, not stalled (as listAgents tells it),
-- and that have claimed at least once (their claim filter says which tasks they take).
-- ?1 ns, ?2 claiming agent's id, ?3 oldest fresh heartbeat (now - agentLiveMs)
SELECT id, labels, concurrency, claim_filter, recent_claims, last_claim_at FROM agents
WHERE ns = ?1 AND id <> ?2 AND state = 'active' AND claim_filter IS NOT NULL
  AND last_heartbeat_at >= ?3
  AND (stalled_at IS NULL OR coalesce(progress_at, started_at) > stalled_at)
