-- What the bounds know of one claim's log (no row: none yet), for a lease the call has just
-- checked (its task and attempt known).
-- ?1 task seq, ?2 token
SELECT lines, head_lines, head_bytes, head_full, tail_bytes, tail_after, cut_lines, cut_bytes,
       cut_to, cut_at
FROM task_log_claims WHERE task_seq = ?1 AND token = ?2
