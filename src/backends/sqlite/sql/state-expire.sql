-- Delete up to 100 expired entries of a namespace (writes call it as they go).
-- ?1 ns, ?2 now
DELETE FROM state WHERE (ns, scope, key) IN (
  SELECT ns, scope, key FROM state WHERE ns = ?1 AND expires_at <= ?2 LIMIT 100
)
