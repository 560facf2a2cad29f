-- How many tasks an agent holds (index tasks_running_agent).
-- ?1 ns, ?2 agent id
SELECT count(*) AS n FROM tasks WHERE ns = ?1 AND state = 'running' AND agent_id = ?2
