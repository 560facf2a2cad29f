-- The first ready tasks of one queue in claim order (as tasks-ready-candidates.sql), with what
-- routing weighs: when each became ready (updated_at: see migration 000003), its affinity rules
-- and the agents it failed on.
-- ?1 ns, ?2 queue, ?3 limit
SELECT seq, priority, critical_path, updated_at, affinity, failed_agents FROM tasks
WHERE ns = ?1 AND state = 'ready' AND queue = ?2
ORDER BY priority, critical_path DESC, seq
LIMIT ?3
