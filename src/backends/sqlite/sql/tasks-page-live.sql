-- A page of a namespace's tasks in one non-terminal state, in submission order, with optional
-- filters (NULL: any). A partial index serves each state, but only when the state is written
-- out, so each state has its branch; the branches whose state is not ?3 read nothing.
-- ?1 ns, ?2 after seq (cursor), ?3 state (blocked | delayed | ready | running), ?4 type,
-- ?5 agent id, ?6 limit
SELECT * FROM (
  SELECT * FROM tasks WHERE ?3 = 'blocked' AND ns = ?1 AND state = 'blocked' AND seq > ?2
  UNION ALL
  SELECT * FROM tasks WHERE ?3 = 'delayed' AND ns = ?1 AND state = 'delayed' AND seq > ?2
  UNION ALL
  SELECT * FROM tasks WHERE ?3 = 'ready' AND ns = ?1 AND state = 'ready' AND seq > ?2
  UNION ALL
  SELECT * FROM tasks WHERE ?3 = 'running' AND ns = ?1 AND state = 'running' AND seq > ?2
)
WHERE (?4 IS NULL OR type = ?4) AND (?5 IS NULL OR agent_id = ?5)
ORDER BY seq
LIMIT ?6
