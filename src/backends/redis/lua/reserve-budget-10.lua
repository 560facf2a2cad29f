-- reserve-budget: hold a model call's worst case against the budgets of its lease's run and task,
-- atomically (Backend.reserveBudget): held only when, for each of them that has a budget,
-- spent + held + amount <= limit. Concurrent calls therefore cannot overshoot a budget.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     budgets  hash run or task id -> limit (nano-dollars)
-- KEYS[7]     spent    hash id -> recorded cost
-- KEYS[8]     held     hash id -> amount reservations hold
-- KEYS[9]     rsv      hash reservation id -> '<task> <token> <run> <amount>'
-- KEYS[10]    rsvz     zset reservation id -> when it was taken
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     task id, ARGV[4] token, ARGV[5] holder agent id
-- ARGV[6]     amount (nano-dollars)
-- ARGV[7]     the new reservation's id
-- Returns     { 'ok' }; { 'exceeded', 'run' or 'task', id, limit, spent, held, amount }; or a
--             refusal of a lease the agent does not hold (includes/lease.lua)

local K_BUDGETS, K_SPENT, K_HELD, K_RSV, K_RSVZ = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]

--@include common
--@include lease
--@include ledger

local id, token, holder, nano, rid = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local t = lease_of(id)
local refused = refusal(t, holder, tonumber(token))
if refused then return refused end

local scopes = { { 'run', t.run }, { 'task', id } }
for _, scope in ipairs(scopes) do
  local sid = scope[2]
  if sid ~= '' then
    local limit = tonumber(redis.call('HGET', K_BUDGETS, sid))
    if limit then
      local spent = tonumber(redis.call('HGET', K_SPENT, sid) or '0')
      local held = tonumber(redis.call('HGET', K_HELD, sid) or '0')
      if spent + held + nano > limit then
        return { 'exceeded', scope[1], sid, int_str(limit), int_str(spent), int_str(held), int_str(nano) }
      end
    end
  end
end
redis.call('HSET', K_RSV, rid, id .. ' ' .. token .. ' ' .. t.run .. ' ' .. int_str(nano))
redis.call('ZADD', K_RSVZ, NOWS, rid)
hold(K_BUDGETS, K_HELD, t.run, id, nano)
return { 'ok' }
