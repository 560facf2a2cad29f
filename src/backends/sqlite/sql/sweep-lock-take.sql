-- Take (or keep) the namespace's sweep lock until ?3, unless another holder's lock still lasts.
-- ?1 ns, ?2 holder, ?3 expires at, ?4 now
-- Returns: the row when this holder has the lock now; no row when another holder's lasts.
INSERT INTO sweep_locks (ns, holder, expires_at) VALUES (?1, ?2, ?3)
ON CONFLICT (ns) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
  WHERE sweep_locks.holder = excluded.holder OR sweep_locks.expires_at <= ?4
RETURNING holder
