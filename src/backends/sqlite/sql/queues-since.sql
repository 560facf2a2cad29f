-- Ready queues registered after a given id (by this or another process).
-- ?1 last known id
SELECT id, type, requires FROM queues WHERE id > ?1 ORDER BY id
