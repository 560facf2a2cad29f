-- Append events to the stream, in order. The backend repeats the row of placeholders to insert
-- up to 64 events per statement (anonymous `?` placeholders bind in order).
-- ? ns, ? type, ? at, ? task id, ? run id, ? agent id, ? data (JSON) — per event
INSERT INTO events (ns, type, at, task_id, run_id, agent_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)
