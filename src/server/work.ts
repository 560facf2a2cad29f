/**
 * The worker protocol over HTTP, so a worker in any language can take tasks: register an agent,
 * heartbeat, claim (long-polling on the backend's `waitForWork`), and renew, complete, fail or
 * release (give back for later, uncounted) each lease with its fencing token. A stale token is
 * refused with 409 `BATON_LEASE_LOST`, exactly as the SDK's worker is refused.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

import { assertSettled, type SettleOutcome } from '../backends/backend.ts';
import { AgentLostError } from '../core/errors.ts';
import type { AgentSpec, Lease, TaskError } from '../core/types.ts';
import type { Baton } from '../runtime/baton.ts';
import type { Scope } from './auth.ts';
import {
  AgentSpecSchema,
  ClaimBodySchema,
  CompleteBodySchema,
  FailBodySchema,
  HeartbeatBodySchema,
  IdParamsSchema,
  ReleaseBodySchema,
  RenewBodySchema,
} from './schemas.ts';
import { z } from 'zod';

const DEFAULT_LEASE_TTL_MS = 30_000;
const TaskIdParamsSchema = z.strictObject({ taskId: z.string().min(1) });

/** Register the worker routes (scope `work`). `closing` aborts long-polls when the server stops. */
export function registerWorkRoutes(app: FastifyInstance, baton: Baton, closing: AbortSignal): void {
  const backend = baton.backend;
  const work = { config: { scope: 'work' as Scope } };

  app.post('/v1/agents', work, async (request, reply) => {
    const spec = AgentSpecSchema.parse(request.body ?? null) as AgentSpec;
    return reply.status(201).send(await backend.registerAgent(spec));
  });

  app.post('/v1/agents/:id/heartbeat', work, async (request) => {
    const { id } = IdParamsSchema.parse(request.params);
    const { report } = HeartbeatBodySchema.parse(request.body ?? {});
    await backend.heartbeat(id, report);
    return { ok: true };
  });

  app.post('/v1/agents/:id/claim', work, async (request) => {
    const { id } = IdParamsSchema.parse(request.params);
    const body = ClaimBodySchema.parse(request.body ?? {});
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
        await backend.release(leases.map((l) => ({ taskId: l.taskId, token: l.token })));
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
    const [outcome] = await backend.complete([
      {
        taskId,
        token: body.token,
        result: body.result ?? null,
        ...(body.runMs === undefined ? {} : { runMs: body.runMs }),
      },
    ]);
    return settled(outcome, taskId, body.token);
  });

  app.post('/v1/leases/:taskId/fail', work, async (request) => {
    const { taskId } = TaskIdParamsSchema.parse(request.params);
    const body = FailBodySchema.parse(request.body ?? null);
    const [outcome] = await backend.fail([
      {
        taskId,
        token: body.token,
        error: body.error as TaskError,
        ...(body.retryable === undefined ? {} : { retryable: body.retryable }),
        ...(body.retryDelayMs === undefined ? {} : { retryDelayMs: body.retryDelayMs }),
        ...(body.runMs === undefined ? {} : { runMs: body.runMs }),
      },
    ]);
    return settled(outcome, taskId, body.token);
  });

  // "Not now" (the SDK's DeferError): the attempt is not counted, the task waits `delayMs`.
  app.post('/v1/leases/:taskId/release', work, async (request) => {
    const { taskId } = TaskIdParamsSchema.parse(request.params);
    const body = ReleaseBodySchema.parse(request.body ?? null);
    const [outcome] = await backend.release([
      {
        taskId,
        token: body.token,
        ...(body.delayMs === undefined ? {} : { delayMs: body.delayMs }),
        ...(body.reason === undefined ? {} : { reason: body.reason }),
      },
    ]);
    return settled(outcome, taskId, body.token);
  });
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
