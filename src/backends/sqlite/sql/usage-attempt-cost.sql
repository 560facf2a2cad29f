-- Add a call's cost to its attempt's.
-- ?1 task seq, ?2 token, ?3 cost (nano)
UPDATE attempts SET cost_nano = coalesce(cost_nano, 0) + ?3 WHERE task_seq = ?1 AND token = ?2
