-- Move an agent to another state.
-- ?1 ns, ?2 agent id, ?3 state
UPDATE agents SET state = ?3 WHERE ns = ?1 AND id = ?2
