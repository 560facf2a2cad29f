/**
 * What clients and workers do when Redis goes away, on private redis-servers:
 * - a submit that cannot reach Redis fails at once with `StoreUnavailableError` (never a silent
 *   drop, never a hang), stores nothing, and the same client works again once Redis is back;
 * - a completion whose reply was lost (Redis ran it, the connection broke before the answer came
 *   back) can be sent again: the lease fences it, so the success is recorded once;
 * - a worker whose completion failed while Redis was down sends it again once Redis is back, so
 *   the attempt that ran is the one recorded, and the task does not run a second time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.ts';
import { openBackend } from '../../src/backends/open.ts';
import { StoreUnavailableError } from '../../src/core/errors.ts';
import type { BatonEvent, TaskSpec } from '../../src/core/types.ts';
import { Baton } from '../../src/runtime/baton.ts';
import { startPersistentServer, type PersistentServer } from '../helpers/redis-persistent.ts';
import {
  redisToolsAvailable,
  startServer,
  until,
  withConnection,
  type TestServer,
} from '../helpers/redis-server.ts';
import { startProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const ci = process.env.CI === 'true';
const tools = redisToolsAvailable();
const silent = pino({ level: 'silent' });
const NAMESPACE = 'faults';

/** Retry `fn` until it succeeds: calls fail while Redis is down or the client reconnects. */
async function retrying<T>(what: string, fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`${what} kept failing for ${timeoutMs} ms`, { cause: error });
      }
      await sleep(50);
    }
  }
}

/**
 * The call's rejection. A call that neither resolves nor rejects within 10 s hangs (it should
 * fail at once while Redis is down): fail the test with that, rather than at the test timeout.
 */
async function rejection(call: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('the call hung while Redis was down instead of failing')),
      10_000,
    );
  });
  try {
    await Promise.race([call, hung]);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('the call hung')) throw error;
    return error;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('the call succeeded while Redis was down');
}

async function allEvents(baton: Baton): Promise<BatonEvent[]> {
  const events: BatonEvent[] = [];
  for await (const event of baton.events({ follow: false })) events.push(event);
  return events;
}

describe.skipIf(!tools && !ci)('redis faults (private servers)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    // Clients first, then proxies, then servers; each runs even if an earlier one failed, so no
    // redis-server outlives the test.
    const errors: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => errors.push(error));
    }
    if (errors.length > 0) throw errors[0];
  });
  const needTools = (): void => {
    if (!tools) {
      throw new Error(
        'CI=true and redis-server/redis-cli are not installed: the Redis fault tests cannot run (apt-get install redis-server)',
      );
    }
  };
  const persistent = async (): Promise<PersistentServer> => {
    needTools();
    const server = await startPersistentServer({ appendfsync: 'always' });
    cleanups.push(() => server.destroy());
    return server;
  };
  const client = async (url: string): Promise<Baton> => {
    const baton = await Baton.open(url, { namespace: NAMESPACE, logger: silent });
    cleanups.push(() => baton.close());
    return baton;
  };

  it('a submit while Redis is down fails at once with StoreUnavailableError, stores nothing, and the client recovers', async () => {
    const server = await persistent();
    const baton = await client(server.url);
    const before = await baton.submit({ type: 'before' });

    await server.stop('SIGTERM');
    const error = await rejection(baton.submit({ type: 'during' }));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ code: 'BATON_STORE_UNAVAILABLE', retryable: true });
    expect((error as Error).message).toContain(server.url);
    expect((error as Error).message).toMatch(/unavailable.*check that Redis is running/s);
    // A run, and one large enough to be staged in chunks, fail the same way.
    const small: TaskSpec[] = [{ type: 'during', key: 'a' }];
    const large: TaskSpec[] = Array.from({ length: 1_200 }, (_, i) => ({
      type: 'during',
      key: `t${i}`,
    }));
    for (const tasks of [small, large]) {
      const runError = await rejection(baton.submitRun({ name: 'during', tasks }));
      expect(runError, `a run of ${tasks.length}`).toBeInstanceOf(StoreUnavailableError);
    }

    await server.start();
    // The same client reconnects by itself: a submit works again once it has.
    const after = await retrying('submitting after the restart', () =>
      baton.submit({ type: 'after' }),
    );
    const { tasks } = await baton.tasks({ limit: 10_000 });
    expect(tasks.map((t) => [t.id, t.type]).sort()).toEqual(
      [
        [before.id, 'before'],
        [after.id, 'after'],
      ].sort(),
    );
    expect((await baton.runs()).runs, 'no run was stored while Redis was down').toEqual([]);
    expect((await baton.stats()).byState.ready).toBe(2);
  });

  it('a completion whose reply was lost is fenced when sent again: the success is recorded once', async () => {
    needTools();
    const server: TestServer = await startServer();
    cleanups.push(() => server.stop());
    const proxy: TcpProxy = await startProxy(server.port);
    cleanups.push(() => proxy.close());
    const backend: Backend = await openBackend(`redis://127.0.0.1:${proxy.port}`, {
      namespace: NAMESPACE,
    });
    cleanups.push(() => backend.close());

    const [task] = await backend.submitTasks([{ type: 'work' }]);
    await backend.registerAgent({ id: 'agt_lost_ack', capabilities: [], concurrency: 1 });
    const [lease] = await backend.claim({
      agentId: 'agt_lost_ack',
      capabilities: [],
      max: 1,
      leaseTtlMs: 30_000,
    });
    expect(lease?.taskId).toBe(task!.id);
    const settle = {
      taskId: lease!.taskId,
      token: lease!.token,
      agentId: lease!.agentId,
      result: { answer: 42 },
    };

    // The completion reaches Redis and runs there; its reply never comes back.
    proxy.mode = 'drop-replies';
    const first = rejection(backend.complete([settle]));
    await until('the completion to be applied in Redis', 10_000, () =>
      withConnection(server.port, async (c) =>
        (await c.hget(`{baton:${NAMESPACE}}:t:${task!.id}`, 'state')) === 'succeeded' ? true : null,
      ),
    );
    proxy.cut();
    proxy.mode = 'pass';
    const lost = await first;
    expect(lost, 'the caller hears that the outcome is unknown').toBeInstanceOf(
      StoreUnavailableError,
    );
    expect((lost as Error).message).toMatch(/may or may not have been applied/);

    // Sent again once the client has reconnected: refused by the fence, nothing recorded twice.
    const [again] = await retrying('completing again after the reconnect', () =>
      backend.complete([settle]),
    );
    expect(again).toMatchObject({ taskId: task!.id, status: 'lease_lost' });
    expect(again?.status === 'lease_lost' ? again.reason : '').toMatch(/succeeded/);

    const stored = await backend.getTask(task!.id);
    expect(stored).toMatchObject({ state: 'succeeded', result: { answer: 42 }, attempts: 1 });
    const attempts = await backend.getAttempts(task!.id);
    expect(attempts.map((a) => [a.attempt, a.outcome, a.agentId])).toEqual([
      [1, 'succeeded', 'agt_lost_ack'],
    ]);
    const events = await backend.readEvents({ limit: 10_000 });
    expect(events.filter((e) => e.type === 'task.succeeded' && e.taskId === task!.id)).toHaveLength(
      1,
    );
    expect((await backend.stats()).byState).toMatchObject({ succeeded: 1, running: 0 });
  });

  it('a worker whose completion failed while Redis was down sends it again once Redis is back', async () => {
    const server = await persistent();
    const baton = await client(server.url);
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const worker = baton.worker({
      agentId: 'agt_outage',
      concurrency: 1,
      // Short enough that a completion given up on shows as a second attempt within the test;
      // long enough that neither the lease nor the agent runs out during the outage and the
      // reconnection (up to about 2 s more), which would rightly end the attempt.
      leaseTtlMs: 10_000,
      agentTtlMs: 10_000,
      handlers: {
        hold: async () => {
          calls++;
          started();
          await gate;
          return { done: true };
        },
      },
    });
    worker.on('error', () => undefined); // failed calls while Redis is down are expected
    await worker.start();
    const { id } = await baton.submit({ type: 'hold' });
    await running;

    await server.stop('SIGTERM');
    release(); // the handler returns while Redis is down: its completion cannot land now
    await sleep(500);
    await server.start();

    const done = await retrying('waiting for the task', () =>
      baton.wait(id, { timeoutMs: 20_000 }),
    );
    expect(done.state).toBe('succeeded');
    const attempts = await baton.attempts(id);
    expect(
      attempts.map((a) => [a.attempt, a.outcome, a.agentId]),
      'the attempt that ran is recorded as the success; the task did not run again',
    ).toEqual([[1, 'succeeded', 'agt_outage']]);
    expect(calls, 'handler calls').toBe(1);
    expect((await baton.get(id))?.result).toEqual({ done: true });
    const successes = (await allEvents(baton)).filter(
      (e) => e.type === 'task.succeeded' && e.taskId === id,
    );
    expect(successes).toHaveLength(1);
    await worker.stop();
  });

  it('an outage longer than the agent TTL does not get live agents declared lost', async () => {
    const server = await persistent();
    const baton = await client(server.url);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Default agent TTL (3 s) and sweep; the lease outlasts the outage.
    const holder = baton.worker({
      agentId: 'agt_holder',
      concurrency: 1,
      handlers: {
        hold: async () => {
          started();
          await gate;
          return 'held';
        },
      },
    });
    const sweeper = baton.worker({ agentId: 'agt_sweeper', handlers: { other: () => null } });
    for (const w of [holder, sweeper]) {
      w.on('error', () => undefined); // failed calls while Redis is down are expected
      await w.start();
    }
    const { id } = await baton.submit({ type: 'hold' });
    await running;

    await server.stop('SIGTERM');
    await sleep(4_000); // every heartbeat is now older than the 3 s TTL
    await server.start();
    // Both workers are back and sweeping; give the sweeps more than a TTL to judge.
    await sleep(4_500);
    release();

    const done = await retrying('waiting for the task', () =>
      baton.wait(id, { timeoutMs: 20_000 }),
    );
    expect(done.state).toBe('succeeded');
    expect(
      (await baton.attempts(id)).map((a) => a.outcome),
      'one attempt, not re-run',
    ).toEqual(['succeeded']);
    const lost = (await allEvents(baton)).filter((e) => e.type === 'agent.lost');
    expect(lost, 'no agent.lost for agents that were alive all along').toEqual([]);
    await holder.stop();
    await sweeper.stop();
  });
});
