-- A namespace's task counts per state (no row before its first task).
-- ?1 ns
SELECT * FROM namespaces WHERE ns = ?1
