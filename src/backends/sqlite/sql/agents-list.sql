-- Every agent of a namespace, in registration order.
-- ?1 ns
SELECT * FROM agents WHERE ns = ?1 ORDER BY started_at, id
