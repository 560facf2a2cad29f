-- Totals of the calls of a namespace by group: run, epic, task, agent, or model (provider:model).
-- ?1 ns, ?2 group
SELECT CASE ?2
    WHEN 'run' THEN run_id WHEN 'epic' THEN epic WHEN 'task' THEN task_id
    WHEN 'agent' THEN agent_id ELSE provider || ':' || model END AS key,
  count(*) AS calls, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
  sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
  sum(reasoning_tokens) AS reasoning_tokens, sum(cost_nano) AS cost_nano
FROM usage WHERE ns = ?1
GROUP BY key
