-- A finished run has an open task again (a failed task of it was retried): running again.
-- ?1 run id
UPDATE runs SET state = 'running', finished_at = NULL WHERE id = ?1 AND state <> 'running'
