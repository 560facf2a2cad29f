-- The skipped tasks that depend hard on one task: the ones a retry of it may revive.
-- ?1 dependency seq
SELECT t.seq, t.id, t.run_id, t.depends_on, t.dep_ids, t.has_dependents
FROM deps d JOIN tasks t ON t.seq = d.task_seq
WHERE d.dep_seq = ?1 AND d.soft = 0 AND t.state = 'skipped'
