-- The current state of each dependency of a task (whether or not it has an edge to the task: a
-- dependency that had already ended when the task was submitted got none).
-- ?1 the task's dep_ids (JSON array of task ids)
SELECT id, seq, state FROM tasks WHERE id IN (SELECT value FROM json_each(?1))
