-- 000006_agent_owner: who may act for an agent through the HTTP API (AgentSpec.owner).
--
-- Append-only, like every migration: change the schema in a new file.
--
-- An opaque fingerprint of the API token that registered the agent (never the token), NULL for
-- an agent registered without one (the SDK, a server without tokens). Fixed once the agent
-- exists: registering the id again with another owner changes nothing (agent-upsert.sql).
ALTER TABLE agents ADD COLUMN owner TEXT;
