-- Record one model call.
-- ?1 ns, ?2 task id, ?3 attempt, ?4 run id, ?5 epic, ?6 agent id, ?7 provider, ?8 model,
-- ?9 input, ?10 output, ?11 cache-read, ?12 cache-write, ?13 reasoning tokens, ?14 cost (nano),
-- ?15 cost basis, ?16 now
INSERT INTO usage (ns, task_id, attempt, run_id, epic, agent_id, provider, model, input_tokens,
  output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano, cost_basis, at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
