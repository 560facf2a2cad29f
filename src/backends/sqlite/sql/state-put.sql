-- Write an entry of shared state (create or replace).
-- ?1 ns, ?2 scope, ?3 key, ?4 value JSON, ?5 version, ?6 expires_at (NULL: never), ?7 now
INSERT INTO state (ns, scope, key, value, version, expires_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (ns, scope, key) DO UPDATE SET
  value = excluded.value, version = excluded.version, expires_at = excluded.expires_at,
  updated_at = excluded.updated_at
