-- What the bounds know of one claim's log, for a lease the call has just checked (its task and
-- attempt known): its task_log_claims row when it has one, else (lines NULL) how many lines its
-- head holds and their bytes, counted from its lines (a claim with few lines keeps no row).
-- ?1 task seq, ?2 token
SELECT lines, head_lines, head_bytes, head_full, tail_bytes, tail_after, cut_lines, cut_bytes,
       cut_to, cut_at, NULL AS count, NULL AS bytes
FROM task_log_claims WHERE task_seq = ?1 AND token = ?2
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, count(*), coalesce(sum(bytes), 0)
FROM task_logs
WHERE task_seq = ?1 AND token = ?2
  AND NOT EXISTS (SELECT 1 FROM task_log_claims WHERE task_seq = ?1 AND token = ?2)
