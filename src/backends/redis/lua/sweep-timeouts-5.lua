-- sweep-timeouts: end attempts that ran past their timeout (listed by sweep), as timed_out:
-- retried after the given backoff delay while attempts are left, else failed. The agent that
-- held each should have aborted and reported it: it owes progress from now on (field `ovd` of
-- its hash, kept when an earlier one is still unreported; see sweep-11.lua).
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     number of items, then per item: task id, token, retry delay in ms
-- Returns     the number of attempts timed out (an item whose lease changed meanwhile is skipped)

--@include common
--@include graph
--@include lease

local n, done = tonumber(ARGV[3]), 0
for i = 1, n do
  local base = 3 + (i - 1) * 3
  local id, token, delay = ARGV[base + 1], tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local t = lease_of(id)
  if t and t.state == 'running' and t.tok == token and t.dl and t.dl < NOW then
    end_attempt(t, 'timed_out', '{"message":"attempt timed out after ' .. t.tmo ..
      ' ms","code":"BATON_TIMEOUT","name":"TimeoutError","retryable":true}', true, delay)
    if t.agent ~= '' then
      local ak = P .. 'a:' .. t.agent
      local a = redis.call('HMGET', ak, 'state', 'ovd', 'prog', 'started')
      local ovd = tonumber(a[2])
      if a[1] == 'active' and (not ovd or ovd <= (tonumber(a[3]) or tonumber(a[4]) or 0)) then
        redis.call('HSET', ak, 'ovd', NOWS)
      end
    end
    done = done + 1
  end
end
finish()
return done
