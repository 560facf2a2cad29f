-- The newest events of a namespace among some types, newest first.
-- ?1 ns, ?2 JSON array of types, ?3 limit
-- Walks events_ns (ns, id) backwards, testing each row's type: stops after ?3 matches.
SELECT * FROM events
WHERE ns = ?1 AND type IN (SELECT value FROM json_each(?2))
ORDER BY id DESC
LIMIT ?3
