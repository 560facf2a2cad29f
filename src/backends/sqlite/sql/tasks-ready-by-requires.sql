-- Ready tasks per queue, with the queue's requires set and type, ordered by requires set then
-- type (stats() sums the queues of one requires set into its group). Reads the tasks_ready index.
-- ?1 ns
SELECT q.requires AS requires, q.type AS type, count(*) AS count
FROM tasks t JOIN queues q ON q.id = t.queue
WHERE t.ns = ?1 AND t.state = 'ready'
GROUP BY t.queue
ORDER BY q.requires, q.type
