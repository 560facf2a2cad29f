-- The contenders of a routed claim among the agents of one claim filter (docs/routing.md): the
-- least loaded (by their load at their latest claim, migration 000008) of those alive and
-- pulling work, as listAgents tells it: active, heartbeat fresh, not stalled.
-- ?1 ns, ?2 claim filter, ?3 claiming agent's id, ?4 oldest fresh heartbeat
-- (now - agentLiveMs), ?5 most rows
SELECT id, labels, concurrency, claim_filter, recent_claims, last_claim_at, claim_load AS load
FROM agents
WHERE ns = ?1 AND claim_filter = ?2 AND state = 'active' AND claim_filter IS NOT NULL
  AND claim_load IS NOT NULL AND id <> ?3 AND last_heartbeat_at >= ?4
  AND (stalled_at IS NULL OR coalesce(progress_at, started_at) > stalled_at)
ORDER BY claim_load
LIMIT ?5
