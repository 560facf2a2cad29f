-- The id of a namespace's newest event: the last entry of its events_ns index range. No row when
-- the namespace has no events.
-- ?1 ns
SELECT id FROM events WHERE ns = ?1 ORDER BY id DESC LIMIT 1
