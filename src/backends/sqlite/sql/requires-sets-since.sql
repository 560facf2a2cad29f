-- Requires sets registered after a given id (by this or another process).
-- ?1 last known id
SELECT id, requires FROM requires_sets WHERE id > ?1 ORDER BY id
