-- Keyed tasks of a run, for tasks added to it later to depend on.
-- ?1 run id
SELECT seq, id, key, state FROM tasks WHERE run_id = ?1 AND key IS NOT NULL
