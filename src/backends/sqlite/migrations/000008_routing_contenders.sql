-- 000008_routing_contenders: a routed claim weighs a bounded number of peers, its contenders
-- (docs/routing.md, "Who counts"), found through an index rather than by reading every live
-- agent, so its cost does not grow with the fleet.
--
-- Append-only, like every migration: change the schema in a new file.

-- An agent's load, (tasks in flight + recently claimed tasks) / concurrency, as of its latest
-- heartbeat (or of the claim that set its filter), while routing is on. NULL until then.
-- Written by heartbeats rather than by every claim: an indexed column that changed with every
-- claim would cost each claim an index update.
ALTER TABLE agents ADD COLUMN claim_load REAL;

-- A claim's contenders: the active agents of a claim filter, least loaded first.
CREATE INDEX agents_contenders ON agents (ns, claim_filter, claim_load)
WHERE state = 'active' AND claim_filter IS NOT NULL;

-- The claim filters agents of a namespace have claimed with (the distinct values of
-- agents.claim_filter, kept apart so a claim reads a handful of rows, not every agent). A claim
-- weighs the agents of the filters that take one of its queues.
CREATE TABLE claim_filters (
  ns TEXT NOT NULL,
  filter TEXT NOT NULL,
  PRIMARY KEY (ns, filter)
) WITHOUT ROWID;
INSERT OR IGNORE INTO claim_filters (ns, filter)
SELECT ns, claim_filter FROM agents WHERE claim_filter IS NOT NULL;
