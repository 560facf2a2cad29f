-- Every leased task of a namespace and its holder (agents' in-flight lists).
-- ?1 ns
SELECT agent_id, id FROM tasks WHERE ns = ?1 AND state = 'running' ORDER BY seq
