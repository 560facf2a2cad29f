-- 000005_abandoned_handlers: how many of an agent's handlers its worker abandoned (they ignored
-- their abort past the grace period; their slots were freed) and are still running, from the
-- agent's latest process report (AgentReport.abandonedHandlers). While it is above 0 the agent's
-- health is `degraded`.
--
-- Append-only, like every migration: change the schema in a new file.
ALTER TABLE agents ADD COLUMN abandoned_handlers INTEGER NOT NULL DEFAULT 0;
