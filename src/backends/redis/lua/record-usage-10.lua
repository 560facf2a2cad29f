-- record-usage: record one model call against the attempt (task, token) the agent held, whether
-- or not it still holds it (Backend.recordUsage): fencing guards a task's outcome, not the
-- ledger. In the same step: the call's cost is added to its attempt's (field c:<token>, for the
-- attempt's task.succeeded / task.failed event), to what the budgets of its run and task spent,
-- and to the totals; its reservation, when named, is settled; a usage.recorded event is written.
--
-- KEYS[1..5]  prefix, events, counts, delayed, running (includes/common.lua)
-- KEYS[6]     budgets, KEYS[7] spent, KEYS[8] held, KEYS[9] rsv, KEYS[10] rsvz (includes/ledger.lua)
-- ARGV[1..2]  now, events maxlen
-- ARGV[3]     task id, ARGV[4] token, ARGV[5] agent id that held the attempt
-- ARGV[6]     provider, ARGV[7] model
-- ARGV[8..12] input, output, cache-read, cache-write, reasoning tokens
-- ARGV[13]    cost (nano-dollars), ARGV[14] cost basis
-- ARGV[15]    reservation to settle ('' for none)
-- Returns     { 'ok', attempt, run id, epic JSON ('null' or a string), at } or { 'not_found' } or
--             { 'not_held' } (the agent held no attempt of the task with that token)
--
-- Keys derived from the prefix: t:<task> (the task), u:<task> (list of its records, JSON),
-- ct:<scope> (hash of totals: calls, in, out, cr, cw, rs, cost) and cg:<scope>:<group> (hash
-- '<metric>|<key>' -> total) for the scopes '*' (the namespace) and the run; the groups are
-- run, epic, task, agent and model ('' keys: no run, no epic).

local K_BUDGETS, K_SPENT, K_HELD, K_RSV, K_RSVZ = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]

--@include common
--@include ledger

local id, token, agent = ARGV[3], ARGV[4], ARGV[5]
local ck = tkey(id)
local attempt, run = attempt_held(ck, token, agent)
if not attempt then return { run } end

-- The epic, from the task's spec (codec.ts TaskSpecJson): the last ',"epic":' is the field's,
-- since a raw quote never occurs inside a JSON string and the fields after it hold no object of
-- the caller's; its value (null or a JSON string) runs to ',"requires":', the next field.
local spec = redis.call('HGET', ck, 'spec') or ''
local at, epic_json = nil, 'null'
local from = 1
while true do
  local s = string.find(spec, ',"epic":', from, true)
  if not s then break end
  at = s
  from = s + 1
end
if at then
  local stop = string.find(spec, ',"requires":', at, true)
  if stop then epic_json = string.sub(spec, at + 8, stop - 1) end
end
local epic = ''
if epic_json ~= 'null' then epic = cjson.decode(epic_json) end

local provider, model = ARGV[6], ARGV[7]
local counts = { tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]) }
local nano = tonumber(ARGV[13])
local cost = ARGV[13]

local record = '{"taskId":"' .. id .. '","attempt":' .. attempt .. ',"runId":' .. (run == '' and 'null' or jstr(run)) ..
  ',"epic":' .. epic_json .. ',"agentId":' .. jstr(agent) .. ',"provider":' .. jstr(provider) .. ',"model":' ..
  jstr(model) .. ',"inputTokens":' .. ARGV[8] .. ',"outputTokens":' .. ARGV[9] .. ',"cacheReadTokens":' .. ARGV[10] ..
  ',"cacheWriteTokens":' .. ARGV[11] .. ',"reasoningTokens":' .. ARGV[12] .. ',"costNano":' .. cost ..
  ',"costBasis":"' .. ARGV[14] .. '","at":' .. NOWS .. '}'
redis.call('RPUSH', P .. 'u:' .. id, record)
redis.call('HINCRBY', ck, 'c:' .. token, cost)

-- What the budgets of the run and the task spent (those that have one).
if run ~= '' and redis.call('HEXISTS', K_BUDGETS, run) == 1 then redis.call('HINCRBY', K_SPENT, run, cost) end
if redis.call('HEXISTS', K_BUDGETS, id) == 1 then redis.call('HINCRBY', K_SPENT, id, cost) end

-- Totals: of the namespace and of the run, and by group.
local METRICS = { 'in', 'out', 'cr', 'cw', 'rs' }
local function add_totals(key)
  redis.call('HINCRBY', key, 'calls', '1')
  for i = 1, 5 do redis.call('HINCRBY', key, METRICS[i], ARGV[7 + i]) end
  redis.call('HINCRBY', key, 'cost', cost)
end
local function add_group(key, member)
  redis.call('HINCRBY', key, 'calls|' .. member, '1')
  for i = 1, 5 do redis.call('HINCRBY', key, METRICS[i] .. '|' .. member, ARGV[7 + i]) end
  redis.call('HINCRBY', key, 'cost|' .. member, cost)
end
local groups = { run = run, epic = epic, task = id, agent = agent, model = provider .. ':' .. model }
add_totals(P .. 'ct:*')
for group, member in pairs(groups) do add_group(P .. 'cg:*:' .. group, member) end
if run ~= '' then
  add_totals(P .. 'ct:' .. run)
  for group, member in pairs(groups) do
    if group ~= 'run' then add_group(P .. 'cg:' .. run .. ':' .. group, member) end
  end
end

if ARGV[15] ~= '' then let_go(K_BUDGETS, K_HELD, K_RSV, K_RSVZ, ARGV[15], id) end

emit('usage.recorded', id, run, agent, '{"attempt":' .. attempt .. ',"provider":' .. jstr(provider) .. ',"model":' ..
  jstr(model) .. ',"inputTokens":' .. ARGV[8] .. ',"outputTokens":' .. ARGV[9] .. ',"cacheReadTokens":' ..
  ARGV[10] .. ',"cacheWriteTokens":' .. ARGV[11] .. ',"reasoningTokens":' .. ARGV[12] .. ',"costUsd":' ..
  usd_text(nano) .. ',"costBasis":"' .. ARGV[14] .. '"}')
finish()
return { 'ok', tostring(attempt), run, epic_json, NOWS }
