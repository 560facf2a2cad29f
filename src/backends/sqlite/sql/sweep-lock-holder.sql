-- Who holds the namespace's sweep lock, and until when.
-- ?1 ns
-- Returns: { holder, expires_at }, or no row when nobody ever swept with a lock.
SELECT holder, expires_at FROM sweep_locks WHERE ns = ?1
