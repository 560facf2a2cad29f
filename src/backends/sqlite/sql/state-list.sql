-- A page of the live entries of a scope whose keys start with a prefix, in key order.
-- ?1 ns, ?2 scope, ?3 prefix ('' for every key), ?4 list after this key ('' from the first),
-- ?5 now, ?6 limit
SELECT key, value, version, expires_at, updated_at FROM state
WHERE ns = ?1 AND scope = ?2 AND key >= ?3 AND key > ?4 AND substr(key, 1, length(?3)) = ?3
  AND (expires_at IS NULL OR expires_at > ?5)
ORDER BY key LIMIT ?6
