-- A live entry of shared state.
-- ?1 ns, ?2 scope, ?3 key, ?4 now
SELECT value, version, expires_at, updated_at FROM state
WHERE ns = ?1 AND scope = ?2 AND key = ?3 AND (expires_at IS NULL OR expires_at > ?4)
