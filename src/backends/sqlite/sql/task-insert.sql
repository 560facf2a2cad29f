-- Store submitted tasks. The backend repeats the row of placeholders to insert up to 32 tasks per
-- statement (anonymous `?` placeholders bind in order), and chooses each seq itself (the next
-- after tasks-max-seq.sql, under the write lock) so dependency edges can name them up front.
-- Per task: seq, id, ns, run_id, key, type, title, epic, payload (JSON), requires (JSON),
-- queue, priority, critical_path, max_attempts, timeout_ms, backoff (JSON),
-- idempotency_key, run_after, depends_on (JSON), dep_ids (JSON), pending_deps, has_dependents,
-- state, error (JSON), created_at, updated_at, finished_at, affinity (JSON or NULL), aggregate (0/1)
INSERT INTO tasks (
  seq, id, ns, run_id, key, type, title, epic, payload, requires,
  queue, priority, critical_path, max_attempts, timeout_ms, backoff,
  idempotency_key, run_after, depends_on, dep_ids, pending_deps, has_dependents,
  state, error, created_at, updated_at, finished_at, affinity, aggregate
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
