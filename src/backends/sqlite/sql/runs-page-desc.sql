-- A page of a namespace's runs newest first: the runs_ns index read backwards, so the most recent
-- runs cost one short range however many runs there are.
-- ?1 ns, ?2 before seq (cursor; past the largest seq for the first page), ?3 limit
SELECT * FROM runs WHERE ns = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3
