-- 000010_ledger: the usage and cost ledger, budgets and their reservations (docs/costs.md).
--
-- Append-only, like every migration: change the schema in a new file.
--
-- Money is stored in whole nano-dollars (1e-9 USD), so sums and budget checks are exact
-- integer arithmetic (core/ledger.ts).

-- One row per recorded model call, against the attempt that made it. A call an attempt made
-- before it was fenced out is recorded too: fencing guards a task's outcome, not the ledger.
-- Tasks are never deleted, so neither are their calls.
CREATE TABLE usage (
  seq INTEGER PRIMARY KEY,
  ns TEXT NOT NULL,
  task_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  run_id TEXT,
  epic TEXT,
  agent_id TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  cost_nano INTEGER NOT NULL,
  -- 'provider', 'override' or 'table' (core/ledger.ts CostBasis)
  cost_basis TEXT NOT NULL,
  at INTEGER NOT NULL
);
-- A run's calls (and, by its prefix, a namespace's); a task's calls.
CREATE INDEX usage_run ON usage (ns, run_id);
CREATE INDEX usage_task ON usage (task_id, seq);

-- What an attempt's calls cost, for its task.succeeded / task.failed event. NULL: no call.
ALTER TABLE attempts ADD COLUMN cost_nano INTEGER;

-- The budget of a run or of a task (by its id), with what was spent against it and what the
-- reservations of calls in flight hold. A reservation is taken only when
-- spent_nano + reserved_nano + its amount <= limit_nano, in the transaction that takes it.
CREATE TABLE budgets (
  id TEXT PRIMARY KEY,
  ns TEXT NOT NULL,
  limit_nano INTEGER NOT NULL,
  spent_nano INTEGER NOT NULL DEFAULT 0,
  reserved_nano INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- A model call's worst case, held against its run's and task's budgets until the call is
-- recorded (settled) or released. It belongs to the lease (task, token): once that lease is
-- not held any more, the sweep releases it.
CREATE TABLE reservations (
  id TEXT PRIMARY KEY,
  ns TEXT NOT NULL,
  task_seq INTEGER NOT NULL,
  task_id TEXT NOT NULL,
  token INTEGER NOT NULL,
  run_id TEXT,
  nano INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX reservations_ns ON reservations (ns);
