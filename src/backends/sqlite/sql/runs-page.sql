-- A page of a namespace's runs in submission order, oldest first.
-- ?1 ns, ?2 after seq (cursor; 0 for the first page), ?3 limit
SELECT * FROM runs WHERE ns = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3
