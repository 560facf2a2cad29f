-- Record the model selection chose for an attempt (JSON, core/types.ts AttemptModel).
-- ?1 task seq, ?2 token, ?3 the choice as JSON
UPDATE attempts SET model = ?3 WHERE task_seq = ?1 AND token = ?2
