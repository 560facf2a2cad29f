-- 000002_agent_stats: per-agent counters by task type, and what the agent registry needs to tell
-- a healthy agent from a stalled one and to show its process's CPU and memory.
--
-- Append-only, like every migration: change the schema in a new file.

-- Counters of each agent by task type, written in the transaction that records an attempt's
-- end: `succeeded` and `total_run_ms` (claim to complete, by the backend's clock) by complete,
-- `failed` by fail and by the sweep's timeouts (outcomes failed and timed_out). The mean run
-- time is total_run_ms / succeeded. Read by listAgents and by the routing policy.
CREATE TABLE agent_stats (
  ns TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  type TEXT NOT NULL,
  succeeded INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  total_run_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (ns, agent_id, type)
) WITHOUT ROWID;

-- Health (backend.ts SweepOptions.stallAfterMs): the last progress of the agent's worker loop
-- (a renew, or a complete/fail of its lease; NULL on rows from before this migration: read as
-- started_at), the earliest attempt of it the sweep timed out that it has not reported since
-- (stale once progress_at passes it), and when the sweep declared it stalled.
ALTER TABLE agents ADD COLUMN progress_at INTEGER;
ALTER TABLE agents ADD COLUMN overdue_at INTEGER;
ALTER TABLE agents ADD COLUMN stalled_at INTEGER;
-- The latest report of the agent's process (AgentReport).
ALTER TABLE agents ADD COLUMN cpu_percent REAL;
ALTER TABLE agents ADD COLUMN rss_bytes INTEGER;
