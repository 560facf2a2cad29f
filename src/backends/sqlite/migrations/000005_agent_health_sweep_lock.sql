-- 000005_agent_health_sweep_lock: abandoned handlers in an agent's health, and one sweeper per
-- interval.
--
-- Append-only, like every migration: change the schema in a new file.
--
-- How many of an agent's handlers its worker abandoned (they ignored their abort past the grace
-- period; their slots were freed) and are still running, from the agent's latest process report
-- (AgentReport.abandonedHandlers). While it is above 0 the agent's health is `degraded`.
ALTER TABLE agents ADD COLUMN abandoned_handlers INTEGER NOT NULL DEFAULT 0;

-- The process that sweeps a namespace, until when (ms of the backend's clock). Several processes
-- share one file and each hosts a sweeper; the others skip their sweep, with a read and no write
-- transaction, while the holder's lock lasts, so the housekeeping does not compete with
-- heartbeats and claims for the write lock several times per interval.
CREATE TABLE sweep_locks (
  ns         TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
