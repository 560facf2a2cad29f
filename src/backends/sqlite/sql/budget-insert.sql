-- The budget of a new run or task.
-- ?1 run or task id, ?2 ns, ?3 limit (nano)
INSERT INTO budgets (id, ns, limit_nano) VALUES (?1, ?2, ?3)
