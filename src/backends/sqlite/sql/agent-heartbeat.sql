-- Record that an active agent is alive (a heartbeat or a renew), that its worker loop made
-- progress (a renew), and its process report when it sent one; and, while routing is on, its
-- load now for the contenders index (migration 000008): (tasks in flight + recently claimed
-- tasks, decayed with the half-life) / concurrency, once it has claimed.
-- ?1 ns, ?2 agent id, ?3 now, ?4 1 when this is progress (a renew), else 0, ?5 1 when a report
-- came, else 0 (the last one is kept), ?6 CPU %, ?7 RSS bytes, ?8 abandoned handlers,
-- ?9 routing's loadHalfLifeMs (NULL: routing is off, the load is left as it is)
-- Returns: nothing; no change means the agent is unknown or no longer active.
UPDATE agents SET
  last_heartbeat_at = ?3,
  progress_at = CASE WHEN ?4 THEN ?3 ELSE progress_at END,
  cpu_percent = CASE WHEN ?5 THEN ?6 ELSE cpu_percent END,
  rss_bytes = CASE WHEN ?5 THEN ?7 ELSE rss_bytes END,
  abandoned_handlers = CASE WHEN ?5 THEN ?8 ELSE abandoned_handlers END,
  claim_load = CASE WHEN ?9 IS NULL OR claim_filter IS NULL THEN claim_load ELSE (
    (SELECT count(*) FROM tasks WHERE ns = ?1 AND state = 'running' AND agent_id = ?2)
    + CASE WHEN last_claim_at IS NULL THEN 0
      ELSE recent_claims * pow(2.0, -max(0, ?3 - last_claim_at) * 1.0 / ?9) END
  ) / max(1, concurrency) END
WHERE ns = ?1 AND id = ?2 AND state = 'active'
