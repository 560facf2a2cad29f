-- What an attempt's model calls cost, for its task.succeeded / task.failed event (NULL: none).
-- Read apart from attempt-finish.sql: a point read costs less than its RETURNING would.
-- ?1 task seq, ?2 token
SELECT cost_nano FROM attempts WHERE task_seq = ?1 AND token = ?2
