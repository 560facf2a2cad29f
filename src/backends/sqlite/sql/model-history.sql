-- The history of a task type and complexity, every model it has one on.
-- ?1 ns, ?2 task type, ?3 complexity
SELECT model, runs, succeeded FROM model_outcomes
WHERE ns = ?1 AND task_type = ?2 AND complexity = ?3
