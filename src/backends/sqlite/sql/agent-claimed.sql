-- What routing remembers of an agent's claim that took tasks: its decayed count of recently
-- claimed tasks and when it last claimed one (migration 000003). (Not the filter: a claim that
-- changes it writes agent-claim-filter.sql; writing an indexed column on every claim would cost
-- each claim an index update.)
-- ?1 ns, ?2 agent id, ?3 recent claims, ?4 last claim time (or NULL)
UPDATE agents SET recent_claims = ?3, last_claim_at = ?4
WHERE ns = ?1 AND id = ?2
