-- Count one model call's outcome in the history of its task type, complexity and model.
-- ?1 ns, ?2 task type, ?3 complexity, ?4 model, ?5 1 when it succeeded, else 0
INSERT INTO model_outcomes (ns, task_type, complexity, model, runs, succeeded)
VALUES (?1, ?2, ?3, ?4, 1, ?5)
ON CONFLICT (ns, task_type, complexity, model)
DO UPDATE SET runs = runs + 1, succeeded = succeeded + excluded.succeeded
