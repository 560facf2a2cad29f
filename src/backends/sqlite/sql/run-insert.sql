-- Store a run.
-- ?1 id, ?2 ns, ?3 name, ?4 now
INSERT INTO runs (id, ns, name, state, created_at) VALUES (?1, ?2, ?3, 'running', ?4)
