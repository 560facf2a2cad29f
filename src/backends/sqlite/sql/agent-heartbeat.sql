-- Record that an active agent is alive (a heartbeat or a renew), that its worker loop made
-- progress (a renew), and its process report when it sent one.
-- ?1 ns, ?2 agent id, ?3 now, ?4 1 when this is progress (a renew), else 0, ?5 1 when a report
-- came, else 0 (the last one is kept), ?6 CPU %, ?7 RSS bytes, ?8 abandoned handlers
-- Returns: nothing; no change means the agent is unknown or no longer active.
UPDATE agents SET
  last_heartbeat_at = ?3,
  progress_at = CASE WHEN ?4 THEN ?3 ELSE progress_at END,
  cpu_percent = CASE WHEN ?5 THEN ?6 ELSE cpu_percent END,
  rss_bytes = CASE WHEN ?5 THEN ?7 ELSE rss_bytes END,
  abandoned_handlers = CASE WHEN ?5 THEN ?8 ELSE abandoned_handlers END
WHERE ns = ?1 AND id = ?2 AND state = 'active'
