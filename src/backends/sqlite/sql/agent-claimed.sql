-- What routing remembers of an agent's claim: its filter, its decayed count of recently claimed
-- tasks and when it last claimed one (migration 000003), and its load now (migration 000008;
-- NULL keeps the last one, for a claim made with routing off).
-- ?1 ns, ?2 agent id, ?3 claim filter (JSON), ?4 recent claims, ?5 last claim time (or NULL),
-- ?6 load (or NULL)
UPDATE agents SET claim_filter = ?3, recent_claims = ?4, last_claim_at = ?5,
  claim_load = coalesce(?6, claim_load)
WHERE ns = ?1 AND id = ?2
