-- Delete an entry of shared state.
-- ?1 ns, ?2 scope, ?3 key
DELETE FROM state WHERE ns = ?1 AND scope = ?2 AND key = ?3
