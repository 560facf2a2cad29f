/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same zod schemas the routes
 * parse requests with and the contract tests check responses against (`z.toJSONSchema`), so
 * the document cannot drift from the code. Served at `GET /openapi.json`; never committed.
 */
import { z } from 'zod';

import * as S from './schemas.ts';

/** Named schemas, under `#/components/schemas/<name>`. */
const COMPONENTS = {
  Json: S.JsonSchema,
  TaskSpec: S.TaskSpecSchema,
  RunSpec: S.RunSpecSchema,
  GoalBody: S.GoalBodySchema,
  SubmittedGoal: S.SubmittedGoalSchema,
  RunResult: S.RunResultSchema,
  CancelBody: S.CancelBodySchema,
  RetryBody: S.RetryBodySchema,
  TaskError: S.TaskErrorSchema,
  TaskRecord: S.TaskRecordSchema,
  AttemptRecord: S.AttemptRecordSchema,
  RunRecord: S.RunRecordSchema,
  AgentRecord: S.AgentRecordSchema,
  SubmittedTask: S.SubmittedTaskSchema,
  SubmittedRun: S.SubmittedRunSchema,
  TaskPage: S.TaskPageSchema,
  RunPage: S.RunPageSchema,
  TaskDetail: S.TaskDetailSchema,
  RunDetail: S.RunDetailSchema,
  AgentList: S.AgentListSchema,
  Stats: S.StatsSchema,
  CostReport: S.CostReportSchema,
  Health: S.HealthSchema,
  AuthInfo: S.AuthInfoSchema,
  Event: S.EventSchema,
  RecentEvents: S.RecentEventsSchema,
  WsReady: S.WsReadySchema,
  Error: S.ErrorBodySchema,
  TaskCancelled: S.TaskCancelledSchema,
  TaskRetried: S.TaskRetriedSchema,
  RunCancelled: S.RunCancelledSchema,
  MergeBody: S.MergeBodySchema,
  RunMerged: S.RunMergedSchema,
  AgentSpec: S.AgentSpecSchema,
  HeartbeatBody: S.HeartbeatBodySchema,
  HeartbeatResponse: S.HeartbeatResponseSchema,
  ClaimBody: S.ClaimBodySchema,
  ClaimResponse: S.ClaimResponseSchema,
  Lease: S.LeaseSchema,
  RenewBody: S.RenewBodySchema,
  CompleteBody: S.CompleteBodySchema,
  FailBody: S.FailBodySchema,
  ReleaseBody: S.ReleaseBodySchema,
  Settled: S.SettledSchema,
  LogLine: S.LogLineSchema,
  LogPage: S.LogPageSchema,
  LogsBody: S.LogsBodySchema,
  LogsAppended: S.LogsAppendedSchema,
  UsageBody: S.UsageBodySchema,
  UsageRecord: S.UsageRecordSchema,
  TaskUsage: S.TaskUsageSchema,
  ReserveBody: S.ReserveBodySchema,
  Reservation: S.ReservationSchema,
  ReservationReleased: S.ReservationReleasedSchema,
  Expertise: S.ExpertiseSchema,
} as const;

export type ComponentName = keyof typeof COMPONENTS;

type Op = {
  summary: string;
  scope: 'read' | 'submit' | 'work' | 'admin' | null;
  query?: z.ZodObject;
  body?: ComponentName;
  /** Also takes a plan file: as YAML, as JSON told apart by shape, or as the plan JSON type. */
  plan?: boolean;
  ok: [number, ComponentName | 'EventStream' | 'LogStream' | 'PrometheusText' | 'WebSocket'];
  /** The route's own errors; those every route of its kind can answer are added (see below). */
  errors: number[];
};

/**
 * A plan file as JSON: the format `baton run plan.json` reads (README: Plan files). Its fields
 * are checked by the plan reader, whose refusals name the line of the body.
 */
const PLAN_JSON = {
  type: 'object',
  description:
    'A plan file as JSON (README: Plan files). As application/json it is told from a RunSpec by its shape: it is a plan when it has defaults or agents, or when none of its tasks has a type and some task has command, args, shell, cwd, env or executor.',
  required: ['tasks'],
  properties: {
    name: { type: 'string' },
    defaults: { type: 'object' },
    agents: { type: 'array', items: { type: 'object' } },
    tasks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key'],
        properties: {
          key: { type: 'string' },
          command: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
          executor: { type: 'string' },
        },
      },
    },
  },
} as const;

/** Every route: method and OpenAPI path → its description. */
export const ROUTES: Record<string, Record<string, Op>> = {
  '/health': {
    get: {
      summary: 'Process and store reachability',
      scope: null,
      ok: [200, 'Health'],
      errors: [503],
    },
  },
  '/v1/tasks': {
    post: {
      summary: 'Submit one task (201; 200 with the existing task for a repeated idempotencyKey)',
      scope: 'submit',
      body: 'TaskSpec',
      ok: [201, 'SubmittedTask'],
      errors: [400, 401, 403, 413],
    },
    get: {
      summary: 'List tasks in submission order, a page at a time',
      scope: 'read',
      query: S.TaskListQuerySchema,
      ok: [200, 'TaskPage'],
      errors: [400, 401, 403],
    },
  },
  '/v1/tasks/{id}': {
    get: {
      summary: 'A task and its attempts',
      scope: 'read',
      ok: [200, 'TaskDetail'],
      errors: [401, 403, 404],
    },
  },
  '/v1/tasks/{id}/cancel': {
    post: {
      summary: 'Cancel a task (no-op when it is terminal)',
      scope: 'submit',
      body: 'CancelBody',
      ok: [200, 'TaskCancelled'],
      errors: [400, 401, 403, 404],
    },
  },
  '/v1/tasks/{id}/retry': {
    post: {
      summary:
        'Retry (replay) a failed task: ready again with a fresh attempt budget; its run reopens and the tasks its failure skipped are revived. 409 BATON_CONFLICT when it is not failed',
      scope: 'submit',
      body: 'RetryBody',
      ok: [200, 'TaskRetried'],
      errors: [400, 401, 403, 404, 409],
    },
  },
  '/v1/tasks/{id}/usage': {
    get: {
      summary:
        "The task's recorded model calls, oldest first, each with its attempt, model, tokens and cost (docs/costs.md)",
      scope: 'read',
      ok: [200, 'TaskUsage'],
      errors: [401, 403, 404],
    },
  },
  '/v1/tasks/{id}/logs': {
    get: {
      summary:
        "A page of the task's log (docs/logs.md): every attempt's lines in seq order, with a cut marker where the bounds dropped lines; read on with after=<cursor>",
      scope: 'read',
      query: S.TaskLogsQuerySchema,
      ok: [200, 'LogPage'],
      errors: [400, 401, 403, 404],
    },
  },
  '/v1/tasks/{id}/logs/stream': {
    get: {
      summary:
        "The task's log live, as Server-Sent Events: each line an event `line` (id: = its seq; resume with Last-Event-ID), then an event `end` once the task finished and every line was sent",
      scope: 'read',
      query: S.TaskLogStreamQuerySchema,
      ok: [200, 'LogStream'],
      errors: [400, 401, 403, 404],
    },
  },
  '/v1/logs': {
    get: {
      summary:
        'Agent logs: log lines across tasks in seq order, by agent, least severe level and time range (since, until: epoch ms or ISO 8601); read on with after=<cursor> while more',
      scope: 'read',
      query: S.AgentLogsQuerySchema,
      ok: [200, 'LogPage'],
      errors: [400, 401, 403],
    },
  },
  '/v1/runs': {
    post: {
      summary:
        'Submit a run atomically: a RunSpec as JSON, or a plan file as JSON (told apart by shape, or sent as application/vnd.baton.plan+json) or as YAML (application/yaml)',
      scope: 'submit',
      body: 'RunSpec',
      plan: true,
      ok: [201, 'SubmittedRun'],
      errors: [400, 401, 403, 413, 415],
    },
    get: {
      summary: 'List runs, newest first unless order=asc',
      scope: 'read',
      query: S.RunListQuerySchema,
      ok: [200, 'RunPage'],
      errors: [400, 401, 403],
    },
  },
  '/v1/goals': {
    post: {
      summary:
        "Plan and run a goal in plain words (10 to 5,000 characters): a run whose first task is a plan task, which a worker's planner turns into the run's tasks (docs/planner.md)",
      scope: 'submit',
      body: 'GoalBody',
      ok: [201, 'SubmittedGoal'],
      errors: [400, 401, 403, 413, 415],
    },
  },
  '/v1/expertise/{domain}': {
    get: {
      summary:
        "A domain's expertise (docs/agents.md#expertise): the project's .baton/expertise/<domain>.yaml, else the latest version the store keeps; with version=N that version from the store",
      scope: 'read',
      query: S.ExpertiseQuerySchema,
      ok: [200, 'Expertise'],
      errors: [400, 401, 403, 404],
    },
  },
  '/v1/runs/{id}': {
    get: {
      summary: 'A run with its tasks, progress, DAG levels and critical path',
      scope: 'read',
      ok: [200, 'RunDetail'],
      errors: [401, 403, 404],
    },
  },
  '/v1/runs/{id}/cancel': {
    post: {
      summary: 'Cancel every unfinished task of a run',
      scope: 'submit',
      body: 'CancelBody',
      ok: [200, 'RunCancelled'],
      errors: [400, 401, 403, 404],
    },
  },
  '/v1/runs/{id}/merge': {
    post: {
      summary:
        "Put a finished coding run's integration branch into a branch of its repository (docs/worktrees.md): a fast-forward at once; a merge commit only with confirm: true, else would-merge and nothing changed. 409 BATON_CONFLICT for a run without worktrees, not succeeded, whose repository is not on the server's machine, or when the merge cannot be done (dirty checkout, conflicts, no such branch)",
      scope: 'admin',
      body: 'MergeBody',
      ok: [200, 'RunMerged'],
      errors: [400, 401, 403, 404, 409],
    },
  },
  '/v1/agents': {
    post: {
      summary: 'Register an agent (a worker in any language); its id is generated when absent',
      scope: 'work',
      body: 'AgentSpec',
      ok: [201, 'AgentRecord'],
      errors: [400, 401, 403],
    },
    get: {
      summary: 'Every agent of the namespace',
      scope: 'read',
      ok: [200, 'AgentList'],
      errors: [401, 403],
    },
  },
  '/v1/agents/available': {
    get: {
      summary:
        'Agents that could take a task needing these capabilities now: active, healthy, with a free slot',
      scope: 'read',
      query: S.AvailableAgentsQuerySchema,
      ok: [200, 'AgentList'],
      errors: [400, 401, 403],
    },
  },
  '/v1/stats': {
    get: {
      summary: 'Counts by state, ready depth by requires, agents',
      scope: 'read',
      ok: [200, 'Stats'],
      errors: [401, 403],
    },
  },
  '/v1/auth': {
    get: {
      summary:
        "What the request's token may do: its scopes (every scope on a server without tokens); 401 without a valid token",
      scope: null,
      ok: [200, 'AuthInfo'],
      errors: [401],
    },
  },
  '/v1/costs': {
    get: {
      summary:
        'What model calls cost: totals of a run (run=) or of the namespace, by run, epic, task, agent or model (by=), with the run budget',
      scope: 'read',
      query: S.CostsQuerySchema,
      ok: [200, 'CostReport'],
      errors: [400, 401, 403, 404],
    },
  },
  '/v1/agents/{id}/heartbeat': {
    post: {
      summary:
        'Record a heartbeat (and the process report); 409 BATON_AGENT_LOST once declared lost',
      scope: 'work',
      body: 'HeartbeatBody',
      ok: [200, 'HeartbeatResponse'],
      errors: [400, 401, 403, 409],
    },
  },
  '/v1/agents/{id}/claim': {
    post: {
      summary: `Lease up to max ready tasks the agent can run; with waitMs (<= ${S.MAX_CLAIM_WAIT_MS}) wait for work first`,
      scope: 'work',
      body: 'ClaimBody',
      ok: [200, 'ClaimResponse'],
      errors: [400, 401, 403, 409],
    },
  },
  '/v1/leases/{taskId}/renew': {
    post: {
      summary:
        'Extend a lease; 409 BATON_LEASE_LOST when agentId does not hold it, for a stale token, or a cancelled task',
      scope: 'work',
      body: 'RenewBody',
      ok: [200, 'Settled'],
      errors: [400, 401, 403, 404, 409],
    },
  },
  '/v1/leases/{taskId}/complete': {
    post: {
      summary:
        'Record the result of the attempt the token names; 409 BATON_LEASE_LOST when agentId does not hold the lease or the token is stale',
      scope: 'work',
      body: 'CompleteBody',
      ok: [200, 'Settled'],
      errors: [400, 401, 403, 404, 409],
    },
  },
  '/v1/leases/{taskId}/fail': {
    post: {
      summary:
        'Fail the attempt the token names (retried with backoff while attempts remain); 409 BATON_LEASE_LOST when agentId does not hold the lease or the token is stale',
      scope: 'work',
      body: 'FailBody',
      ok: [200, 'Settled'],
      errors: [400, 401, 403, 404, 409],
    },
  },
  '/v1/leases/{taskId}/release': {
    post: {
      summary:
        'Give the lease back without counting its attempt ("not now"): the task is ready again, or delayed for delayMs; 409 BATON_LEASE_LOST when agentId does not hold the lease or the token is stale',
      scope: 'work',
      body: 'ReleaseBody',
      ok: [200, 'Settled'],
      errors: [400, 401, 403, 404, 409],
    },
  },
  '/v1/leases/{taskId}/logs': {
    post: {
      summary:
        'Append lines to the log of the attempt the token names, while it runs (its last lines can go with complete, fail or release, as logs); 409 BATON_LEASE_LOST when agentId did not run that attempt or the token was never issued',
      scope: 'work',
      body: 'LogsBody',
      ok: [200, 'LogsAppended'],
      errors: [400, 401, 403, 404, 409],
    },
  },
  '/v1/leases/{taskId}/usage': {
    post: {
      summary:
        "Record one model call the attempt made (provider, model, tokens, optional provider-reported costUsd; else priced from the server's table), settling reservationId when given; recorded even when the lease was since lost (the money was spent); 409 BATON_CONFLICT when agentId never held the attempt the token names",
      scope: 'work',
      body: 'UsageBody',
      ok: [201, 'UsageRecord'],
      errors: [400, 401, 403, 404, 409],
    },
  },
  '/v1/leases/{taskId}/reservations': {
    post: {
      summary:
        "Hold a call's worst case (usd, or call priced by the server) against the budgets of the task's run and of the task while the lease is held; 409 BATON_BUDGET_EXCEEDED when it does not fit, BATON_LEASE_LOST when the lease is not held",
      scope: 'work',
      body: 'ReserveBody',
      ok: [201, 'Reservation'],
      errors: [400, 401, 403, 404, 409],
    },
  },
  '/v1/leases/{taskId}/reservations/{reservationId}': {
    delete: {
      summary:
        'Give back a reservation whose call never happened (agentId and token in the query: an attempt the agent held); released is false when it was not held any more (settled, released, swept)',
      scope: 'work',
      query: S.ReleaseReservationQuerySchema,
      ok: [200, 'ReservationReleased'],
      errors: [400, 401, 403, 404, 409],
    },
  },
  '/metrics': {
    get: {
      summary:
        'Prometheus metrics: task counters, queue wait and run time histograms, depth and agent gauges',
      scope: 'read',
      ok: [200, 'PrometheusText'],
      errors: [401, 403],
    },
  },
  '/v1/ws': {
    get: {
      summary:
        'The event stream over a WebSocket (Upgrade: websocket): the first message is a WsReady, each one after it an Event as JSON; resume by reconnecting with since=<the last id seen>',
      scope: 'read',
      query: S.EventsQuerySchema,
      ok: [101, 'WebSocket'],
      errors: [400, 401, 403],
    },
  },
  '/v1/events/recent': {
    get: {
      summary:
        'The newest events of the given types (at most limit, default 50, up to 200), newest first',
      scope: 'read',
      query: S.RecentEventsQuerySchema,
      ok: [200, 'RecentEvents'],
      errors: [400, 401, 403],
    },
  },
  '/v1/events': {
    get: {
      summary:
        'The event stream as Server-Sent Events (id: = event id; resume with Last-Event-ID); each data: is an Event',
      scope: 'read',
      query: S.EventsQuerySchema,
      ok: [200, 'EventStream'],
      errors: [400, 401, 403],
    },
  },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** JSON Schemas of the components, with refs between them as `#/components/schemas/<name>`. */
export function componentSchemas(): Record<string, Record<string, unknown>> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  const out = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'output',
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: 'any',
  });
  const schemas: Record<string, Record<string, unknown>> = {};
  for (const [id, schema] of Object.entries(out.schemas)) {
    const { $schema: _drop, $id: _id, ...rest } = schema as Record<string, unknown>;
    schemas[id] = rest;
  }
  return schemas;
}

function queryParameters(query: z.ZodObject): unknown[] {
  const schema = z.toJSONSchema(query, { io: 'input' }) as {
    properties?: Record<string, unknown>;
  };
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: false,
    schema: s,
  }));
}

/** The whole OpenAPI 3.1 document. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, methods] of Object.entries(ROUTES)) {
    const item: Record<string, unknown> = {};
    for (const [method, op] of Object.entries(methods)) {
      const parameters: unknown[] = [];
      for (const name of ['id', 'taskId', 'domain']) {
        if (path.includes(`{${name}}`)) {
          parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
        }
      }
      if (op.query) parameters.push(...queryParameters(op.query));
      if (path === '/v1/events' || path === '/v1/tasks/{id}/logs/stream') {
        parameters.push({
          name: 'Last-Event-ID',
          in: 'header',
          required: false,
          schema: { type: 'string' },
          description:
            path === '/v1/events'
              ? 'Resume after this event id (what an EventSource sends on reconnect)'
              : 'Resume after this line seq (what an EventSource sends on reconnect)',
        });
      }
      const responses: Record<string, unknown> = {};
      const [status, name] = op.ok;
      responses[String(status)] =
        name === 'WebSocket'
          ? {
              description:
                'Switching Protocols: a WebSocket whose first message is a WsReady and each later one an Event, as JSON text',
              'x-baton-messages': [ref('WsReady'), ref('Event')],
            }
          : {
              description: 'OK',
              content:
                name === 'EventStream' || name === 'LogStream'
                  ? {
                      'text/event-stream': {
                        schema: { type: 'string' },
                        itemSchema: ref(name === 'EventStream' ? 'Event' : 'LogLine'),
                      },
                    }
                  : name === 'PrometheusText'
                    ? { 'text/plain': { schema: { type: 'string' } } }
                    : { 'application/json': { schema: ref(name) } },
            };
      for (const code of errorStatuses(path, op)) {
        responses[String(code)] = {
          description: ERROR_DESCRIPTIONS[code] ?? 'Error',
          content: { 'application/json': { schema: ref('Error') } },
        };
      }
      item[method] = {
        summary: op.summary,
        operationId: `${method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
        ...(op.scope === null ? { security: [] } : { 'x-baton-scope': op.scope }),
        ...(parameters.length === 0 ? {} : { parameters }),
        ...(op.body === undefined
          ? {}
          : {
              requestBody: {
                required:
                  op.body !== 'CancelBody' &&
                  op.body !== 'RetryBody' &&
                  op.body !== 'MergeBody' &&
                  op.body !== 'HeartbeatBody' &&
                  op.body !== 'ClaimBody',
                content:
                  op.plan === true
                    ? {
                        'application/json': { schema: { anyOf: [ref(op.body), PLAN_JSON] } },
                        'application/vnd.baton.plan+json': { schema: PLAN_JSON },
                        'application/yaml': {
                          schema: {
                            type: 'string',
                            description: 'A plan file (README: Plan files)',
                          },
                        },
                      }
                    : { 'application/json': { schema: ref(op.body) } },
              },
            }),
        responses,
      };
    }
    paths[path] = item;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Baton HTTP API',
      version,
      description:
        'A durable, parallel task queue and orchestrator for AI-agent workflows. Errors are {"error": {"code", "message", "details"}}; see docs/http-api.md.',
    },
    components: {
      schemas: componentSchemas(),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

/**
 * Every status an operation can answer: its own, and those any route of its kind can, which the
 * server adds in one place each, so the document lists them for every route:
 * - any request: 400 (an unknown query parameter; query strings are strict everywhere), 403 (a
 *   `Host` or `Origin` the server does not answer to), 431 (headers over 16 KiB);
 * - a route with a scope: 401; with a path parameter: 414 (longer than any id);
 * - a route with a body: 413 (over `bodyLimit`), 415 (not JSON, or YAML where it is taken).
 */
function errorStatuses(path: string, op: Op): number[] {
  const statuses = new Set([...op.errors, 400, 403, 431]);
  if (op.scope !== null) statuses.add(401);
  if (/\{\w+\}/.test(path)) statuses.add(414);
  if (op.body !== undefined) {
    statuses.add(413);
    statuses.add(415);
  }
  return [...statuses].sort((a, b) => a - b);
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (BATON_VALIDATION, BATON_CYCLE, BATON_PLAN): a bad body, an unknown or malformed query parameter, input nested too deep',
  401: 'Missing or invalid bearer token',
  403: 'The token lacks the scope, the agent was registered with another token, or the Host or Origin is not one this server answers to (BATON_FORBIDDEN)',
  404: 'No such task, run or route',
  409: 'Conflict (BATON_LEASE_LOST, BATON_CONFLICT)',
  413: 'Body or payload too large (BATON_PAYLOAD_TOO_LARGE)',
  414: 'A path parameter is longer than any id (BATON_URI_TOO_LONG)',
  415: 'Unsupported content type (BATON_UNSUPPORTED_MEDIA_TYPE)',
  431: 'Request headers over 16 KiB (BATON_HEADERS_TOO_LARGE); the connection is closed',
  503: 'The store is unreachable',
};
