-- record-model-choice: record the model `model: auto` chose for the attempt (task, token) the
-- agent holds or held, and why (Backend.recordModelChoice): field m:<token> of the task's hash
-- (codec.ts toAttempts reads it), and a task.model_selected event. Recorded whether or not the
-- lease is still held, like usage: it says what the attempt ran on.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     task id, ARGV[4] token, ARGV[5] agent id that held the attempt
-- ARGV[6]     the choice, a JSON object {"model","tier","complexity","reason"}
-- Returns     { 'ok', attempt, run id ('' for none) } or { 'not_found' } or { 'not_held' }

--@include common
--@include ledger

local id, token, agent = ARGV[3], ARGV[4], ARGV[5]
local ck = tkey(id)
local attempt, run = attempt_held(ck, token, agent)
if not attempt then return { run } end

local choice = ARGV[6]
redis.call('HSET', ck, 'm:' .. token, choice)
emit('task.model_selected', id, run, agent, '{"attempt":' .. attempt .. ',' .. string.sub(choice, 2))
finish()
return { 'ok', tostring(attempt), run }
