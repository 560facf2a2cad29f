-- When a namespace last recorded a transition: the time of its newest event (the last entry of its
-- events_ns index range). No row when the namespace has no events. Read inside every write
-- transaction, so the namespace's clock never goes back (core/clock.ts storeTime).
-- ?1 ns
SELECT at FROM events WHERE ns = ?1 ORDER BY id DESC LIMIT 1
