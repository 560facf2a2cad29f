-- 000013_expertise_versions: every version of a domain's expertise file (issue 14 §4), written
-- when the learn step or the MCP add_learning tool merges into the file, or a rollback restores
-- one. `version` is 1, 2, … per domain; `origin` is the task and attempt (`tsk_…#1`) that
-- learned it, or for a rollback the version restored (`v3`).
--
-- Append-only, like every migration: change the schema in a new file.
CREATE TABLE expertise_versions (
  ns TEXT NOT NULL,
  domain TEXT NOT NULL,
  version INTEGER NOT NULL,
  text TEXT NOT NULL,
  source TEXT NOT NULL,
  origin TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (ns, domain, version)
) WITHOUT ROWID;
