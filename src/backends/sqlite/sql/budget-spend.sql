-- Add a recorded call's cost to what its run's and task's budgets spent (those that exist).
-- ?1 run id (NULL for none), ?2 task id, ?3 cost (nano)
UPDATE budgets SET spent_nano = spent_nano + ?3 WHERE id IN (?1, ?2)
