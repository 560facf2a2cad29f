-- Totals of the calls of a run.
-- ?1 ns, ?2 run id
SELECT count(*) AS calls, coalesce(sum(input_tokens), 0) AS input_tokens,
  coalesce(sum(output_tokens), 0) AS output_tokens,
  coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens,
  coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
  coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens, coalesce(sum(cost_nano), 0) AS cost_nano
FROM usage WHERE ns = ?1 AND run_id = ?2
