-- Give the sweep lock up (a closing backend hands the sweep over at once).
-- ?1 ns, ?2 holder
-- Returns: nothing; no change when another process holds it.
DELETE FROM sweep_locks WHERE ns = ?1 AND holder = ?2
