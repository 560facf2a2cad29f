-- An attempt of the task failed on, timed out on, or was lost with its agent: add the agent to
-- failed_agents, once (routing sends the retry elsewhere first).
-- ?1 seq, ?2 agent id
UPDATE tasks SET failed_agents = json_insert(coalesce(failed_agents, '[]'), '$[#]', ?2)
WHERE seq = ?1
  AND NOT EXISTS (SELECT 1 FROM json_each(coalesce(tasks.failed_agents, '[]')) WHERE value = ?2)
