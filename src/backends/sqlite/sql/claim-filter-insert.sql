-- Remember a claim filter an agent of the namespace claims with (migration 000008).
-- ?1 ns, ?2 claim filter (JSON)
INSERT OR IGNORE INTO claim_filters (ns, filter) VALUES (?1, ?2)
