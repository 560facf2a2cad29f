-- 000012_task_aggregate: a task may declare that its result is the run's result
-- (TaskSpec.aggregate, docs/planner.md#the-runs-result). 1 for such a task, else 0.
--
-- Append-only, like every migration: change the schema in a new file.
ALTER TABLE tasks ADD COLUMN aggregate INTEGER NOT NULL DEFAULT 0;
