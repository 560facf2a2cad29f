-- 000011_model_choice: model selection for `model: auto` (docs/llm.md#model-selection).
--
-- Append-only, like every migration: change the schema in a new file.

-- The model an attempt was given by model selection, and why: JSON
-- {"model","tier","complexity","reason"} (core/types.ts AttemptModel). NULL: no choice made.
ALTER TABLE attempts ADD COLUMN model TEXT;

-- Model selection's history: how the model calls of a task type and complexity ended on each
-- model (a success, or an answer that failed its output schema), counted as they end.
CREATE TABLE model_outcomes (
  ns TEXT NOT NULL,
  task_type TEXT NOT NULL,
  complexity TEXT NOT NULL,
  model TEXT NOT NULL,
  runs INTEGER NOT NULL DEFAULT 0,
  succeeded INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (ns, task_type, complexity, model)
) WITHOUT ROWID;
