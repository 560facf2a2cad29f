-- Write what the bounds know of one claim's log after an append.
-- ?1 task seq, ?2 token, ?3 attempt, ?4 agent id, ?5 lines, ?6 head lines, ?7 head bytes,
-- ?8 head full (0/1), ?9 tail bytes, ?10 tail after (seq), ?11 cut lines, ?12 cut bytes,
-- ?13 cut to (seq or NULL), ?14 cut at (ms or NULL)
INSERT OR REPLACE INTO task_log_claims
  (task_seq, token, attempt, agent_id, lines, head_lines, head_bytes, head_full, tail_bytes,
   tail_after, cut_lines, cut_bytes, cut_to, cut_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
