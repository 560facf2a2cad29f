-- Apply the changes of one transaction to a namespace's task counts.
-- ?1 ns, ?2..?9 deltas for blocked, delayed, ready, running, succeeded, failed, skipped,
-- cancelled
INSERT INTO namespaces (
  ns, n_blocked, n_delayed, n_ready, n_running, n_succeeded, n_failed, n_skipped, n_cancelled
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT (ns) DO UPDATE SET
  n_blocked = n_blocked + excluded.n_blocked,
  n_delayed = n_delayed + excluded.n_delayed,
  n_ready = n_ready + excluded.n_ready,
  n_running = n_running + excluded.n_running,
  n_succeeded = n_succeeded + excluded.n_succeeded,
  n_failed = n_failed + excluded.n_failed,
  n_skipped = n_skipped + excluded.n_skipped,
  n_cancelled = n_cancelled + excluded.n_cancelled
