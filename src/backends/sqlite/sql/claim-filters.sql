-- The claim filters of a namespace's agents (migration 000008).
-- ?1 ns
SELECT filter FROM claim_filters WHERE ns = ?1
