-- One dependency edge.
-- ?1 dependency seq, ?2 dependent seq, ?3 soft (0 | 1)
INSERT OR IGNORE INTO deps (dep_seq, task_seq, soft) VALUES (?1, ?2, ?3)
