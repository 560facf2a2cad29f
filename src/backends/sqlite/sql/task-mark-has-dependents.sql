-- Note that some task now depends on this one (dynamic graphs add dependents later).
-- ?1 seq
UPDATE tasks SET has_dependents = 1 WHERE seq = ?1 AND has_dependents = 0
