-- A retried task's soft dependents that are still blocked wait for it again: its failure
-- released them, and the retry's outcome will release them once more.
-- ?1 the retried task's seq, ?2 now
UPDATE tasks SET pending_deps = pending_deps + 1, updated_at = ?2
WHERE seq IN (SELECT task_seq FROM deps WHERE dep_seq = ?1 AND soft = 1) AND state = 'blocked'
