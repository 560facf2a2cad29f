-- The head of a claim's log that has no task_log_claims row yet (a claim with few lines keeps
-- none: see logs.ts): how many lines, and their bytes.
-- ?1 task seq, ?2 token
SELECT count(*) AS lines, coalesce(sum(bytes), 0) AS bytes FROM task_logs
WHERE task_seq = ?1 AND token = ?2
