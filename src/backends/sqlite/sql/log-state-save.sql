-- Write what the bounds know of one attempt's log after an append.
-- ?1 task seq, ?2 attempt, ?3 agent id, ?4 lines, ?5 head lines, ?6 head bytes, ?7 head full (0/1),
-- ?8 tail bytes, ?9 tail after (seq), ?10 cut lines, ?11 cut bytes, ?12 cut to (seq or NULL),
-- ?13 cut at (ms or NULL)
INSERT OR REPLACE INTO task_log_attempts
  (task_seq, attempt, agent_id, lines, head_lines, head_bytes, head_full, tail_bytes, tail_after,
   cut_lines, cut_bytes, cut_to, cut_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
