-- Agents of a namespace per state.
-- ?1 ns
SELECT state, count(*) AS count FROM agents WHERE ns = ?1 GROUP BY state
