-- 000003_routing: what claim-time routing reads (docs/routing.md, src/core/routing.ts).
--
-- Append-only, like every migration: change the schema in a new file.
--
-- When a ready task became ready is its updated_at: every move into `ready` (insert, release by
-- its dependencies, promotion, retry, graceful release) writes updated_at, and nothing else
-- writes a ready task. Routing measures its preference windows from it.

-- A task's affinity rules ([{label, value, weight}] JSON; NULL when it has none), and the agents
-- its attempts failed on, timed out on or were lost with ([agent id, …] JSON in the order it
-- happened, each once; NULL when none).
ALTER TABLE tasks ADD COLUMN affinity TEXT;
ALTER TABLE tasks ADD COLUMN failed_agents TEXT;

-- What an agent claims with: the filter of its latest claim ([[sorted capabilities]] for any
-- type, or [[sorted capabilities], [sorted types]]); NULL until its first claim, and routing only
-- counts agents that claim (the filter says which tasks they take). Its count of recently
-- claimed tasks (decayed with the routing policy's loadHalfLifeMs, as of last_claim_at), and
-- when it last claimed a task.
ALTER TABLE agents ADD COLUMN claim_filter TEXT;
ALTER TABLE agents ADD COLUMN recent_claims REAL NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN last_claim_at INTEGER;

-- The tasks each agent holds: routing counts every live peer's in-flight tasks in each claim.
CREATE INDEX tasks_running_agent ON tasks (ns, agent_id) WHERE state = 'running';
