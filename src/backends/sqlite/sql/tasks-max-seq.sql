-- The largest task seq so far (0 for an empty store): new tasks take the next ones.
SELECT coalesce(max(seq), 0) AS seq FROM tasks
