-- Hold a call's worst case for the lease (task, token).
-- ?1 id, ?2 ns, ?3 task seq, ?4 task id, ?5 token, ?6 run id, ?7 amount (nano), ?8 now
INSERT INTO reservations (id, ns, task_seq, task_id, token, run_id, nano, created_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
