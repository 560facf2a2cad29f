-- What a leased task sees of its dependencies.
-- ?1 JSON array of task ids
SELECT id, key, state, result, error FROM tasks WHERE id IN (SELECT value FROM json_each(?1))
