-- Reservations whose lease is not held any more: its task is not running under its token, or
-- its lease ran out. The sweep releases them.
-- ?1 ns, ?2 now
SELECT r.id FROM reservations r JOIN tasks t ON t.seq = r.task_seq
WHERE r.ns = ?1
  AND NOT (t.state = 'running' AND t.token = r.token AND t.lease_expires_at >= ?2)
