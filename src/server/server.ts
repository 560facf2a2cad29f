/**
 * The HTTP API on Fastify: JSON routes under `/v1` over a {@link Baton} client, bearer-token
 * auth with scopes, the event stream as Server-Sent Events, and a health check. See
 * docs/http-api.md for the routes, auth and error format.
 *
 * @example
 * ```ts
 * const baton = await Baton.open('sqlite:.baton/baton.db');
 * const app = await buildServer({ baton, host: '127.0.0.1' });
 * await app.listen({ host: '127.0.0.1', port: 7400 });
 * ```
 */
import { readFileSync } from 'node:fs';

import websocket from '@fastify/websocket';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';

import type { TaskFilter } from '../backends/backend.ts';
import { isRunId } from '../backends/ids.ts';
import {
  BatonError,
  NotFoundError,
  StoreUnavailableError,
  ValidationError,
} from '../core/errors.ts';
import { analyzeDag, longestPath } from '../core/dag.ts';
import { goalRunSpec } from '../core/goal.ts';
import { runResult } from '../core/run-result.ts';
import type { BatonEvent, RunSpec, TaskRecord, TaskSpec, TaskState } from '../core/types.ts';
import type { Baton } from '../runtime/baton.ts';
import { isPlanShaped, parsePlan, type Plan } from '../runtime/plan.ts';
import { Sweeper, type SweeperOptions } from '../runtime/sweeper.ts';
import { registerDashboard, type DashboardOptions } from './dashboard.ts';
import { openApiDocument } from './openapi.ts';
import { registerLogRoutes } from './logs.ts';
import { registerExpertiseRoutes } from './expertise.ts';
import { registerMcpRoute } from './mcp.ts';
import { refuseWorkspacePayloads } from '../workspace/spec.ts';
import { registerMergeRoute } from './merge.ts';
import { streamSse } from './sse.ts';
import { registerWorkRoutes } from './work.ts';
import { Metrics, followEvents } from './metrics.ts';
import {
  Authenticator,
  SCOPES,
  isLoopback,
  parseTokens,
  type ApiToken,
  type Scope,
} from './auth.ts';
import {
  HttpError,
  MAX_PARAM_LENGTH,
  clientErrorHandler,
  errorHandler,
  toErrorResponse,
} from './errors.ts';
import { guardHostsAndOrigins } from './hosts.ts';
import { PLAN_JSON_TYPE, refuseUnknownQueries, registerBodyParsers } from './requests.ts';
import {
  CancelBodySchema,
  RetryBodySchema,
  AvailableAgentsQuerySchema,
  CostsQuerySchema,
  EventsQuerySchema,
  RecentEventsQuerySchema,
  GoalBodySchema,
  IdParamsSchema,
  RunListQuerySchema,
  RunSpecSchema,
  TaskListQuerySchema,
  TaskSpecSchema,
} from './schemas.ts';

export interface ServerOptions {
  /** The client the routes act through. The server does not close it. */
  baton: Baton;
  /**
   * Accepted bearer tokens. Absent: `BATON_API_TOKENS` from `env` (`token:read+submit,…`).
   * With none at all, every request is allowed, and only a loopback `host` is accepted.
   * @default from `env.BATON_API_TOKENS`, else none
   */
  tokens?: readonly ApiToken[];
  /**
   * The address the caller will listen on. Checked here: without tokens, anything but loopback
   * is refused, so an unauthenticated API is never exposed to the network.
   */
  host: string;
  /**
   * Host names (or `name:port`) the API answers to besides the loopback names (`localhost`,
   * `127.0.0.1`, `[::1]`), e.g. `['baton.internal']` for a server reached by that name. Without
   * tokens, a request whose `Host` is none of these is refused (403), which keeps web pages from
   * reaching the API by DNS rebinding; with tokens, `Host` is checked only when this is given.
   * See `hosts.ts`.
   * @default none: loopback names only (and, with tokens, any name)
   */
  allowedHosts?: readonly string[];
  /**
   * Origins allowed to call the API from a browser (CORS), or `'*'` for any. Without tokens,
   * these are also the only pages besides loopback ones that may call the API at all.
   * @default CORS off (no CORS headers are sent)
   */
  cors?: readonly string[] | '*';
  /** Largest request body, in bytes; a larger one is refused with 413. @default 1 MiB + 64 KiB */
  bodyLimit?: number;
  /**
   * Where the server logs: one line per request at debug (method, URL, status, time), failed
   * requests at error, the `authorization` header redacted. @default no logging
   */
  logger?: Logger;
  /** Where `BATON_API_TOKENS` is read when `tokens` is absent. @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Serve `GET /metrics` (Prometheus, scope `read`) and follow the event stream to count tasks.
   * @default true
   */
  metrics?: boolean;
  /**
   * Where `GET /v1/expertise/:domain` looks for `.baton/expertise/` (and the MCP tools, for a
   * client outside a task). @default process.cwd()
   */
  expertiseDir?: string;
  /** Lines of an expertise file served (`learning.expertiseMaxLines`). @default 1000 */
  expertiseMaxLines?: number;
  /** How long `GET /health` waits for the store. @default 2000 */
  healthTimeoutMs?: number;
  /**
   * Run the sweep (`src/runtime/sweeper.ts`) in the server process while it serves: expire the
   * leases of HTTP agents that went silent, declare them lost, time out attempts, promote
   * delayed tasks. `false` leaves that to other processes (SDK workers, a pool).
   * @default on, with the sweeper's defaults (every 500 ms, agents lost after 3 s of silence)
   */
  sweep?: Omit<SweeperOptions, 'logger'> | false;
  /**
   * Serve the web dashboard (web/dist, built by `npm run build:web`) at `/`; `true` for the
   * package's build. `baton server` turns it on unless `--no-dashboard`. See dashboard.ts.
   * @default false
   */
  dashboard?: boolean | DashboardOptions;
  /**
   * Serve Baton's MCP tools at `/mcp` (Streamable HTTP, docs/mcp.md).
   * @default true
   */
  mcp?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; absent: no auth (health). */
    scope?: Scope;
  }
  interface FastifyRequest {
    /**
     * The owner fingerprint of the request's token (auth.ts `tokenOwner`), which agents are
     * bound to; null when the server has no tokens or the route needs none.
     */
    tokenOwner: string | null;
  }
}

const DEFAULT_BODY_LIMIT = 1_048_576 + 65_536;
const PAGE = 1000;

/**
 * Build the Fastify app (routes registered, not listening). The caller calls `listen`, and
 * `close` to stop it; closing ends the open event streams.
 * @throws BatonError `BATON_VALIDATION` for a malformed `BATON_API_TOKENS` or `allowedHosts`
 *   entry, or when no token is configured and `host` is not a loopback address.
 */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { baton } = options;
  const env = options.env ?? process.env;
  const tokens =
    options.tokens ?? (env.BATON_API_TOKENS === undefined ? [] : parseTokens(env.BATON_API_TOKENS));
  const auth = new Authenticator(tokens);
  if (auth.open && !isLoopback(options.host)) {
    throw new BatonError(
      'BATON_VALIDATION',
      `refusing to serve the API on ${options.host} without authentication: configure bearer tokens (BATON_API_TOKENS=token:read+submit, or the tokens option), or bind to 127.0.0.1`,
      { details: { host: options.host } },
    );
  }

  const app = Fastify({
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    ...(options.logger === undefined
      ? { logger: false }
      : {
          loggerInstance: options.logger.child(
            {},
            { redact: ['req.headers.authorization', 'headers.authorization'] },
          ),
          // Fastify logs two lines per request at info; a busy API would drown everything
          // else. One line per request at debug instead (the hook below); errors as they are.
          logController: new LogController({ disableRequestLogging: true }),
        }),
    // Event streams are closed by the preClose hook; idle keep-alive sockets should not hold
    // `close()` up.
    forceCloseConnections: 'idle',
    // Every id the API accepts fits in a path; a longer segment is a 414 in Baton's shape.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Fastify's and Node's own refusals (bad URL, headers too large) answer as every error does.
    frameworkErrors: errorHandler,
    clientErrorHandler,
  }) as unknown as FastifyInstance;
  app.setErrorHandler(errorHandler);
  const logger = options.logger;
  if (logger !== undefined) {
    app.addHook('onResponse', (request, reply, done) => {
      if (logger.isLevelEnabled('debug')) {
        request.log.debug(
          {
            method: request.method,
            url: request.url,
            statusCode: reply.statusCode,
            ms: Math.round(reply.elapsedTime),
          },
          'request',
        );
      }
      done();
    });
  }
  // The plugin's own preClose closes the sockets; ours (below) ends their event loops first.
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  app.setNotFoundHandler((request, reply) => {
    const { status, body } = toErrorResponse(
      new HttpError(
        404,
        'BATON_ROUTE_NOT_FOUND',
        `no route ${request.method} ${request.url.split('?')[0] ?? ''}; see GET /openapi.json`,
      ),
    );
    void reply.status(status).send(body);
  });
  registerBodyParsers(app);
  // First, before CORS answers a preflight: a name or page the server does not answer to.
  guardHostsAndOrigins(app, {
    open: auth.open,
    allowedHosts: options.allowedHosts,
    cors: options.cors,
  });

  const cors = options.cors;
  if (cors !== undefined) {
    app.addHook('onRequest', (request, reply, done) => {
      const origin = request.headers.origin;
      if (origin === undefined || (cors !== '*' && !cors.includes(origin))) {
        done();
        return;
      }
      void reply.header('access-control-allow-origin', cors === '*' ? '*' : origin);
      void reply.header('vary', 'Origin');
      if (request.method === 'OPTIONS') {
        void reply
          .header('access-control-allow-methods', 'GET, POST, OPTIONS')
          .header('access-control-allow-headers', 'authorization, content-type, last-event-id')
          .header('access-control-max-age', '600')
          .status(204)
          .send();
        return;
      }
      done();
    });
    app.options('*', (_request, reply) => reply.status(204).send());
  }

  app.decorateRequest('tokenOwner', null);
  app.addHook('onRequest', (request, _reply, done) => {
    const scope = request.routeOptions.config.scope;
    try {
      if (scope !== undefined)
        request.tokenOwner = auth.authorize(request.headers.authorization, scope);
      done();
    } catch (error) {
      done(error as Error);
    }
  });

  refuseUnknownQueries(app);

  const streams = new Set<AbortController>();
  const closing = new AbortController();
  app.addHook('preClose', (done) => {
    closing.abort();
    for (const stream of streams) stream.abort();
    done();
  });

  const read = { config: { scope: 'read' as Scope } };
  const readWith = (query: z.ZodObject) => ({ config: { scope: 'read' as Scope, query } });
  const submit = { config: { scope: 'submit' as Scope } };

  let openapi: Record<string, unknown> | undefined;
  app.get('/openapi.json', () => (openapi ??= openApiDocument(packageVersion())));

  app.get('/health', async (_request, reply) => {
    const started = Date.now();
    const timeoutMs = options.healthTimeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        baton.lastEventId(),
        new Promise((_resolve, reject) => {
          timer = setTimeout(
            () => reject(new StoreUnavailableError(`no answer from the store in ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return reply.status(503).send({
        error: {
          code: 'BATON_STORE_UNAVAILABLE',
          message: `the ${baton.backend.name} store is not reachable: ${message}`,
          details: { backend: baton.backend.name },
        },
      });
    } finally {
      clearTimeout(timer);
    }
    return {
      status: 'ok',
      backend: { name: baton.backend.name, reachable: true, latencyMs: Date.now() - started },
      process: { pid: process.pid, uptimeS: Math.round(process.uptime()) },
    };
  });

  app.post('/v1/tasks', submit, async (request, reply) => {
    const spec = TaskSpecSchema.parse(jsonBody(request)) as TaskSpec;
    refuseWorkspacePayloads([spec], () => 'payload');
    const submitted = await baton.submit(spec);
    return reply.status(submitted.existing ? 200 : 201).send(submitted);
  });

  app.post('/v1/runs', submit, async (request, reply) => {
    let run: RunSpec;
    if (typeof request.body === 'string') {
      run = planWithoutWorktrees(parsePlan(request.body, 'request.yaml')).run;
    } else if (
      request.jsonText !== undefined &&
      (isPlanJson(request.headers['content-type']) || isPlanShaped(request.body))
    ) {
      // A plan file as JSON, as `baton run plan.json` takes it; its lines are the body's.
      run = planWithoutWorktrees(parsePlan(request.jsonText, 'request.json')).run;
    } else {
      run = RunSpecSchema.parse(jsonBody(request)) as RunSpec;
    }
    refuseWorkspacePayloads(run.tasks, (i) => `tasks[${i}].payload`);
    return reply.status(201).send(await baton.submitRun(run));
  });

  app.post('/v1/goals', submit, async (request, reply) => {
    const goal = GoalBodySchema.parse(jsonBody(request));
    const submitted = await baton.submitRun(goalRunSpec(goal));
    return reply.status(201).send({ runId: submitted.runId, planTaskId: submitted.tasks[0]!.id });
  });

  app.get('/v1/tasks', readWith(TaskListQuerySchema), async (request) => {
    const q = TaskListQuerySchema.parse(request.query);
    const filter: TaskFilter = {};
    if (q.state !== undefined) filter.state = q.state as TaskState;
    if (q.run !== undefined) filter.runId = q.run;
    if (q.type !== undefined) filter.type = q.type;
    if (q.agent !== undefined) filter.agentId = q.agent;
    if (q.limit !== undefined) filter.limit = q.limit;
    if (q.cursor !== undefined) filter.cursor = q.cursor;
    return await baton.tasks(filter);
  });

  app.get('/v1/tasks/:id', read, async (request) => {
    const { id } = IdParamsSchema.parse(request.params);
    if (isRunId(id)) throw new NotFoundError('task', id);
    // Both reads at once: one round trip to the store instead of two.
    const [task, attempts] = await Promise.all([baton.get(id), baton.attempts(id)]);
    if (task === null) throw new NotFoundError('task', id);
    return { task, attempts };
  });

  app.get('/v1/tasks/:id/usage', read, async (request) => {
    const { id } = IdParamsSchema.parse(request.params);
    if (isRunId(id)) throw new NotFoundError('task', id);
    const [task, usage] = await Promise.all([baton.get(id), baton.usage(id)]);
    if (task === null) throw new NotFoundError('task', id);
    return { usage };
  });

  app.post('/v1/tasks/:id/cancel', submit, async (request) => {
    const { id } = IdParamsSchema.parse(request.params);
    const { reason } = CancelBodySchema.parse(request.body ?? {});
    if (isRunId(id)) throw new NotFoundError('task', id);
    return { task: await baton.cancel(id, reason) };
  });

  app.post('/v1/tasks/:id/retry', submit, async (request) => {
    const { id } = IdParamsSchema.parse(request.params);
    const { reason } = RetryBodySchema.parse(request.body ?? {});
    if (isRunId(id)) throw new NotFoundError('task', id);
    return { task: await baton.retry(id, reason === undefined ? {} : { reason }) };
  });

  app.get('/v1/runs', readWith(RunListQuerySchema), async (request) => {
    const q = RunListQuerySchema.parse(request.query);
    const page = await baton.runs({
      ...(q.order === undefined ? {} : { order: q.order }),
      ...(q.limit === undefined ? {} : { limit: q.limit }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
    });
    // Each run's budget, so the dashboard's list needs no request per run: one point read per
    // run on the page (≤ 100), the same read `GET /v1/costs?run=` makes (docs/http-api.md).
    const budgets = await Promise.all(page.runs.map((run) => baton.backend.budgetOf(run.id)));
    return {
      ...page,
      runs: page.runs.map((run, i) => {
        const b = budgets[i] ?? null;
        return {
          ...run,
          budget:
            b === null
              ? null
              : { limitUsd: b.limitUsd, spentUsd: b.spentUsd, reservedUsd: b.reservedUsd },
        };
      }),
    };
  });

  app.get('/v1/runs/:id', read, async (request) => {
    const { id } = IdParamsSchema.parse(request.params);
    const run = isRunId(id) ? await baton.getRun(id) : null;
    if (run === null) throw new NotFoundError('run', id);
    const tasks = await runTasks(baton, id);
    return {
      run: { ...run, result: runResult(tasks) },
      tasks,
      progress: run.progress,
      ...graphOf(tasks),
    };
  });

  app.post('/v1/runs/:id/cancel', submit, async (request) => {
    const { id } = IdParamsSchema.parse(request.params);
    const { reason } = CancelBodySchema.parse(request.body ?? {});
    if (!isRunId(id)) throw new NotFoundError('run', id);
    return { run: await baton.cancel(id, reason) };
  });

  app.get('/v1/agents', read, async () => ({ agents: await baton.agents() }));

  // What the request's token may do, so a client (the dashboard) shows only what it can use.
  app.get('/v1/auth', (request) => {
    const granted = auth.scopesOf(request.headers.authorization);
    return { open: auth.open, scopes: SCOPES.filter((scope) => granted.has(scope)) };
  });

  app.get('/v1/agents/available', readWith(AvailableAgentsQuerySchema), async (request) => {
    const q = AvailableAgentsQuerySchema.parse(request.query);
    const needs = (q.capability ?? '')
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c.length > 0);
    const agents = (await baton.agents()).filter(
      (a) =>
        a.state === 'active' &&
        a.health === 'ok' &&
        a.inFlight.length < a.concurrency &&
        needs.every((c) => a.capabilities.includes(c)),
    );
    return { agents };
  });

  app.get('/v1/stats', read, async () => await baton.stats());

  app.get('/v1/costs', readWith(CostsQuerySchema), async (request) => {
    const q = CostsQuerySchema.parse(request.query);
    return await baton.costs({
      ...(q.run === undefined ? {} : { runId: q.run }),
      ...(q.by === undefined ? {} : { by: q.by }),
    });
  });

  app.get('/v1/events/recent', readWith(RecentEventsQuerySchema), async (request) => {
    const q = RecentEventsQuerySchema.parse(request.query);
    return { events: await baton.backend.latestEvents({ types: q.type, limit: q.limit ?? 50 }) };
  });

  app.get('/v1/events', readWith(EventsQuerySchema), async (request, reply) => {
    const q = EventsQuerySchema.parse(request.query);
    const header = request.headers['last-event-id'];
    const lastEventId = Array.isArray(header) ? header[0] : header;
    // Resolve 'now' before the response starts, so a client that submits once it sees the
    // headers cannot miss the events of that submit.
    const since =
      lastEventId !== undefined && lastEventId !== ''
        ? lastEventId
        : q.since === undefined || q.since === 'now'
          ? ((await baton.lastEventId()) ?? undefined)
          : q.since === 'start'
            ? undefined
            : q.since;
    await checkSince(baton, since);
    const keep = eventFilter(q);
    await streamEvents(
      request,
      reply,
      streams,
      (signal) => baton.events({ ...(since === undefined ? {} : { since }), signal }),
      keep,
    );
  });

  app.get(
    '/v1/ws',
    {
      ...readWith(EventsQuerySchema),
      websocket: true,
      // Checked before the upgrade, so a bad query is a plain 400, not a closed socket.
      preValidation: async (request) => {
        const q = EventsQuerySchema.parse(request.query);
        if (q.since !== undefined && q.since !== 'now' && q.since !== 'start') {
          await checkSince(baton, q.since);
        }
      },
    },
    (socket, request) => {
      const q = EventsQuerySchema.parse(request.query);
      const controller = new AbortController();
      streams.add(controller);
      socket.once('close', () => controller.abort());
      socket.on('error', () => controller.abort());
      const keep = eventFilter(q);
      void (async () => {
        try {
          const since =
            q.since === undefined || q.since === 'now'
              ? ((await baton.lastEventId()) ?? undefined)
              : q.since === 'start'
                ? undefined
                : q.since;
          socket.send(JSON.stringify({ type: 'ready', since: since ?? null }));
          for await (const event of baton.events({
            ...(since === undefined ? {} : { since }),
            signal: controller.signal,
          })) {
            if (!keep(event)) continue;
            await new Promise<void>((resolve, reject) =>
              socket.send(JSON.stringify(event), (error) => (error ? reject(error) : resolve())),
            );
          }
        } catch (error) {
          if (!controller.signal.aborted) {
            request.log.error({ err: error }, 'websocket event stream failed');
            const code = error instanceof BatonError ? error.code : 'BATON_INTERNAL';
            socket.close(1011, code);
          }
        } finally {
          streams.delete(controller);
          if (socket.readyState === socket.OPEN) socket.close(1001, 'server closing');
        }
      })();
    },
  );

  registerWorkRoutes(app, baton, closing.signal);
  if (options.dashboard !== undefined && options.dashboard !== false) {
    await registerDashboard(app, options.dashboard === true ? {} : options.dashboard);
  }
  registerLogRoutes(app, baton, streams);
  registerMergeRoute(app, baton);
  registerExpertiseRoutes(app, baton, {
    dir: options.expertiseDir ?? process.cwd(),
    maxLines: options.expertiseMaxLines ?? 1000,
  });
  if (options.mcp !== false)
    registerMcpRoute(app, baton, auth, env, {
      ...(options.expertiseDir === undefined ? {} : { dir: options.expertiseDir }),
      ...(options.expertiseMaxLines === undefined ? {} : { maxLines: options.expertiseMaxLines }),
    });

  // HTTP agents have no SDK worker whose process sweeps: the server recovers their lost work.
  if (options.sweep !== false) {
    const sweeper = new Sweeper(baton.backend, {
      ...options.sweep,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
    app.addHook('onReady', (done) => {
      sweeper.start();
      done();
    });
    app.addHook('onClose', async () => {
      await sweeper.stop();
    });
  }

  if (options.metrics !== false) {
    const metrics = new Metrics(baton);
    let following: Promise<void> | undefined;
    app.addHook('onReady', (done) => {
      following = followEvents(baton, metrics, closing.signal, (error) =>
        app.log.warn({ err: error }, 'metrics: reading the event stream failed; retrying'),
      );
      done();
    });
    app.addHook('onClose', async () => {
      await following;
    });
    app.get('/metrics', read, async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    });
  }

  await app.ready();
  return app;
}

/**
 * Refuse a malformed resume id (400) before the stream starts, rather than in the middle of it:
 * the store validates it on a first read.
 */
async function checkSince(baton: Baton, since: string | undefined): Promise<void> {
  if (since !== undefined) await baton.backend.readEvents({ since, limit: 1, blockMs: 0 });
}

/** Keep only the events of the run, task and agent asked for. */
function eventFilter(q: {
  run?: string | undefined;
  task?: string | undefined;
  agent?: string | undefined;
}): (event: BatonEvent) => boolean {
  return (event) =>
    (q.run === undefined || event.runId === q.run) &&
    (q.task === undefined || event.taskId === q.task) &&
    (q.agent === undefined || event.agentId === q.agent);
}

/** The package's version; `src/server` and `dist/server` both sit two levels below package.json. */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The body of a JSON route; a YAML body there is the wrong media type. */
function jsonBody(request: FastifyRequest): unknown {
  if (typeof request.body === 'string' || isPlanJson(request.headers['content-type'])) {
    throw new HttpError(
      415,
      'BATON_UNSUPPORTED_MEDIA_TYPE',
      `${request.method} ${request.url} takes application/json`,
    );
  }
  if (request.body === undefined || request.body === null) {
    throw new HttpError(400, 'BATON_VALIDATION', 'the request needs a JSON body', {
      issues: [{ path: '', message: 'missing body' }],
    });
  }
  return request.body;
}

async function runTasks(baton: Baton, runId: string): Promise<TaskRecord[]> {
  const tasks: TaskRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = await baton.tasks({
      runId,
      limit: PAGE,
      ...(cursor === null ? {} : { cursor }),
    });
    tasks.push(...page.tasks);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return tasks;
}

/**
 * The run's DAG levels (task ids per Kahn level) and its critical path (the longest chain of
 * tasks, by count, in execution order, as task ids).
 */
function graphOf(tasks: readonly TaskRecord[]): {
  levels: string[][];
  criticalPath: string[];
} {
  const idByKey = new Map(tasks.map((t) => [t.key ?? `#${t.id}`, t.id]));
  const nodes = tasks.map((t) => ({
    key: t.key ?? `#${t.id}`,
    dependsOn: t.dependsOn.filter((d) => idByKey.has(d.key)),
  }));
  const analysis = analyzeDag(nodes);
  const levels: string[][] = [];
  for (const node of nodes) {
    const level = analysis.levels.get(node.key) ?? 0;
    (levels[level] ??= []).push(idByKey.get(node.key) ?? node.key);
  }
  const path = longestPath(nodes, () => 1).path.map((key) => idByKey.get(key) ?? key);
  return { levels: levels.map((l) => l ?? []), criticalPath: path };
}

/** Write events as Server-Sent Events until the client goes away or the server closes. */
async function streamEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  streams: Set<AbortController>,
  open: (signal: AbortSignal) => AsyncIterable<BatonEvent>,
  keep: (event: BatonEvent) => boolean,
): Promise<void> {
  await streamSse(request, reply, streams, open, (event) =>
    keep(event)
      ? `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`
      : null,
  );
}

/** Whether a Content-Type header names the plan-as-JSON media type (parameters aside). */
function isPlanJson(contentType: string | undefined): boolean {
  return contentType?.split(';', 1)[0]?.trim().toLowerCase() === PLAN_JSON_TYPE;
}

/**
 * Worktrees (docs/worktrees.md) name a repository on the machine that prepares the run: a plan
 * with `repo:`/`worktrees:` is submitted with `baton run` or `baton submit` there, never by an
 * HTTP client naming a path on the server's disk.
 */
function planWithoutWorktrees(plan: Plan): Plan {
  if (plan.workspace === null) return plan;
  throw new ValidationError([
    {
      path: 'repo',
      message:
        'a plan with repo:/worktrees: is submitted with `baton run` or `baton submit` on the machine that has the repository (docs/worktrees.md), not over HTTP',
    },
  ]);
}
