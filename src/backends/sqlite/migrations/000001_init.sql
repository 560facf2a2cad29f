-- 000001_init: the first schema of the SQLite backend.
--
-- Append-only: never edit this file once released; add 000002_….sql instead. The migrator runs
-- each file in its own transaction together with the row it writes to `migrations`.
--
-- Conventions:
-- * Every namespaced table has an `ns` column; every query filters on it.
-- * Rows that are looked up by a public text id also have an integer `seq` primary key: inserts
--   append to the table B-tree, joins and foreign references use the small integer, and `seq`
--   is the FIFO order and the pagination cursor.
-- * Times are epoch ms from the backend's clock; JSON columns hold text.

-- Ready queues: the distinct (task type, `requires` set) pairs, the requires set as a sorted
-- capability list in JSON. Tasks point at one by id, so a claim decides once per queue whether
-- the agent takes it (its capabilities cover the requires set, and it handles the type) and then
-- reads only the index ranges of the queues it takes. Shared by every namespace: a queue is just
-- a value.
CREATE TABLE queues (
  id INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  requires TEXT NOT NULL,
  UNIQUE (type, requires)
);

-- A run: a DAG of tasks submitted together. The n_<state> columns count its tasks in each state;
-- they are updated in the transaction that moves a task, so progress and "the last task just
-- finished" are answered without scanning the run's tasks.
CREATE TABLE runs (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  ns TEXT NOT NULL,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  n_blocked INTEGER NOT NULL DEFAULT 0,
  n_delayed INTEGER NOT NULL DEFAULT 0,
  n_ready INTEGER NOT NULL DEFAULT 0,
  n_running INTEGER NOT NULL DEFAULT 0,
  n_succeeded INTEGER NOT NULL DEFAULT 0,
  n_failed INTEGER NOT NULL DEFAULT 0,
  n_skipped INTEGER NOT NULL DEFAULT 0,
  n_cancelled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_ns ON runs (ns, seq);

-- Task counts per state for a whole namespace, maintained like the run counters (for stats()).
CREATE TABLE namespaces (
  ns TEXT PRIMARY KEY,
  n_blocked INTEGER NOT NULL DEFAULT 0,
  n_delayed INTEGER NOT NULL DEFAULT 0,
  n_ready INTEGER NOT NULL DEFAULT 0,
  n_running INTEGER NOT NULL DEFAULT 0,
  n_succeeded INTEGER NOT NULL DEFAULT 0,
  n_failed INTEGER NOT NULL DEFAULT 0,
  n_skipped INTEGER NOT NULL DEFAULT 0,
  n_cancelled INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE tasks (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  ns TEXT NOT NULL,
  run_id TEXT,
  key TEXT,
  type TEXT NOT NULL,
  title TEXT,
  epic TEXT,
  payload TEXT NOT NULL,
  -- Sorted capability names (JSON array), and the queues row of (type, requires).
  requires TEXT NOT NULL,
  queue INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  critical_path INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  timeout_ms INTEGER,
  backoff TEXT NOT NULL,
  idempotency_key TEXT,
  run_after INTEGER,
  -- The normalised dependsOn list ([{key, soft}] JSON) and, in the same order, the ids of the
  -- tasks it resolved to (a key may resolve to a task outside the run through an idempotency
  -- key). NULL when the task has no dependencies.
  depends_on TEXT,
  dep_ids TEXT,
  -- Dependencies that have not released this task yet; it leaves `blocked` when this reaches 0.
  pending_deps INTEGER NOT NULL DEFAULT 0,
  -- 1 when some task depends on this one, so settling a task without dependents skips a lookup.
  has_dependents INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL,
  -- Attempts that count against max_attempts; a graceful release gives its attempt back.
  attempts INTEGER NOT NULL DEFAULT 0,
  -- Fencing token: +1 on every claim, never given back.
  token INTEGER NOT NULL DEFAULT 0,
  agent_id TEXT,
  lease_expires_at INTEGER,
  -- started_at + timeout_ms of the running attempt, for the sweep; NULL without a timeout.
  deadline_at INTEGER,
  result TEXT,
  error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER
);
-- The ready queues: one index range per (namespace, queue), already in claim order.
CREATE INDEX tasks_ready ON tasks (ns, queue, priority, critical_path DESC, seq)
  WHERE state = 'ready';
CREATE INDEX tasks_delayed ON tasks (ns, run_after) WHERE state = 'delayed';
CREATE INDEX tasks_running ON tasks (ns, lease_expires_at) WHERE state = 'running';
CREATE UNIQUE INDEX tasks_idempotency ON tasks (ns, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
-- Keys are unique within a run; also serves "the tasks of a run".
CREATE UNIQUE INDEX tasks_run_key ON tasks (run_id, key) WHERE run_id IS NOT NULL;
-- Listing by state without scanning the table: terminal tasks enter this index once, when they
-- finish (finished_at is set exactly then), and never move again; blocked tasks have their own
-- small index; ready, delayed and running tasks are found through the indexes above.
CREATE INDEX tasks_finished ON tasks (ns, state, seq) WHERE finished_at IS NOT NULL;
CREATE INDEX tasks_blocked ON tasks (ns, seq) WHERE state = 'blocked';

-- Dependency edges, looked up from the dependency when it settles.
CREATE TABLE deps (
  dep_seq INTEGER NOT NULL,
  task_seq INTEGER NOT NULL,
  soft INTEGER NOT NULL,
  PRIMARY KEY (dep_seq, task_seq)
) WITHOUT ROWID;

-- One row per claim of a task; `outcome` moves from 'running' to its final value exactly once.
CREATE TABLE attempts (
  task_seq INTEGER NOT NULL,
  token INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  agent_id TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  outcome TEXT NOT NULL,
  error TEXT,
  PRIMARY KEY (task_seq, token)
) WITHOUT ROWID;

CREATE TABLE agents (
  ns TEXT NOT NULL,
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  capabilities TEXT NOT NULL,
  labels TEXT NOT NULL,
  concurrency INTEGER NOT NULL,
  host TEXT,
  pid INTEGER,
  version TEXT,
  state TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  last_heartbeat_at INTEGER NOT NULL,
  PRIMARY KEY (ns, id)
) WITHOUT ROWID;

-- The event stream. AUTOINCREMENT so an id is never reused, even if old events are pruned.
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ns TEXT NOT NULL,
  type TEXT NOT NULL,
  at INTEGER NOT NULL,
  task_id TEXT,
  run_id TEXT,
  agent_id TEXT,
  data TEXT NOT NULL
);
CREATE INDEX events_ns ON events (ns, id);
