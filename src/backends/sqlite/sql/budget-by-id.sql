-- A run's or task's budget.
-- ?1 run or task id, ?2 ns
SELECT id, limit_nano, spent_nano, reserved_nano FROM budgets WHERE id = ?1 AND ns = ?2
