-- What the bounds know of the logs of several claims a call has just checked (the leases a
-- complete, fail or release found held), in one statement rather than one per claim: a row for
-- each claim with a task_log_claims row (count, bytes NULL), and for each claim without one but
-- with lines, how many its head holds and their bytes (the state columns NULL). A claim with
-- neither (the usual case: an attempt whose lines all come with its outcome) has no row.
-- ? task seq, ? token — per claim: the backend repeats the row of placeholders for 64, 16, 4 and
-- 1 claims (a list of bound values costs less than parsing a JSON array of them: 0.27 against
-- 0.68 µs per claim; docs/benchmarks.md)
WITH c(task_seq, token) AS (VALUES (?, ?))
SELECT s.task_seq, s.token, s.lines, s.head_lines, s.head_bytes, s.head_full, s.tail_bytes,
       s.tail_after, s.cut_lines, s.cut_bytes, s.cut_to, s.cut_at, NULL AS count, NULL AS bytes
FROM c JOIN task_log_claims s ON s.task_seq = c.task_seq AND s.token = c.token
UNION ALL
SELECT l.task_seq, l.token, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, count(*),
       sum(l.bytes)
FROM c JOIN task_logs l ON l.task_seq = c.task_seq AND l.token = c.token
WHERE NOT EXISTS (SELECT 1 FROM task_log_claims s WHERE s.task_seq = c.task_seq AND s.token = c.token)
GROUP BY l.task_seq, l.token
