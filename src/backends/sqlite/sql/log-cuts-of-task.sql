-- Where a task's claims had lines cut after a reader's cursor: one `cut` marker each.
-- ?1 task seq, ?2 after (exclusive seq), ?3 attempt or NULL for every one
SELECT attempt, agent_id, head_lines, cut_lines, cut_bytes, cut_to, cut_at FROM task_log_claims
WHERE task_seq = ?1 AND cut_lines > 0 AND cut_to > ?2 AND (?3 IS NULL OR attempt = ?3)
