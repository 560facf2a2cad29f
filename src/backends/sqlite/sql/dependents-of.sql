-- The tasks that depend on one task.
-- ?1 dependency seq
SELECT task_seq, soft FROM deps WHERE dep_seq = ?1
