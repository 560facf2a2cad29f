-- Events of a namespace after an id, in order.
-- ?1 ns, ?2 after id, ?3 limit
SELECT * FROM events WHERE ns = ?1 AND id > ?2 ORDER BY id LIMIT ?3
