-- A run reached its final state.
-- ?1 run id, ?2 state, ?3 now
UPDATE runs SET state = ?2, finished_at = ?3 WHERE id = ?1 AND state = 'running'
