-- 000015_state_and_views: shared state for agents, and the stable read-only views that the MCP
-- `query` tool offers (docs/mcp.md).
--
-- Append-only, like every migration: change the schema in a new file.

-- Shared state: small JSON values by scope (`run:<id>` or `ns:<name>`, decided above the seam)
-- and key. `version` is 1 on creation and +1 on each write (compare-and-set). A row whose
-- expires_at has passed is gone for every reader and writer; writes delete such rows as they go.
CREATE TABLE state (
  ns TEXT NOT NULL,
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  version INTEGER NOT NULL,
  expires_at INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (ns, scope, key)
) WITHOUT ROWID;
CREATE INDEX state_expiry ON state (ns, expires_at) WHERE expires_at IS NOT NULL;

-- The views `query` reads (through per-connection views that keep a caller to its namespace and
-- run). Their columns are a contract: add columns in new migrations, never rename or drop them.
-- Money in USD; times in epoch ms; JSON columns hold text.
CREATE VIEW baton_tasks AS
SELECT ns, id, run_id, key, type, title, epic, state, priority, attempts, max_attempts, agent_id,
       payload, result, error, depends_on, created_at, updated_at, started_at, finished_at
FROM tasks;

CREATE VIEW baton_runs AS
SELECT ns, id, name, state, created_at, finished_at, n_blocked, n_delayed, n_ready, n_running,
       n_succeeded, n_failed, n_skipped, n_cancelled
FROM runs;

CREATE VIEW baton_attempts AS
SELECT t.ns AS ns, t.id AS task_id, t.run_id AS run_id, a.attempt AS attempt,
       a.agent_id AS agent_id, a.started_at AS started_at, a.finished_at AS finished_at,
       a.outcome AS outcome, a.error AS error, a.run_ms AS run_ms,
       a.cost_nano / 1e9 AS cost_usd
FROM attempts a JOIN tasks t ON t.seq = a.task_seq;

CREATE VIEW baton_agents AS
SELECT ns, id, name, capabilities, labels, concurrency, host, state, started_at,
       last_heartbeat_at
FROM agents;

CREATE VIEW baton_costs AS
SELECT ns, task_id, attempt, run_id, epic, agent_id, provider, model, input_tokens,
       output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
       cost_nano / 1e9 AS cost_usd, cost_basis, at
FROM usage;
