-- A claim changed the agent's filter (which tasks it takes, migration 000003), and, while routing
-- is on, gives its load now (migration 000008; NULL keeps the last one). Heartbeats keep the load
-- up to date after that (agent-heartbeat.sql).
-- ?1 ns, ?2 agent id, ?3 claim filter (JSON), ?4 load (or NULL)
UPDATE agents SET claim_filter = ?3, claim_load = coalesce(?4, claim_load)
WHERE ns = ?1 AND id = ?2
