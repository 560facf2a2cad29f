/**
 * Request schemas of the HTTP API (zod v4). Objects are strict: an unknown field is refused
 * with a 400 that names it. They check the shape only; the core validator every backend runs
 * (`normalizeTasks`, `normalizeRun`) checks the rest (keys, limits, cycles), so the API refuses
 * exactly what the SDK refuses.
 */
import { z } from 'zod';

import { EVENT_TYPES, MAX_LATEST_EVENTS, MAX_RELEASE_DELAY_MS } from '../backends/backend.ts';
import { AGENT_LIMITS } from '../backends/inputs.ts';
import { goalProblem } from '../core/goal.ts';
import { COST_BASES, COST_GROUPS, MAX_TOKENS, MAX_USD } from '../core/ledger.ts';
import { LOG_LEVELS, LOG_STREAMS } from '../core/logs.ts';
import { TASK_STATES, type EventType } from '../core/types.ts';
import { LIMITS } from '../core/validate.ts';

const json = z.json();

export const RetryPolicySchema = z.strictObject({
  baseMs: z.number().optional(),
  maxMs: z.number().optional(),
  factor: z.number().optional(),
  jitter: z.enum(['full', 'equal', 'none']).optional(),
});

/** A spending limit in USD (docs/costs.md); the core validator checks its range. */
const BudgetSchema = z.strictObject({ usd: z.number() });

export const TaskSpecSchema = z.strictObject({
  type: z.string(),
  payload: json.optional(),
  key: z.string().optional(),
  title: z.string().optional(),
  epic: z.string().optional(),
  requires: z.array(z.string()).optional(),
  priority: z.union([z.number(), z.enum(['critical', 'high', 'medium', 'low'])]).optional(),
  maxAttempts: z.number().optional(),
  timeoutMs: z.number().optional(),
  backoff: RetryPolicySchema.optional(),
  idempotencyKey: z.string().optional(),
  runAfter: z.number().optional(),
  dependsOn: z
    .array(z.union([z.string(), z.strictObject({ key: z.string(), soft: z.boolean().optional() })]))
    .optional(),
  affinity: z
    .array(z.strictObject({ label: z.string(), value: z.string(), weight: z.number().optional() }))
    .optional(),
  budget: BudgetSchema.optional(),
  aggregate: z.boolean().optional(),
});

export const RunSpecSchema = z.strictObject({
  name: z.string().optional(),
  tasks: z.array(TaskSpecSchema),
  budget: BudgetSchema.optional(),
});

/**
 * The body of `POST /v1/goals` (seed 003's `POST /tasks`): a goal in plain words, planned by a
 * `plan` task into the run's tasks (docs/planner.md). The description is checked here, so its
 * error names `description`; the budget's range by the core validator, as every run's.
 */
export const GoalBodySchema = z.strictObject({
  description: z.string().superRefine((value, ctx) => {
    const problem = goalProblem(value);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, input: value });
  }),
  budget: BudgetSchema.optional(),
  agents: z.array(z.string().min(1).max(LIMITS.maxKeyLength)).min(1).max(100).optional(),
});

export const CancelBodySchema = z.strictObject({ reason: z.string().optional() });

/** The body of `POST /v1/tasks/:id/retry`: why the failed task is retried, for its event. */
export const RetryBodySchema = z.strictObject({ reason: z.string().optional() });

/** A positive integer given as a query-string value. */
const limitParam = z
  .string()
  .regex(/^[1-9][0-9]{0,3}$/, 'must be an integer from 1 to 1000')
  .transform(Number)
  .refine((n) => n <= 1000, 'must be an integer from 1 to 1000');

export const TaskListQuerySchema = z.strictObject({
  state: z.enum(TASK_STATES as [string, ...string[]]).optional(),
  run: z.string().optional(),
  type: z.string().optional(),
  agent: z.string().optional(),
  limit: limitParam.optional(),
  cursor: z.string().optional(),
});

export const RunListQuerySchema = z.strictObject({
  order: z.enum(['asc', 'desc']).optional(),
  limit: limitParam.optional(),
  cursor: z.string().optional(),
});

/** `GET /v1/agents/available`: agents able to take a task needing these capabilities now. */
export const AvailableAgentsQuerySchema = z.strictObject({
  /** Comma-separated capabilities the agent must all have, e.g. `gpu,python`; absent: any. */
  capability: z.string().min(1).optional(),
});

export const IdParamsSchema = z.strictObject({ id: z.string().min(1) });

/** `GET /v1/costs`: totals of a run's model calls (or the namespace's), by a group when asked. */
export const CostsQuerySchema = z.strictObject({
  /** A run id; absent: the whole namespace. */
  run: z.string().min(1).optional(),
  /** Totals by run, epic, task, agent or model besides the grand total. */
  by: z.enum(COST_GROUPS).optional(),
});

export const EventsQuerySchema = z.strictObject({
  /** An event id to resume after, `now` (the default) or `start` (the whole history). */
  since: z.string().optional(),
  run: z.string().optional(),
  task: z.string().optional(),
  agent: z.string().optional(),
});

export { EVENT_TYPES };

/** Most events `GET /v1/events/recent` returns. */
export const MAX_RECENT_EVENTS = MAX_LATEST_EVENTS;

/** `GET /v1/events/recent`: the newest events of the given types, newest first. */
export const RecentEventsQuerySchema = z.strictObject({
  /** Comma-separated event types, e.g. `pool.scaled_up,pool.scaled_down`. */
  type: z.string().transform((value, ctx) => {
    const types = value.split(',').map((t) => t.trim());
    const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown event type ${unknown.map((t) => JSON.stringify(t)).join(', ')}: use a comma-separated list of ${EVENT_TYPES.join(', ')}`,
      });
      return z.NEVER;
    }
    return types as EventType[];
  }),
  /** How many events, 1–200. @default 50 */
  limit: z
    .string()
    .regex(/^\d{1,3}$/, `must be a whole number from 1 to ${MAX_RECENT_EVENTS}`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_RECENT_EVENTS, `must be from 1 to ${MAX_RECENT_EVENTS}`)
    .optional(),
});

/** A log cursor given as a query-string value: the `seq` of the last line read. */
const seqParam = z
  .string()
  .regex(/^\d{1,15}$/, "must be a whole number: the seq of the last line read (a page's cursor)")
  .transform(Number);

/** An attempt number given as a query-string value. */
const attemptParam = z
  .string()
  .regex(/^[1-9]\d{0,8}$/, 'must be an attempt number, from 1')
  .transform(Number);

/** A time given as a query-string value: epoch ms, or an ISO 8601 date (`2025-01-31T12:00:00Z`). */
const timeParam = z.string().transform((value, ctx) => {
  const ms = /^\d{1,15}$/.test(value)
    ? Number(value)
    : /^\d{4}-\d{2}-\d{2}/.test(value)
      ? Date.parse(value)
      : Number.NaN;
  if (Number.isNaN(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be a time: epoch ms, or an ISO 8601 date such as 2025-01-31T12:00:00Z',
    });
    return z.NEVER;
  }
  return ms;
});

const logStream = z.enum(LOG_STREAMS);

/** `GET /v1/tasks/:id/logs`: a page of a task's log. */
export const TaskLogsQuerySchema = z.strictObject({
  /** Only this attempt's lines. */
  attempt: attemptParam.optional(),
  /** Lines after this seq (the `cursor` of the previous page). */
  after: seqParam.optional(),
  limit: limitParam.optional(),
  stream: logStream.optional(),
});

/** `GET /v1/tasks/:id/logs/stream`: a task's log as Server-Sent Events, live. */
export const TaskLogStreamQuerySchema = z.strictObject({
  attempt: attemptParam.optional(),
  /** Lines after this seq; the `Last-Event-ID` header wins. */
  after: seqParam.optional(),
  stream: logStream.optional(),
});

/** `GET /v1/logs`: log lines across tasks, by agent, level and time (agent logs). */
export const AgentLogsQuerySchema = z.strictObject({
  agent: z.string().min(1).optional(),
  /** The least severe level shown. */
  level: z.enum(LOG_LEVELS).optional(),
  /** Lines stored at or after this time. */
  since: timeParam.optional(),
  /** Lines stored before this time. */
  until: timeParam.optional(),
  after: seqParam.optional(),
  limit: limitParam.optional(),
});

// ---------------------------------------------------------------------------------------------
// Response schemas: what the routes answer. The OpenAPI document is generated from these and the
// request schemas above, and the contract tests check real responses against it.

const TASK_STATE = z.enum(TASK_STATES as [string, ...string[]]);
const nullableNumber = z.number().nullable();

export const JsonSchema = json;

export const TaskErrorSchema = z.strictObject({
  message: z.string(),
  code: z.string().optional(),
  name: z.string().optional(),
  retryable: z.boolean().optional(),
  stack: z.string().optional(),
});

export const TaskRecordSchema = z.strictObject({
  id: z.string(),
  runId: z.string().nullable(),
  type: z.string(),
  payload: json,
  key: z.string().nullable(),
  title: z.string().nullable(),
  epic: z.string().nullable(),
  requires: z.array(z.string()),
  priority: z.number(),
  maxAttempts: z.number(),
  timeoutMs: nullableNumber,
  backoff: z.strictObject({
    baseMs: z.number(),
    maxMs: z.number(),
    factor: z.number(),
    jitter: z.enum(['full', 'equal', 'none']),
  }),
  idempotencyKey: z.string().nullable(),
  runAfter: nullableNumber,
  dependsOn: z.array(z.strictObject({ key: z.string(), soft: z.boolean() })),
  affinity: z.array(z.strictObject({ label: z.string(), value: z.string(), weight: z.number() })),
  criticalPath: z.number(),
  state: TASK_STATE,
  attempts: z.number(),
  agentId: z.string().nullable(),
  leaseExpiresAt: nullableNumber,
  result: json.nullable(),
  error: TaskErrorSchema.nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
  startedAt: nullableNumber,
  finishedAt: nullableNumber,
  failedAgents: z.array(z.string()),
  /** Whether its result is the run's result (docs/planner.md). */
  aggregate: z.boolean().optional(),
});

export const AttemptRecordSchema = z.strictObject({
  taskId: z.string(),
  attempt: z.number(),
  agentId: z.string(),
  startedAt: z.number(),
  finishedAt: nullableNumber,
  outcome: z.enum([
    'running',
    'succeeded',
    'failed',
    'timed_out',
    'lease_expired',
    'agent_lost',
    'released',
    'cancelled',
  ]),
  error: TaskErrorSchema.nullable(),
  runMs: nullableNumber,
  /** The model `model: auto` chose for the attempt, and why (docs/llm.md#model-selection). */
  model: z
    .strictObject({
      model: z.string(),
      tier: z.enum(['fast', 'balanced', 'strong']),
      complexity: z.enum(['low', 'medium', 'high']),
      reason: z.string(),
    })
    .nullable(),
});

const byState = z.record(TASK_STATE, z.number());

export const RunRecordSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  state: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
  createdAt: z.number(),
  finishedAt: nullableNumber,
  progress: z.strictObject({ total: z.number(), byState, done: z.number() }),
});

export const AgentRecordSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  capabilities: z.array(z.string()),
  labels: z.record(z.string(), z.string()),
  concurrency: z.number(),
  host: z.string().nullable(),
  pid: nullableNumber,
  version: z.string().nullable(),
  state: z.enum(['active', 'lost', 'stopped']),
  startedAt: z.number(),
  lastHeartbeatAt: z.number(),
  inFlight: z.array(z.string()),
  health: z.enum(['ok', 'stalled', 'degraded', 'lost', 'stopped']),
  stalledAt: nullableNumber,
  stats: z.record(
    z.string(),
    z.strictObject({ succeeded: z.number(), failed: z.number(), meanRunMs: nullableNumber }),
  ),
  process: z.strictObject({
    cpuPercent: nullableNumber,
    rssBytes: nullableNumber,
    abandonedHandlers: z.number(),
  }),
});

export const SubmittedTaskSchema = z.strictObject({
  id: z.string(),
  key: z.string().nullable(),
  existing: z.boolean(),
  state: TASK_STATE,
});

export const SubmittedRunSchema = z.strictObject({
  runId: z.string(),
  tasks: z.array(SubmittedTaskSchema),
});

export const TaskPageSchema = z.strictObject({
  tasks: z.array(TaskRecordSchema),
  nextCursor: z.string().nullable(),
});

/** A run's budget in `GET /v1/runs`: its limit, what calls spent and what calls in flight hold. */
export const RunBudgetSchema = z.strictObject({
  limitUsd: z.number(),
  spentUsd: z.number(),
  reservedUsd: z.number(),
});

/** A run of `GET /v1/runs`: the run record and its budget (null when it has none). */
export const RunListItemSchema = RunRecordSchema.extend({ budget: RunBudgetSchema.nullable() });

export const RunPageSchema = z.strictObject({
  runs: z.array(RunListItemSchema),
  nextCursor: z.string().nullable(),
});

export const TaskDetailSchema = z.strictObject({
  task: TaskRecordSchema,
  attempts: z.array(AttemptRecordSchema),
});

/** A run's aggregated result (docs/planner.md#the-runs-result). */
export const RunResultSchema = z.strictObject({
  from: z.enum(['aggregate', 'sinks']),
  results: z.record(z.string(), json.nullable()),
});

/** What `POST /v1/goals` answers: the run, and its plan task. */
export const SubmittedGoalSchema = z.strictObject({
  runId: z.string(),
  planTaskId: z.string(),
});

export const RunDetailSchema = z.strictObject({
  run: RunRecordSchema.extend({ result: RunResultSchema.nullable() }),
  tasks: z.array(TaskRecordSchema),
  progress: RunRecordSchema.shape.progress,
  /** Task ids by DAG level (Kahn): level 0 first. */
  levels: z.array(z.array(z.string())),
  /** The longest chain of tasks, by count, as task ids in execution order. */
  criticalPath: z.array(z.string()),
});

export const AgentListSchema = z.strictObject({ agents: z.array(AgentRecordSchema) });

export const StatsSchema = z.strictObject({
  byState,
  readyByRequires: z.array(
    z.strictObject({
      requires: z.array(z.string()),
      count: z.number(),
      byType: z.record(z.string(), z.number()),
    }),
  ),
  agents: z.strictObject({ active: z.number(), lost: z.number(), stopped: z.number() }),
});

const costTotals = {
  calls: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheReadTokens: z.number(),
  cacheWriteTokens: z.number(),
  reasoningTokens: z.number(),
  costUsd: z.number(),
};

/** What `GET /v1/costs` answers (core/ledger.ts CostReport). */
export const CostReportSchema = z.strictObject({
  runId: z.string().nullable(),
  total: z.strictObject(costTotals),
  by: z.enum(COST_GROUPS).nullable(),
  groups: z.array(z.strictObject({ key: z.string().nullable(), ...costTotals })),
  budget: z
    .strictObject({
      limitUsd: z.number(),
      spentUsd: z.number(),
      reservedUsd: z.number(),
      leftUsd: z.number(),
    })
    .nullable(),
});

/** What `GET /v1/auth` answers: whether the server has tokens, and what the request's token may do. */
export const AuthInfoSchema = z.strictObject({
  /** True when the server has no tokens: every request is allowed (loopback only). */
  open: z.boolean(),
  /** The token's scopes; every scope when the server is open. */
  scopes: z.array(z.enum(['read', 'submit', 'work', 'admin'])),
});

export const HealthSchema = z.strictObject({
  status: z.literal('ok'),
  backend: z.strictObject({ name: z.string(), reachable: z.boolean(), latencyMs: z.number() }),
  process: z.strictObject({ pid: z.number(), uptimeS: z.number() }),
});

export const EventSchema = z.strictObject({
  id: z.string(),
  type: z.string(),
  at: z.number(),
  taskId: z.string().nullable(),
  runId: z.string().nullable(),
  agentId: z.string().nullable(),
  data: z.record(z.string(), json),
});

/** `GET /v1/events/recent`: newest first. */
export const RecentEventsSchema = z.strictObject({ events: z.array(EventSchema) });

/** The first message of `GET /v1/ws`: the stream starts after `since` (null: from the start). */
export const WsReadySchema = z.strictObject({
  type: z.literal('ready'),
  since: z.string().nullable(),
});

export const ErrorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
  }),
});

export const TaskCancelledSchema = z.strictObject({ task: TaskRecordSchema });
export const TaskRetriedSchema = z.strictObject({ task: TaskRecordSchema });
export const RunCancelledSchema = z.strictObject({ run: RunRecordSchema });

/** The body of `POST /v1/runs/:id/merge` (docs/worktrees.md). */
export const MergeBodySchema = z.strictObject({
  into: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe("The branch to update; default: the plan's merge.into, else its base branch"),
  confirm: z
    .boolean()
    .optional()
    .describe(
      'Allow a merge commit when the branch cannot be fast-forwarded; without it nothing is changed and the answer is would-merge',
    ),
});

/** What `POST /v1/runs/:id/merge` did, or (`would-merge`) would do. */
export const RunMergedSchema = z.strictObject({
  outcome: z.enum(['fast-forward', 'merged', 'would-merge', 'up-to-date']),
  from: z.string().describe("The run's integration branch"),
  into: z.string().describe('The branch updated, or that would be'),
  sha: z.string().optional().describe("The branch's commit after (absent for would-merge)"),
  message: z.string(),
});

// --- The worker protocol (workers in any language) --------------------------------------------

const reportSchema = z.strictObject({
  cpuPercent: z.number().nullable(),
  rssBytes: z.number().nullable(),
  abandonedHandlers: z.number().int().min(0).optional(),
});

/** An agent's host, version, label name or label value. */
const agentText = z.string().max(AGENT_LIMITS.maxTextLength);

/**
 * The limits are the checking layer's (`AGENT_LIMITS`, `checkAgent`), so the API and the SDK
 * refuse the same agents. No `owner`: the server sets it from the request's token.
 */
export const AgentSpecSchema = z.strictObject({
  id: z.string().min(1).max(LIMITS.maxKeyLength).optional(),
  name: z.string().max(AGENT_LIMITS.maxNameLength).optional(),
  capabilities: z
    .array(z.string().min(1).max(AGENT_LIMITS.maxCapabilityLength))
    .max(AGENT_LIMITS.maxCapabilities),
  concurrency: z.number().int().min(1).max(AGENT_LIMITS.maxConcurrency),
  labels: z
    .record(agentText.min(1), agentText)
    .refine((labels) => Object.keys(labels).length <= AGENT_LIMITS.maxLabels, {
      message: `at most ${AGENT_LIMITS.maxLabels} labels`,
    })
    .meta({ maxProperties: AGENT_LIMITS.maxLabels })
    .optional(),
  host: agentText.optional(),
  pid: z.number().int().min(0).optional(),
  version: agentText.optional(),
});

export const HeartbeatBodySchema = z.strictObject({ report: reportSchema.optional() });

/** Longest long-poll of a claim, in ms. */
export const MAX_CLAIM_WAIT_MS = 30_000;

export const ClaimBodySchema = z.strictObject({
  /** Absent: the capabilities the agent registered with. */
  capabilities: z.array(z.string()).optional(),
  /** Only these task types. Absent: any type. */
  types: z.array(z.string()).min(1).optional(),
  /** At most this many leases. @default 1 */
  max: z.number().int().min(1).max(1000).optional(),
  /** Lease duration. @default 30000 */
  leaseTtlMs: z.number().int().min(1000).max(3_600_000).optional(),
  /** When nothing is ready, wait up to this long for work. @default 0 */
  waitMs: z.number().int().min(0).max(MAX_CLAIM_WAIT_MS).optional(),
});

/** The agent that holds the lease, in the body of every lease call: any other is refused. */
const holderAgentId = z.string().min(1);

export const RenewBodySchema = z.strictObject({
  token: z.number().int(),
  agentId: holderAgentId,
  /** @default 30000 */
  leaseTtlMs: z.number().int().min(1000).max(3_600_000).optional(),
});

/**
 * How long the handler ran, in ms (the attempt's `runMs`: busy time and speed-up come from it).
 * Optional: without it, the attempt's claim-to-outcome time stands in.
 */
const runMs = z.number().min(0).max(Number.MAX_SAFE_INTEGER).optional();

/**
 * Lines of an attempt's log (docs/logs.md) an HTTP agent sends: the text of each, without its
 * newline, and optionally its stream (`log` by default) and level (`info`). Their size is checked
 * like the SDK's (`LOG_LIMITS`).
 */
const logLines = z.array(
  z.strictObject({
    text: z.string(),
    stream: z.enum(LOG_STREAMS).optional(),
    level: z.enum(LOG_LEVELS).optional(),
  }),
);

/** The body of `POST /v1/leases/:taskId/logs`: lines of the attempt the token names. */
export const LogsBodySchema = z.strictObject({
  token: z.number().int(),
  agentId: holderAgentId,
  lines: logLines,
});

export const CompleteBodySchema = z.strictObject({
  token: z.number().int(),
  agentId: holderAgentId,
  result: json.optional(),
  runMs,
  /** The attempt's last lines, stored with its outcome. */
  logs: logLines.optional(),
});

export const FailBodySchema = z.strictObject({
  token: z.number().int(),
  agentId: holderAgentId,
  error: TaskErrorSchema,
  retryable: z.boolean().optional(),
  retryDelayMs: z.number().int().min(0).optional(),
  runMs,
  /** The attempt's last lines, stored with its outcome. */
  logs: logLines.optional(),
});

/**
 * The body of `POST /v1/leases/:taskId/release`: give the lease back without counting its
 * attempt ("not now": the agent is busy, a rate limit), the task claimable again after `delayMs`.
 */
export const ReleaseBodySchema = z.strictObject({
  token: z.number().int(),
  agentId: holderAgentId,
  /** Keep the task `delayed` this long first, in whole ms (at most a year). @default 0 */
  delayMs: z.number().int().min(0).max(MAX_RELEASE_DELAY_MS).optional(),
  /** Why, for the `task.released` event (e.g. `deferred: agent busy`). @default 'released' */
  reason: z.string().optional(),
  /** The attempt's last lines, stored with its outcome. */
  logs: logLines.optional(),
});

export const LeaseSchema = z.strictObject({
  taskId: z.string(),
  token: z.number(),
  attempt: z.number(),
  agentId: z.string(),
  expiresAt: z.number(),
  task: TaskRecordSchema,
  dependencies: z.record(
    z.string(),
    z.strictObject({
      taskId: z.string(),
      key: z.string(),
      state: TASK_STATE,
      soft: z.boolean(),
      result: json.nullable(),
      error: TaskErrorSchema.nullable(),
    }),
  ),
});

export const ClaimResponseSchema = z.strictObject({ leases: z.array(LeaseSchema) });

export const SettledSchema = z.strictObject({
  taskId: z.string(),
  state: TASK_STATE,
  expiresAt: z.number().optional(),
});

export const HeartbeatResponseSchema = z.strictObject({ ok: z.literal(true) });

/** One line of a task's log (docs/logs.md); a `cut` marker has `cut`. */
export const LogLineSchema = z.strictObject({
  seq: z.number(),
  taskId: z.string(),
  attempt: z.number(),
  agentId: z.string(),
  stream: z.enum([...LOG_STREAMS, 'cut']),
  level: z.enum(LOG_LEVELS),
  at: z.number(),
  text: z.string(),
  cut: z.strictObject({ fromLine: z.number(), toLine: z.number(), bytes: z.number() }).optional(),
});

/** A page of log lines: pass `cursor` as `after` to read on; `more` when more are stored. */
export const LogPageSchema = z.strictObject({
  lines: z.array(LogLineSchema),
  cursor: z.number(),
  more: z.boolean(),
});

/** The answer of `POST /v1/leases/:taskId/logs`. */
export const LogsAppendedSchema = z.strictObject({ taskId: z.string(), lines: z.number() });

// The ledger for HTTP agents (docs/costs.md#agents-over-http): an agent that calls models itself
// records each call's usage and holds its worst case against the budgets, as `ctx.costs` does.

/** A token count of one call: a whole number from 0 to MAX_TOKENS. */
const tokenCount = z.number().int().min(0).max(MAX_TOKENS);
/** A provider or model name (the store's key length). */
const modelName = z.string().min(1).max(LIMITS.maxKeyLength);
/** A reservation id, as `POST /v1/leases/:taskId/reservations` answered it. */
const reservationId = z.string().min(1).max(LIMITS.maxKeyLength);

/**
 * `POST /v1/leases/:taskId/usage`: one model call the attempt (`token`) made, recorded whether
 * or not its lease is still held. Cache tokens are parts of the input, reasoning a part of the
 * output. `costUsd`: the cost the provider reported, which wins over the price table.
 */
export const UsageBodySchema = z.strictObject({
  token: z.number().int().min(1),
  agentId: holderAgentId,
  provider: modelName,
  model: modelName,
  inputTokens: tokenCount,
  outputTokens: tokenCount,
  cacheReadTokens: tokenCount.optional(),
  cacheWriteTokens: tokenCount.optional(),
  reasoningTokens: tokenCount.optional(),
  costUsd: z.number().min(0).max(MAX_USD).optional(),
  /**
   * For a call that died mid-stream: `partial` (input as the provider reported it, output counted
   * from the streamed text) or `estimate` (input estimated): recorded as the cost basis.
   */
  basis: z.enum(['partial', 'estimate']).optional(),
  /** The reservation this call held: settled to the recorded cost in the same step. */
  reservationId: reservationId.optional(),
});

/** A call about to be made, priced at its worst case by the server's price table. */
const callEstimate = z.strictObject({
  provider: modelName,
  model: modelName,
  /** An upper bound of the input tokens (count generously: UTF-8 bytes are one). */
  inputTokens: tokenCount,
  /** The call's `maxTokens`. */
  maxOutputTokens: tokenCount,
});

/**
 * `POST /v1/leases/:taskId/reservations`: hold a call's worst case against the budgets of the
 * task's run and of the task, while the lease is held. Give either `usd` (the amount) or `call`
 * (priced by the server at the model's dearest input rate and all of `maxOutputTokens`).
 */
export const ReserveBodySchema = z
  .strictObject({
    token: z.number().int().min(1),
    agentId: holderAgentId,
    usd: z.number().min(0).max(MAX_USD).optional(),
    call: callEstimate.optional(),
  })
  .refine((body) => (body.usd === undefined) !== (body.call === undefined), {
    message: 'give exactly one of usd (the worst case in US dollars) or call (to be priced)',
    path: ['usd'],
  });

/** `DELETE /v1/leases/:taskId/reservations/:reservationId`: who gives it back. */
export const ReleaseReservationQuerySchema = z.strictObject({
  token: z.coerce.number().int().min(1),
  agentId: holderAgentId,
});

export const ReservationParamsSchema = z.strictObject({
  taskId: z.string().min(1),
  reservationId,
});

/** One recorded model call (core/ledger.ts UsageRecord). */
export const UsageRecordSchema = z.strictObject({
  taskId: z.string(),
  attempt: z.number(),
  runId: z.string().nullable(),
  epic: z.string().nullable(),
  agentId: z.string(),
  provider: z.string(),
  model: z.string(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheReadTokens: z.number(),
  cacheWriteTokens: z.number(),
  reasoningTokens: z.number(),
  costUsd: z.number(),
  costBasis: z.enum(COST_BASES),
  at: z.number(),
});

/** What `GET /v1/tasks/:id/usage` answers: the task's recorded calls, oldest first. */
export const TaskUsageSchema = z.strictObject({ usage: z.array(UsageRecordSchema) });

/** A reservation held (core/ledger.ts Reservation). */
export const ReservationSchema = z.strictObject({ id: z.string(), usd: z.number() });

/** The answer of `DELETE …/reservations/:reservationId`: false when it was not held any more. */
export const ReservationReleasedSchema = z.strictObject({ released: z.boolean() });

/** `GET /v1/expertise/:domain`. */
export const ExpertiseParamsSchema = z.object({ domain: z.string() });

/** `GET /v1/expertise/:domain`: a version from the store instead of the file. */
export const ExpertiseQuerySchema = z.strictObject({
  version: z
    .string()
    .regex(/^[1-9]\d{0,8}$/, 'must be a version number, from 1')
    .transform(Number)
    .optional(),
});

/** A domain's expertise (docs/agents.md#expertise). */
export const ExpertiseSchema = z.strictObject({
  domain: z.string(),
  /** `file`: the project's file; `store`: a version the store keeps. */
  source: z.enum(['file', 'store']),
  /** The file read, or null when the text is a stored version. */
  file: z.string().nullable(),
  text: z.string(),
  lines: z.number().int(),
  /** The version served (for a file, the latest the store keeps), or null when none is kept. */
  version: z.number().int().nullable(),
  /** How many versions the store keeps. */
  versions: z.number().int(),
});
