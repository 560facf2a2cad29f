-- Change what the reservations hold against a run's and task's budgets (those that exist).
-- ?1 run id (NULL for none), ?2 task id, ?3 change (nano): + to hold, - to let go
UPDATE budgets SET reserved_nano = reserved_nano + ?3 WHERE id IN (?1, ?2)
