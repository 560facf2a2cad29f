-- Count the successes of a batch of completed tasks for their agents and types, with each
-- attempt's run time (claim to now): one statement per complete() call. Runs in the
-- transaction that completes the tasks (task-complete.sql keeps agent_id and started_at).
-- ?1 the completed tasks' seqs (JSON array), ?2 now
INSERT INTO agent_stats (ns, agent_id, type, succeeded, failed, total_run_ms)
SELECT ns, agent_id, type, count(*), 0, sum(max(0, ?2 - coalesce(started_at, ?2)))
FROM tasks WHERE seq IN (SELECT value FROM json_each(?1)) AND agent_id IS NOT NULL
GROUP BY ns, agent_id, type
ON CONFLICT (ns, agent_id, type) DO UPDATE SET
  succeeded = succeeded + excluded.succeeded,
  total_run_ms = total_run_ms + excluded.total_run_ms
