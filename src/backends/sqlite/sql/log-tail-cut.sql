-- Delete the lines cut from one claim's tail: those with seq in (?3, ?4].
-- ?1 task seq, ?2 token, ?3 the seq its tail lines were above, ?4 the last seq cut
DELETE FROM task_logs WHERE task_seq = ?1 AND seq > ?3 AND seq <= ?4 AND token = ?2
