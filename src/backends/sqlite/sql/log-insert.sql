-- Store log lines, each with the seq the append gave it. The backend repeats the row of
-- placeholders to insert up to 64 lines per statement (anonymous `?` placeholders bind in order).
-- ? seq, ? ns, ? task seq, ? token, ? attempt, ? agent id, ? stream, ? level, ? at, ? bytes,
-- ? text — per line
INSERT INTO task_logs (seq, ns, task_seq, token, attempt, agent_id, stream, level, at, bytes, text)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
