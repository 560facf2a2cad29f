-- release-reservation: give a reservation back, its call never having happened
-- (Backend.releaseReservation).
--
-- KEYS[1]  budgets  hash run or task id -> limit (nano-dollars)
-- KEYS[2]  held     hash id -> amount reservations hold
-- KEYS[3]  rsv      hash reservation id -> '<task> <token> <run> <amount>'
-- KEYS[4]  rsvz     zset reservation id -> when it was taken
-- ARGV[1]  reservation id
-- ARGV[2]  the task it must be of ('' for any)
-- Returns  1 when it was held, 0 when it was settled, released, never made or another task's

--@include ledger

local task = nil
if ARGV[2] ~= '' then task = ARGV[2] end
if let_go(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], task) then return 1 end
return 0
