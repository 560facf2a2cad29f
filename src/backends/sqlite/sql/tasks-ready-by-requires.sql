-- Ready tasks per requires set.
-- ?1 ns
SELECT r.requires AS requires, count(*) AS count
FROM tasks t JOIN requires_sets r ON r.id = t.requires_set
WHERE t.ns = ?1 AND t.state = 'ready'
GROUP BY t.requires_set
ORDER BY r.requires
