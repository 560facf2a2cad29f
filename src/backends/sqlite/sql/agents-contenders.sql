-- The contenders of a routed claim among the agents of one claim filter (docs/routing.md): the
-- least loaded (by their load as of their latest heartbeat, migration 000008) of those alive
-- and pulling work, as listAgents tells it: active, heartbeat fresh, not stalled; with the
-- tasks each holds now (index tasks_running_agent).
-- ?1 ns, ?2 claim filter, ?3 claiming agent's id, ?4 oldest fresh heartbeat
-- (now - agentLiveMs), ?5 most rows
SELECT id, labels, concurrency, claim_filter, recent_claims, last_claim_at, claim_load AS load,
  (SELECT count(*) FROM tasks t
   WHERE t.ns = agents.ns AND t.state = 'running' AND t.agent_id = agents.id) AS in_flight
FROM agents
WHERE ns = ?1 AND claim_filter = ?2 AND state = 'active' AND claim_filter IS NOT NULL
  AND claim_load IS NOT NULL AND id <> ?3 AND last_heartbeat_at >= ?4
  AND (stalled_at IS NULL OR coalesce(progress_at, started_at) > stalled_at)
ORDER BY claim_load
LIMIT ?5
