-- Register an agent, or make a known one active again with what it says about itself now. A new
-- registration starts healthy: no stall, no unreported timeout, no process report yet (the
-- counters in agent_stats are kept: they belong to the agent id).
-- An agent keeps the owner it was first registered with: registering its id with another owner
-- (or none, when it has one) changes nothing.
-- ?1 ns, ?2 id, ?3 name, ?4 capabilities (JSON), ?5 labels (JSON), ?6 concurrency, ?7 host,
-- ?8 pid, ?9 version, ?10 now, ?11 owner (NULL for none)
-- Returns: the agent row, or nothing when the id is registered with another owner.
INSERT INTO agents (
  ns, id, name, capabilities, labels, concurrency, host, pid, version, state,
  started_at, last_heartbeat_at, progress_at, owner
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'active', ?10, ?10, ?10, ?11)
ON CONFLICT (ns, id) DO UPDATE SET
  name = excluded.name,
  capabilities = excluded.capabilities,
  labels = excluded.labels,
  concurrency = excluded.concurrency,
  host = excluded.host,
  pid = excluded.pid,
  version = excluded.version,
  state = 'active',
  started_at = excluded.started_at,
  last_heartbeat_at = excluded.last_heartbeat_at,
  progress_at = excluded.progress_at,
  overdue_at = NULL,
  stalled_at = NULL,
  cpu_percent = NULL,
  rss_bytes = NULL,
  abandoned_handlers = 0
WHERE agents.owner IS excluded.owner
RETURNING *
