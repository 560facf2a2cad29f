-- Register a requires set (a sorted capability list as JSON) if it is new.
-- ?1 requires (JSON)
-- Returns: its id.
INSERT INTO requires_sets (requires) VALUES (?1)
ON CONFLICT (requires) DO UPDATE SET requires = excluded.requires
RETURNING id
