-- get-task: a task as stored, unless it belongs to a submission still being staged.
--
-- KEYS[1]  task     hash of the task (t:<id>)
-- KEYS[2]  pending  zset staged submission -> stage time
-- Returns  the task hash as a flat list, or an empty list

local h = redis.call('HGETALL', KEYS[1])
for i = 1, #h, 2 do
  if h[i] == 'sub' then
    if redis.call('ZSCORE', KEYS[2], h[i + 1]) then return {} end
    break
  end
end
return h
