-- One run with its task counts.
-- ?1 run id, ?2 ns
SELECT * FROM runs WHERE id = ?1 AND ns = ?2
