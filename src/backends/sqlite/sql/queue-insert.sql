-- Register a ready queue (a task type and a sorted capability list as JSON) if it is new.
-- ?1 type, ?2 requires (JSON)
-- Returns: its id.
INSERT INTO queues (type, requires) VALUES (?1, ?2)
ON CONFLICT (type, requires) DO UPDATE SET requires = excluded.requires
RETURNING id
