/**
 * The worker protocol over HTTP, so a worker in any language can take tasks: register an agent,
 * heartbeat, claim (long-polling on the backend's `waitForWork`), and renew, complete, fail or
 * release (give back for later, uncounted) each lease with its fencing token and the id of the
 * agent that holds it. A stale token, or an agent that does not hold the lease, is refused with
 * 409 `BATON_LEASE_LOST`, exactly as the SDK's worker is refused.
 *
 * With API tokens, each agent is bound to the token that registered it ({@link AgentOwners}):
 * a call about an agent (register again, heartbeat, claim, and each lease call's holder) with
 * any other token is refused with 403 `BATON_FORBIDDEN`, and nothing changes. So an agent id
 * proves who is calling, and a lease can be settled only through the token of its holder.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

import {
  assertSettled,
  type Backend,
  type LogLineInput,
  type SettleOutcome,
} from '../backends/backend.ts';
import { AgentLostError, BatonError, LeaseLostError, NotFoundError } from '../core/errors.ts';
import type { AgentRecord, AgentSpec, Lease, TaskError } from '../core/types.ts';
import type { Baton } from '../runtime/baton.ts';
import type { Scope } from './auth.ts';
import { HttpError } from './errors.ts';
import {
  AgentSpecSchema,
  ClaimBodySchema,
  CompleteBodySchema,
  FailBodySchema,
  HeartbeatBodySchema,
  IdParamsSchema,
  LogsBodySchema,
  ReleaseBodySchema,
  ReleaseReservationQuerySchema,
  RenewBodySchema,
  ReservationParamsSchema,
  ReserveBodySchema,
  UsageBodySchema,
} from './schemas.ts';
import { z } from 'zod';

const DEFAULT_LEASE_TTL_MS = 30_000;
const TaskIdParamsSchema = z.strictObject({ taskId: z.string().min(1) });

/** Register the worker routes (scope `work`). `closing` aborts long-polls when the server stops. */
export function registerWorkRoutes(app: FastifyInstance, baton: Baton, closing: AbortSignal): void {
  const backend = baton.backend;
  const owners = new AgentOwners(backend);
  const work = { config: { scope: 'work' as Scope } };

  app.post('/v1/agents', work, async (request, reply) => {
    const spec = AgentSpecSchema.parse(request.body ?? null) as AgentSpec;
    const owner = request.tokenOwner;
    const agent = await owners.register(
      owner === null ? spec : { ...spec, owner },
      spec.id ?? null,
    );
    return reply.status(201).send(agent);
  });

  app.post('/v1/agents/:id/heartbeat', work, async (request) => {
    const { id } = IdParamsSchema.parse(request.params);
    const { report } = HeartbeatBodySchema.parse(request.body ?? {});
    await owners.check(id, request.tokenOwner);
    await backend.heartbeat(
      id,
      report === undefined
        ? undefined
        : {
            cpuPercent: report.cpuPercent,
            rssBytes: report.rssBytes,
            ...(report.abandonedHandlers === undefined
              ? {}
              : { abandonedHandlers: report.abandonedHandlers }),
          },
    );
    return { ok: true };
  });

  app.post('/v1/agents/:id/claim', work, async (request) => {
    const { id } = IdParamsSchema.parse(request.params);
    const body = ClaimBodySchema.parse(request.body ?? {});
    await owners.check(id, request.tokenOwner);
    const capabilities = body.capabilities ?? (await registeredCapabilities(baton, id));
    const types = body.types;
    const claim = (): Promise<Lease[]> =>
      backend.claim({
        agentId: id,
        capabilities,
        ...(types === undefined ? {} : { types }),
        max: body.max ?? 1,
        leaseTtlMs: body.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
      });
    let leases = await claim();
    const waitMs = body.waitMs ?? 0;
    if (leases.length > 0 || waitMs === 0) return { leases };
    const deadline = Date.now() + waitMs;
    const client = disconnected(request);
    const signal = AbortSignal.any([closing, client.signal]);
    try {
      while (leases.length === 0 && !signal.aborted) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await backend.waitForWork({
          capabilities,
          ...(types === undefined ? {} : { types }),
          agentId: id,
          timeoutMs: left,
          signal,
        });
        if (signal.aborted) break;
        leases = await claim();
      }
      if (signal.aborted && leases.length > 0) {
        // Nobody is there to receive them: give them back rather than let them expire.
        await backend.release(
          leases.map((l) => ({ taskId: l.taskId, token: l.token, agentId: l.agentId })),
        );
        leases = [];
      }
    } finally {
      client.dispose();
    }
    return { leases };
  });

  app.post('/v1/leases/:taskId/renew', work, async (request) => {
    const { taskId } = TaskIdParamsSchema.parse(request.params);
    const body = RenewBodySchema.parse(request.body ?? null);
    await owners.check(body.agentId, request.tokenOwner);
    const [outcome] = await backend.renew(
      body.agentId,
      [{ taskId, token: body.token }],
      body.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
    );
    return settled(outcome, taskId, body.token);
  });

  app.post('/v1/leases/:taskId/complete', work, async (request) => {
    const { taskId } = TaskIdParamsSchema.parse(request.params);
    const body = CompleteBodySchema.parse(request.body ?? null);
    await owners.check(body.agentId, request.tokenOwner);
    const [outcome] = await backend.complete([
      {
        taskId,
        token: body.token,
        agentId: body.agentId,
        result: body.result ?? null,
        ...(body.runMs === undefined ? {} : { runMs: body.runMs }),
        ...(body.logs === undefined ? {} : { logs: lineInputs(body.logs) }),
      },
    ]);
    return settled(outcome, taskId, body.token);
  });

  app.post('/v1/leases/:taskId/fail', work, async (request) => {
    const { taskId } = TaskIdParamsSchema.parse(request.params);
    const body = FailBodySchema.parse(request.body ?? null);
    await owners.check(body.agentId, request.tokenOwner);
    const [outcome] = await backend.fail([
      {
        taskId,
        token: body.token,
        agentId: body.agentId,
        error: body.error as TaskError,
        ...(body.retryable === undefined ? {} : { retryable: body.retryable }),
        ...(body.retryDelayMs === undefined ? {} : { retryDelayMs: body.retryDelayMs }),
        ...(body.runMs === undefined ? {} : { runMs: body.runMs }),
        ...(body.logs === undefined ? {} : { logs: lineInputs(body.logs) }),
      },
    ]);
    return settled(outcome, taskId, body.token);
  });

  // "Not now" (the SDK's DeferError): the attempt is not counted, the task waits `delayMs`.
  app.post('/v1/leases/:taskId/release', work, async (request) => {
    const { taskId } = TaskIdParamsSchema.parse(request.params);
    const body = ReleaseBodySchema.parse(request.body ?? null);
    await owners.check(body.agentId, request.tokenOwner);
    const [outcome] = await backend.release([
      {
        taskId,
        token: body.token,
        agentId: body.agentId,
        ...(body.delayMs === undefined ? {} : { delayMs: body.delayMs }),
        ...(body.reason === undefined ? {} : { reason: body.reason }),
        ...(body.logs === undefined ? {} : { logs: lineInputs(body.logs) }),
      },
    ]);
    return settled(outcome, taskId, body.token);
  });

  // Lines of the attempt's log while it runs (docs/logs.md); the last ones can go with its outcome.
  app.post('/v1/leases/:taskId/logs', work, async (request) => {
    const { taskId } = TaskIdParamsSchema.parse(request.params);
    const body = LogsBodySchema.parse(request.body ?? null);
    await owners.check(body.agentId, request.tokenOwner);
    const [outcome] = await backend.appendLogs([
      { taskId, token: body.token, agentId: body.agentId, lines: lineInputs(body.lines) },
    ]);
    if (outcome?.status !== 'ok') {
      // No such task is a 404; a token it never had, or another agent's attempt, a 409.
      if (outcome === undefined || (await backend.getTask(taskId)) === null) {
        throw new NotFoundError('task', taskId);
      }
      throw new LeaseLostError(taskId, body.token, outcome.reason);
    }
    return { taskId, lines: body.lines.length };
  });

  // The ledger for agents that call models themselves (docs/costs.md#agents-over-http), through
  // the same Ledger a worker's ctx.costs uses: priced, fenced and held by one rule.
  const ledger = baton.ledger;

  // One call's usage, recorded against the attempt the token names whether or not its lease is
  // still held (the money was spent); refused (409) when agentId never held that attempt.
  app.post('/v1/leases/:taskId/usage', work, async (request, reply) => {
    const { taskId } = TaskIdParamsSchema.parse(request.params);
    const body = UsageBodySchema.parse(request.body ?? null);
    await owners.check(body.agentId, request.tokenOwner);
    const record = await ledger.recordUsage(
      { taskId, token: body.token, agentId: body.agentId },
      {
        provider: body.provider,
        model: body.model,
        inputTokens: body.inputTokens,
        outputTokens: body.outputTokens,
        ...(body.cacheReadTokens === undefined ? {} : { cacheReadTokens: body.cacheReadTokens }),
        ...(body.cacheWriteTokens === undefined ? {} : { cacheWriteTokens: body.cacheWriteTokens }),
        ...(body.reasoningTokens === undefined ? {} : { reasoningTokens: body.reasoningTokens }),
        ...(body.costUsd === undefined ? {} : { costUsd: body.costUsd }),
        ...(body.basis === undefined ? {} : { basis: body.basis }),
      },
      body.reservationId === undefined ? {} : { reservationId: body.reservationId },
    );
    return reply.status(201).send(record);
  });

  // Hold a call's worst case under the run's and task's budgets while the lease is held:
  // 409 BATON_BUDGET_EXCEEDED when it does not fit, BATON_LEASE_LOST when the lease is not held.
  app.post('/v1/leases/:taskId/reservations', work, async (request, reply) => {
    const { taskId } = TaskIdParamsSchema.parse(request.params);
    const body = ReserveBodySchema.parse(request.body ?? null);
    await owners.check(body.agentId, request.tokenOwner);
    const holder = { taskId, token: body.token, agentId: body.agentId };
    let reservation;
    if (body.call !== undefined) {
      const task = await backend.getTask(taskId);
      if (task === null) throw new NotFoundError('task', taskId);
      reservation = await ledger.reserveCall({ ...holder, task: { runId: task.runId } }, body.call);
    } else {
      reservation = await ledger.reserveBudget(holder, body.usd ?? 0);
    }
    return reply.status(201).send(reservation);
  });

  // Give back a reservation whose call never happened. The agent must have held the attempt.
  const releaseConfig = { config: { ...work.config, query: ReleaseReservationQuerySchema } };
  app.delete('/v1/leases/:taskId/reservations/:reservationId', releaseConfig, async (request) => {
    const { taskId, reservationId } = ReservationParamsSchema.parse(request.params);
    const query = ReleaseReservationQuerySchema.parse(request.query ?? {});
    await owners.check(query.agentId, request.tokenOwner);
    const attempts = await backend.getAttempts(taskId);
    if (attempts.length === 0 && (await backend.getTask(taskId)) === null) {
      throw new NotFoundError('task', taskId);
    }
    if (!attempts.some((a) => a.attempt === query.token && a.agentId === query.agentId)) {
      throw new LeaseLostError(
        taskId,
        query.token,
        `agent ${query.agentId} never held attempt ${query.token} of it`,
      );
    }
    return { released: await ledger.releaseReservation(reservationId, taskId) };
  });
}

/** Log lines as the request schema parsed them, as the backend takes them (no undefined fields). */
function lineInputs(
  lines: readonly {
    text: string;
    stream?: LogLineInput['stream'];
    level?: LogLineInput['level'];
  }[],
): LogLineInput[] {
  return lines.map((line) => ({
    text: line.text,
    ...(line.stream === undefined ? {} : { stream: line.stream }),
    ...(line.level === undefined ? {} : { level: line.level }),
  }));
}

/** The answer of a settled lease, or the error every backend reports for a refused one. */
function settled(
  outcome: SettleOutcome | undefined,
  taskId: string,
  token: number,
): { taskId: string; state: string; expiresAt?: number } {
  assertSettled(outcome, { taskId, token });
  const ok = outcome as Extract<SettleOutcome, { status: 'ok' }>;
  return {
    taskId: ok.taskId,
    state: ok.state,
    ...(ok.expiresAt === undefined ? {} : { expiresAt: ok.expiresAt }),
  };
}

/** Bindings remembered per server, at most; they never change, so forgetting only costs a read. */
const MAX_REMEMBERED_OWNERS = 10_000;

/**
 * Binds each agent to the API token that registered it. The binding is the token's owner
 * fingerprint (auth.ts `tokenOwner`, never the token) stored with the agent
 * (`AgentSpec.owner`), so it survives a restart of the server and holds across several servers
 * on one store; the store refuses registering an id with another owner atomically. An agent's
 * owner never changes once the agent exists, so a binding read once is remembered, and a check
 * that passed cannot be undone by a registration racing it.
 */
class AgentOwners {
  readonly #backend: Backend;
  /** Owner by agent id (null: registered without a token), as stored. */
  readonly #known = new Map<string, string | null>();

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /**
   * Register (again) an agent; refused with 403 when the id is bound to another token (or to
   * none, when this request has one).
   */
  async register(spec: AgentSpec, id: string | null): Promise<AgentRecord> {
    try {
      const agent = await this.#backend.registerAgent(spec);
      this.#remember(agent.id, spec.owner ?? null);
      return agent;
    } catch (error) {
      if (id !== null && error instanceof BatonError && error.details.reason === 'owner') {
        throw forbidden(id);
      }
      throw error;
    }
  }

  /**
   * Let a call about `agentId` through when the request's token (`owner`) registered it. Without
   * tokens (`owner` null) nothing is bound. An agent that is not registered cannot be acted for
   * (409 `BATON_AGENT_LOST`, as the store answers); one bound to another token is refused (403).
   */
  async check(agentId: string, owner: string | null): Promise<void> {
    if (owner === null) return;
    let bound = this.#known.get(agentId);
    if (bound === undefined) {
      const found = await this.#backend.agentOwner(agentId);
      if (found === null) throw new AgentLostError(agentId);
      bound = found.owner;
      this.#remember(agentId, bound);
    }
    if (bound !== owner) throw forbidden(agentId);
  }

  #remember(agentId: string, owner: string | null): void {
    if (this.#known.size >= MAX_REMEMBERED_OWNERS) this.#known.clear();
    this.#known.set(agentId, owner);
  }
}

function forbidden(agentId: string): HttpError {
  return new HttpError(
    403,
    'BATON_FORBIDDEN',
    `agent ${agentId} was registered with another API token (or without one): only that token can act for it; register a new agent with this token`,
    { agentId },
  );
}

async function registeredCapabilities(baton: Baton, agentId: string): Promise<string[]> {
  const agent = (await baton.agents()).find((a) => a.id === agentId);
  if (agent === undefined || agent.state !== 'active') throw new AgentLostError(agentId);
  return agent.capabilities;
}

/**
 * A signal that aborts when the client's connection closes before the answer is sent, and a
 * function that stops listening (keep-alive sockets outlive requests).
 */
function disconnected(request: FastifyRequest): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const socket = request.raw.socket;
  const onClose = (): void => controller.abort();
  socket.once('close', onClose);
  return { signal: controller.signal, dispose: () => socket.off('close', onClose) };
}
