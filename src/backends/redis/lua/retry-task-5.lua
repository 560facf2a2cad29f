-- retry-task: retry (replay) a failed task (Backend.retryTask in backend.ts): ready again with a
-- fresh attempt budget (its new attempts numbered on from the failed ones), its run reopened,
-- its blocked soft dependents waiting for it again, and the dependents its failure skipped
-- revived, and so on downstream (includes/replay.lua). A task that is not failed is left as it is.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     task id
-- ARGV[4]     reason as JSON: a string, or null
-- Returns     { 'not_found' }, { 'not_failed', state }, or { 'ok', task hash as a flat list,
--             after the retry }

--@include common
--@include replay

local id = ARGV[3]
local f = redis.call('HMGET', tkey(id), 'state', 'run', 'att', 'q', 'qs', 'qm', 'hasDn', 'spec')
if not f[1] then return { 'not_found' } end
if f[1] ~= 'failed' then return { 'not_failed', f[1] } end
replay(id, f, ARGV[4])
finish()
return { 'ok', redis.call('HGETALL', tkey(id)) }
