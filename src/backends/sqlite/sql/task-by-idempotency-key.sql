-- The task a namespace already stored under an idempotency key.
-- ?1 ns, ?2 idempotency_key
SELECT seq, id, key, state FROM tasks WHERE ns = ?1 AND idempotency_key = ?2
