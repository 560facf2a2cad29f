-- 000009_task_logs: every attempt's log, the lines its handler writes (docs/logs.md).
--
-- Append-only, like every migration: change the schema in a new file.
--
-- A log belongs to one claim of a task (its fencing token: one row of `attempts`), which has its
-- attempt number; a claim given back and claimed again has the same attempt number and a log of
-- its own.

-- One row per stored line. `seq` is the readers' cursor, given by the append from
-- task_log_seq: it only grows, even when the newest lines are deleted (bounds, a task removed).
-- Lines of one task are found by (task_seq, seq), which is also their order. Agent logs read
-- the lines in seq order and keep those of the agent: no index of their own, as every index is
-- written once per line, on the hot path (a 1 KiB line already costs about as much to store as
-- the rest of a no-op task; docs/benchmarks.md). `stream` is stdout, stderr or log; `level` 0 debug, 1 info, 2 warn,
-- 3 error (a level filter is a comparison); `bytes` what the bounds count of it: the UTF-8 size of
-- `text` plus one, for its newline; `at` the store's time when the line was stored.
CREATE TABLE task_logs (
  seq INTEGER PRIMARY KEY,
  ns TEXT NOT NULL,
  task_seq INTEGER NOT NULL,
  token INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  agent_id TEXT NOT NULL,
  stream TEXT NOT NULL,
  level INTEGER NOT NULL,
  at INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  text TEXT NOT NULL
);
CREATE INDEX task_logs_task ON task_logs (task_seq, seq);

-- The last seq given to a line (one row): read and written once per append, not once per line.
CREATE TABLE task_log_seq (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL
);
INSERT INTO task_log_seq (id, seq) VALUES (1, 0);

-- What the bounds (BackendOptions.logs) know of each claim's log: its lines so far, the head
-- (the first lines, up to headBytes; head_full once a line did not fit), the tail (every line
-- after the head, whose oldest are deleted while it holds more than tailBytes; its lines have
-- seq > tail_after), and what was cut from the tail: how many lines and bytes, the seq of the
-- last line cut (where a reader's `cut` marker goes) and when it was cut.
CREATE TABLE task_log_claims (
  task_seq INTEGER NOT NULL,
  token INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  agent_id TEXT NOT NULL,
  lines INTEGER NOT NULL,
  head_lines INTEGER NOT NULL,
  head_bytes INTEGER NOT NULL,
  head_full INTEGER NOT NULL,
  tail_bytes INTEGER NOT NULL,
  tail_after INTEGER NOT NULL,
  cut_lines INTEGER NOT NULL,
  cut_bytes INTEGER NOT NULL,
  cut_to INTEGER,
  cut_at INTEGER,
  PRIMARY KEY (task_seq, token)
) WITHOUT ROWID;

-- A task's log goes with it, whatever deletes the task.
CREATE TRIGGER tasks_delete_logs AFTER DELETE ON tasks BEGIN
  DELETE FROM task_logs WHERE task_seq = OLD.seq;
  DELETE FROM task_log_claims WHERE task_seq = OLD.seq;
END;
