-- Apply the changes of one transaction to a run's task counts.
-- ?1 run id, ?2..?9 deltas for blocked, delayed, ready, running, succeeded, failed, skipped,
-- cancelled
-- Returns: the run's state and new counts.
UPDATE runs SET
  n_blocked = n_blocked + ?2,
  n_delayed = n_delayed + ?3,
  n_ready = n_ready + ?4,
  n_running = n_running + ?5,
  n_succeeded = n_succeeded + ?6,
  n_failed = n_failed + ?7,
  n_skipped = n_skipped + ?8,
  n_cancelled = n_cancelled + ?9
WHERE id = ?1
RETURNING state, n_blocked, n_delayed, n_ready, n_running, n_succeeded, n_failed, n_skipped,
          n_cancelled
