-- Settle or release a reservation: gone, with what it held (no row when it was not held). A
-- settle names the call's task, and leaves another task's reservation alone.
-- ?1 id, ?2 ns, ?3 task id (NULL: any)
DELETE FROM reservations WHERE id = ?1 AND ns = ?2 AND (?3 IS NULL OR task_id = ?3)
RETURNING task_id, run_id, nano
