-- A page of a namespace's tasks in submission order, with optional filters (NULL: any).
-- ?1 ns, ?2 after seq (cursor), ?3 state, ?4 type, ?5 agent id, ?6 limit
SELECT * FROM tasks
WHERE ns = ?1 AND seq > ?2
  AND (?3 IS NULL OR state = ?3)
  AND (?4 IS NULL OR type = ?4)
  AND (?5 IS NULL OR agent_id = ?5)
ORDER BY seq
LIMIT ?6
