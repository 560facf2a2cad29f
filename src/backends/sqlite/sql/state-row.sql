-- An entry of shared state, expired or not, for a write to compare its version.
-- ?1 ns, ?2 scope, ?3 key
SELECT version, expires_at FROM state WHERE ns = ?1 AND scope = ?2 AND key = ?3
