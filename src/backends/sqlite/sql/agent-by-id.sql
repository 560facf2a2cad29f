-- One agent.
-- ?1 ns, ?2 agent id
SELECT * FROM agents WHERE ns = ?1 AND id = ?2
