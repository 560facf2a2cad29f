import { describe, expect, it, vi } from 'vitest';
import {
  CancelledError,
  DeferError,
  LeaseLostError,
  NonRetryableError,
  TimeoutError,
} from '../../src/core/errors.ts';
import type { Json, Lease, RunRecord, TaskRecord } from '../../src/core/types.ts';
import pino from 'pino';
import { Baton } from '../../src/runtime/baton.ts';
import type { TaskContext, TaskHandler } from '../../src/runtime/worker.ts';
import { LEVEL, aborted, deferred, useHarness } from './harness.ts';

const h = useHarness();

/** Counts handlers running at once and remembers the most seen. */
function overlapCounter() {
  let running = 0;
  let max = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    enter() {
      running++;
      max = Math.max(max, running);
      for (const w of waiters.filter((w) => running >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    },
    leave() {
      running--;
    },
    get max() {
      return max;
    },
    /** Resolves once `n` handlers run at the same time. */
    reach(n: number): Promise<void> {
      if (running >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
  };
}

describe('worker', () => {
  it('runs a submitted task; wait returns the succeeded record with the result', async () => {
    const baton = await h.baton();
    const seen: Partial<TaskContext>[] = [];
    const worker = await h.startWorker(baton, {
      handlers: {
        echo: (ctx) => {
          seen.push({ payload: ctx.payload, attempt: ctx.attempt, agentId: ctx.agentId });
          return { echoed: ctx.payload };
        },
      },
    });
    const submitted = await baton.submit({ type: 'echo', payload: { hello: 'world' } });
    const done = (await baton.wait(submitted.id)) as TaskRecord;
    expect(done.state).toBe('succeeded');
    expect(done.result).toEqual({ echoed: { hello: 'world' } });
    expect(done.attempts).toBe(1);
    expect(seen).toEqual([{ payload: { hello: 'world' }, attempt: 1, agentId: worker.agentId }]);
    const attempts = await baton.attempts(submitted.id);
    expect(attempts.map((a) => [a.outcome, a.agentId])).toEqual([['succeeded', worker.agentId]]);
    await worker.stop();
  });

  it('a handler returning nothing stores null', async () => {
    const baton = await h.baton();
    const worker = await h.startWorker(baton, { handlers: { noop: () => undefined } });
    const { id } = await baton.submit({ type: 'noop' });
    const done = (await baton.wait(id)) as TaskRecord;
    expect(done.state).toBe('succeeded');
    expect(done.result).toBeNull();
    await worker.stop();
  });

  it('runs a diamond DAG: B and C overlap, D sees both results', async () => {
    const baton = await h.baton();
    const counter = overlapCounter();
    let dDeps: TaskContext['dependencies'] | undefined;
    const worker = await h.startWorker(baton, {
      concurrency: 4,
      handlers: {
        step: async ({ payload, dependencies }) => {
          const name = (payload as { name: string }).name;
          if (name === 'B' || name === 'C') {
            counter.enter();
            // Each of B and C waits until both run: this only finishes if they overlap.
            await counter.reach(2);
            counter.leave();
            return `${name}-result`;
          }
          if (name === 'D') dDeps = dependencies;
          return `${name}-result`;
        },
      },
    });
    const { runId, tasks } = await baton.submitRun({
      name: 'diamond',
      tasks: [
        { key: 'A', type: 'step', payload: { name: 'A' } },
        { key: 'B', type: 'step', payload: { name: 'B' }, dependsOn: ['A'] },
        { key: 'C', type: 'step', payload: { name: 'C' }, dependsOn: ['A'] },
        { key: 'D', type: 'step', payload: { name: 'D' }, dependsOn: ['B', 'C'] },
      ],
    });
    const run = (await baton.wait(runId, { timeoutMs: 20_000 })) as RunRecord;
    expect(run.state).toBe('succeeded');
    expect(counter.max).toBe(2);
    expect(dDeps?.['B']).toMatchObject({ key: 'B', state: 'succeeded', result: 'B-result' });
    expect(dDeps?.['C']).toMatchObject({ key: 'C', state: 'succeeded', result: 'C-result' });
    expect(Object.keys(dDeps ?? {}).sort()).toEqual(['B', 'C']);
    const d = await baton.get(tasks.find((t) => t.key === 'D')!.id);
    expect(d?.result).toBe('D-result');
    await worker.stop();
  });

  /**
   * Run `tasks` tasks on a worker of `concurrency` slots whose handlers yield to the event loop
   * a few times (so other claimed handlers get to start); the most that ran at once.
   */
  async function mostAtOnce(baton: Baton, concurrency: number, tasks: number): Promise<number> {
    const counter = overlapCounter();
    const worker = await h.startWorker(baton, {
      concurrency,
      handlers: {
        work: async () => {
          counter.enter();
          for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
          counter.leave();
          return null;
        },
      },
    });
    const { runId } = await baton.submitRun({
      tasks: Array.from({ length: tasks }, (_, i) => ({ key: `t${i}`, type: 'work' })),
    });
    const run = (await baton.wait(runId)) as RunRecord;
    expect(run.state).toBe('succeeded');
    expect(run.progress.byState.succeeded).toBe(tasks);
    await worker.stop();
    return counter.max;
  }

  it('never runs more handlers at once than its concurrency', async () => {
    // 12 ready tasks and 3 slots: the first claim takes 3 at once, and never more.
    expect(await mostAtOnce(await h.baton(), 3, 12)).toBe(3);
  });

  it('with many slots claims in two halves, fills every slot and never more', async () => {
    const baton = await h.baton();
    const claims: number[] = [];
    const claim = baton.backend.claim.bind(baton.backend);
    baton.backend.claim = (request) => {
      claims.push(request.max);
      return claim(request);
    };
    // Each claim asks for at most half the slots; two of them together fill all ten.
    expect(await mostAtOnce(baton, 10, 60)).toBe(10);
    expect(Math.max(...claims)).toBe(5);
  });

  it('retries a failing handler until it succeeds', async () => {
    const baton = await h.baton();
    let calls = 0;
    const failures: { willRetry: boolean; message: string }[] = [];
    const worker = await h.startWorker(baton, {
      handlers: {
        flaky: ({ attempt }) => {
          calls++;
          if (attempt < 3) throw new Error(`boom ${attempt}`);
          return 'third time lucky';
        },
      },
    });
    worker.on('task:failed', ({ error, willRetry }) =>
      failures.push({ willRetry, message: error.message }),
    );
    const { id } = await baton.submit({
      type: 'flaky',
      maxAttempts: 3,
      backoff: { baseMs: 1, maxMs: 5, jitter: 'none' },
    });
    const done = (await baton.wait(id)) as TaskRecord;
    expect(done.state).toBe('succeeded');
    expect(done.attempts).toBe(3);
    expect(done.result).toBe('third time lucky');
    expect(calls).toBe(3);
    expect(failures).toEqual([
      { willRetry: true, message: 'boom 1' },
      { willRetry: true, message: 'boom 2' },
    ]);
    const attempts = await baton.attempts(id);
    expect(attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'succeeded']);
    expect(attempts[0]?.error).toMatchObject({ message: 'boom 1', name: 'Error', retryable: true });
    await worker.stop();
  });

  it('reports how long each handler ran with its outcome, within its attempt', async () => {
    const baton = await h.baton();
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const worker = await h.startWorker(baton, {
      handlers: {
        slow: async ({ attempt }) => {
          await sleep(attempt === 1 ? 40 : 80);
          if (attempt === 1) throw new Error('first try fails');
          return 'done';
        },
      },
    });
    const { id } = await baton.submit({
      type: 'slow',
      maxAttempts: 2,
      backoff: { baseMs: 1, maxMs: 5, jitter: 'none' },
    });
    expect(((await baton.wait(id)) as TaskRecord).state).toBe('succeeded');
    const attempts = await baton.attempts(id);
    expect(attempts.map((a) => a.outcome)).toEqual(['failed', 'succeeded']);
    for (const [a, slept] of [
      [attempts[0]!, 40],
      [attempts[1]!, 80],
    ] as const) {
      // A timer fires no sooner than asked (give or take the rounding to whole ms), and the
      // handler runs between the claim and the recorded outcome.
      expect(a.runMs, `attempt ${a.attempt}`).toBeGreaterThanOrEqual(slept - 1);
      expect(a.runMs!, `attempt ${a.attempt}`).toBeLessThanOrEqual(a.finishedAt! - a.startedAt + 1);
    }
    await worker.stop();
  });

  it('fails at once on NonRetryableError, keeping the error details', async () => {
    const baton = await h.baton();
    let calls = 0;
    const worker = await h.startWorker(baton, {
      handlers: {
        fatal: () => {
          calls++;
          throw new NonRetryableError('the input is wrong; do not retry');
        },
      },
    });
    const { id } = await baton.submit({ type: 'fatal', maxAttempts: 5 });
    const done = (await baton.wait(id)) as TaskRecord;
    expect(done.state).toBe('failed');
    expect(done.attempts).toBe(1);
    expect(calls).toBe(1);
    expect(done.error).toMatchObject({
      message: 'the input is wrong; do not retry',
      code: 'BATON_NON_RETRYABLE',
      name: 'NonRetryableError',
      retryable: false,
    });
    expect(done.error?.stack).toContain('NonRetryableError');
    await worker.stop();
  });

  it('treats any error with retryable === false as final', async () => {
    const baton = await h.baton();
    const worker = await h.startWorker(baton, {
      handlers: {
        fatal: () => {
          throw Object.assign(new Error('quota exhausted'), { code: 'QUOTA', retryable: false });
        },
      },
    });
    const { id } = await baton.submit({ type: 'fatal', maxAttempts: 5 });
    const done = (await baton.wait(id)) as TaskRecord;
    expect(done.state).toBe('failed');
    expect(done.attempts).toBe(1);
    expect(done.error).toMatchObject({
      message: 'quota exhausted',
      code: 'QUOTA',
      retryable: false,
    });
    await worker.stop();
  });

  it('routes by type: two workers with different handlers on one store each run only their types', async () => {
    // Two clients on the same SQLite file: two processes' worth of connections.
    const one = await h.open();
    const two = await h.open();
    const ranOn = new Map<string, string>();
    const record: TaskHandler = ({ task, agentId }) => {
      ranOn.set(task.id, agentId);
      return task.type;
    };
    // Same capabilities: only the task type tells the workers apart.
    const alpha = await h.startWorker(one, { capabilities: ['cpu'], handlers: { alpha: record } });
    const beta = await h.startWorker(two, { capabilities: ['cpu'], handlers: { beta: record } });
    const { runId, tasks } = await one.submitRun({
      tasks: Array.from({ length: 12 }, (_, i) => ({
        key: `t${i}`,
        type: i % 2 === 0 ? 'alpha' : 'beta',
        requires: ['cpu'],
      })),
    });
    const run = (await one.wait(runId, { timeoutMs: 20_000 })) as RunRecord;
    expect(run.state, 'no task failed for want of a handler').toBe('succeeded');
    for (const [i, t] of tasks.entries()) {
      const expected = i % 2 === 0 ? alpha.agentId : beta.agentId;
      expect(ranOn.get(t.id), `task ${t.key} ran on the worker for its type`).toBe(expected);
      const attempts = await one.attempts(t.id);
      expect(
        attempts.map((a) => [a.agentId, a.outcome]),
        `task ${t.key} was claimed once, by the right worker`,
      ).toEqual([[expected, 'succeeded']]);
    }
    await Promise.all([alpha.stop(), beta.stop()]);
  });

  it('leaves a task of a type it has no handler for ready, for a worker that has one', async () => {
    const baton = await h.baton();
    const worker = await h.startWorker(baton, { handlers: { alpha: () => 1, beta: () => 2 } });
    const gamma = await baton.submit({ type: 'gamma', maxAttempts: 3 });
    const alpha = await baton.submit({ type: 'alpha' });
    expect(((await baton.wait(alpha.id)) as TaskRecord).state).toBe('succeeded');
    await worker.onIdle();
    const left = await baton.get(gamma.id);
    expect(left?.state, 'not claimed, not failed').toBe('ready');
    expect(left?.attempts).toBe(0);
    await worker.stop();
    const gammaWorker = await h.startWorker(baton, { handlers: { gamma: () => 'finally' } });
    expect(((await baton.wait(gamma.id)) as TaskRecord).result).toBe('finally');
    await gammaWorker.stop();
  });

  it('fails a task of a type it has no handler for at once, if a backend ignores the types filter', async () => {
    const opened = await h.baton();
    // A broken adapter: it drops the types filter of claims and waits.
    const untyped = new Proxy(opened.backend, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (property === 'claim' || property === 'waitForWork') {
            const { types: _types, ...rest } = args[0] as { types?: unknown };
            args[0] = rest;
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const baton = Baton.fromBackend(untyped, { logger: pino({ level: 'silent' }) });
    const worker = await h.startWorker(baton, { handlers: { alpha: () => 1, beta: () => 2 } });
    const { id } = await baton.submit({ type: 'gamma', maxAttempts: 3 });
    const done = (await baton.wait(id)) as TaskRecord;
    expect(done.state).toBe('failed');
    expect(done.attempts).toBe(1);
    expect(done.error?.code).toBe('BATON_NO_HANDLER');
    expect(done.error?.retryable).toBe(false);
    expect(done.error?.message).toContain('"gamma"');
    expect(done.error?.message).toContain('"alpha", "beta"');
    await worker.stop();
  });

  it('fires the AbortSignal with a TimeoutError and records the attempt timed_out', async () => {
    const baton = await h.baton();
    const reasons: unknown[] = [];
    const handlerReturned = deferred();
    const worker = await h.startWorker(baton, {
      handlers: {
        slow: async ({ signal }) => {
          reasons.push(await aborted(signal));
          handlerReturned.resolve();
          return 'too late';
        },
      },
    });
    const { id } = await baton.submit({ type: 'slow', timeoutMs: 50, maxAttempts: 1 });
    const done = (await baton.wait(id)) as TaskRecord;
    // The worker's timer and the sweep race to time the attempt out; either way the handler
    // must be told it timed out.
    await handlerReturned.promise;
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ code: 'BATON_TIMEOUT', retryable: true });
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(TimeoutError);
    const attempts = await baton.attempts(id);
    expect(attempts.map((a) => a.outcome)).toEqual(['timed_out']);
    await worker.stop();
  });

  it('a timed-out attempt is retried when attempts remain', async () => {
    const baton = await h.baton();
    const worker = await h.startWorker(baton, {
      handlers: {
        slowOnce: async ({ signal, attempt }) => {
          if (attempt === 1) await aborted(signal);
          return attempt;
        },
      },
    });
    const { id } = await baton.submit({
      type: 'slowOnce',
      timeoutMs: 50,
      maxAttempts: 2,
      backoff: { baseMs: 1, jitter: 'none' },
    });
    const done = (await baton.wait(id)) as TaskRecord;
    expect(done.state).toBe('succeeded');
    expect(done.result).toBe(2);
    expect((await baton.attempts(id)).map((a) => a.outcome)).toEqual(['timed_out', 'succeeded']);
    await worker.stop();
  });

  it('cancelling a running task fires its AbortSignal with a CancelledError', async () => {
    const baton = await h.baton();
    const started = deferred();
    const reason = deferred<unknown>();
    const cancelledEvents: string[] = [];
    const worker = await h.startWorker(baton, {
      heartbeatIntervalMs: 20,
      handlers: {
        long: async ({ signal }) => {
          started.resolve();
          reason.resolve(await aborted(signal));
          return 'ignored';
        },
      },
    });
    worker.on('task:cancelled', ({ lease }) => cancelledEvents.push(lease.taskId));
    const { id } = await baton.submit({ type: 'long' });
    await started.promise;
    const cancelled = (await baton.cancel(id, 'no longer needed')) as TaskRecord;
    expect(cancelled.state).toBe('cancelled');
    expect(await reason.promise).toBeInstanceOf(CancelledError);
    await worker.onIdle();
    const done = await baton.get(id);
    expect(done?.state).toBe('cancelled');
    expect(cancelledEvents).toEqual([id]);
    await worker.stop();
  });

  it('grows the graph with ctx.spawn: fan-out of 3 and a join that sees their results', async () => {
    const baton = await h.baton();
    let joinInput: Record<string, Json> | undefined;
    const worker = await h.startWorker(baton, {
      handlers: {
        fanout: async ({ spawn }) => {
          const spawned = await spawn([
            { key: 'part-1', type: 'square', payload: 1 },
            { key: 'part-2', type: 'square', payload: 2 },
            { key: 'part-3', type: 'square', payload: 3 },
            { key: 'join', type: 'sum', dependsOn: ['part-1', 'part-2', 'part-3'] },
          ]);
          return spawned.length;
        },
        square: ({ payload }) => (payload as number) ** 2,
        sum: ({ dependencies }) => {
          joinInput = Object.fromEntries(
            Object.entries(dependencies).map(([key, dep]) => [key, dep.result]),
          );
          return Object.values(dependencies).reduce((s, d) => s + (d.result as number), 0);
        },
      },
    });
    const { runId } = await baton.submitRun({
      name: 'fan-out',
      tasks: [{ key: 'plan', type: 'fanout' }],
    });
    const run = (await baton.wait(runId)) as RunRecord;
    expect(run.state).toBe('succeeded');
    expect(run.progress.total).toBe(5);
    expect(joinInput).toEqual({ 'part-1': 1, 'part-2': 4, 'part-3': 9 });
    const { tasks } = await baton.tasks({ runId });
    const join = tasks.find((t) => t.key === 'join');
    expect(join?.state).toBe('succeeded');
    expect(join?.result).toBe(14);
    // The run completed only after the join succeeded.
    const events = [];
    for await (const e of baton.events({ follow: false })) events.push(e);
    const joinDone = events.findIndex((e) => e.type === 'task.succeeded' && e.taskId === join?.id);
    const runDone = events.findIndex((e) => e.type === 'run.completed' && e.runId === runId);
    expect(joinDone).toBeGreaterThanOrEqual(0);
    expect(runDone).toBeGreaterThan(joinDone);
    await worker.stop();
  });

  it('stop(): a short in-flight task finishes, a long one is aborted and released', async () => {
    const baton = await h.baton();
    const bothStarted = overlapCounter();
    const shortGate = deferred();
    const longReason = deferred<unknown>();
    const worker = await h.startWorker(baton, {
      concurrency: 2,
      handlers: {
        short: async () => {
          bothStarted.enter();
          await shortGate.promise;
          return 'finished in time';
        },
        long: async ({ signal }) => {
          bothStarted.enter();
          longReason.resolve(await aborted(signal));
          return 'never recorded';
        },
      },
    });
    let stoppedEvents = 0;
    worker.on('stopped', () => stoppedEvents++);
    const short = await baton.submit({ type: 'short' });
    const long = await baton.submit({ type: 'long' });
    await bothStarted.reach(2);

    const stopping = worker.stop({ graceMs: 200 });
    expect(worker.running).toBe(false);
    shortGate.resolve();
    await stopping;

    expect(await longReason.promise).toBeInstanceOf(CancelledError);
    expect((await baton.get(short.id))?.state).toBe('succeeded');
    const longTask = await baton.get(long.id);
    expect(longTask?.state).toBe('ready');
    expect((await baton.attempts(long.id)).map((a) => a.outcome)).toEqual(['released']);
    expect(stoppedEvents).toBe(1);
    // Stopping twice is safe and does not stop twice.
    await worker.stop();
    expect(stoppedEvents).toBe(1);
    const agent = (await baton.agents()).find((a) => a.id === worker.agentId);
    expect(agent?.state).toBe('stopped');
    expect(h.runningWorkers()).toEqual([]);
  });

  it('a worker that cannot start again after stop says so', async () => {
    const baton = await h.baton();
    const worker = await h.startWorker(baton, { handlers: {} });
    await worker.stop();
    await expect(worker.start()).rejects.toMatchObject({ code: 'BATON_CONFLICT' });
  });

  it('onIdle resolves once the queue is drained', async () => {
    const baton = await h.baton();
    let done = 0;
    const worker = await h.startWorker(baton, {
      concurrency: 2,
      handlers: {
        step: () => {
          done++;
        },
      },
    });
    // A chain: each task becomes ready only when the previous one succeeded.
    await baton.submitRun({
      tasks: [
        { key: 'a', type: 'step' },
        { key: 'b', type: 'step', dependsOn: ['a'] },
        { key: 'c', type: 'step', dependsOn: ['b'] },
      ],
    });
    await worker.onIdle();
    expect(done).toBe(3);
    expect(worker.inFlight).toBe(0);
    await worker.stop();
  });

  it('logs and emits a lost lease instead of throwing into the loop', async () => {
    let now = Date.now();
    const baton = await h.open({ clock: () => now });
    const started = deferred();
    const gate = deferred();
    const lost: { lease: Lease; reason: string }[] = [];
    const worker = await h.startWorker(baton, {
      leaseTtlMs: 60_000,
      heartbeatIntervalMs: 1_000,
      agentTtlMs: 600_000,
      sweepIntervalMs: 600_000,
      handlers: {
        held: async () => {
          started.resolve();
          await gate.promise;
          return 'late';
        },
        quick: () => 'still working',
      },
    });
    worker.on('task:lease-lost', (event) => lost.push(event));
    const { id } = await baton.submit({ type: 'held', maxAttempts: 5 });
    await started.promise;
    // Two minutes pass without a renewal: the sweep expires the lease.
    now += 120_000;
    const swept = await baton.backend.sweep({ agentTtlMs: 600_000 });
    expect(swept.expired).toBe(1);
    gate.resolve();
    await worker.onIdle();
    expect(lost.map((l) => l.lease.taskId)).toContain(id);
    expect(
      h.logs.some((l) => l.level === LEVEL.warn && l.taskId === id && /lease lost/.test(l.msg)),
    ).toBe(true);
    // The loop is still alive.
    const next = await baton.submit({ type: 'quick' });
    expect(((await baton.wait(next.id)) as TaskRecord).result).toBe('still working');
    await worker.stop({ graceMs: 0 });
  });

  it('rejects options that cannot work, saying which and why', async () => {
    const baton = await h.baton();
    expect(() => baton.worker({ handlers: {}, concurrency: 0 })).toThrow(/concurrency/);
    expect(() =>
      baton.worker({ handlers: {}, heartbeatIntervalMs: 10_000, agentTtlMs: 5_000 }),
    ).toThrow(/heartbeatIntervalMs: \(10000\) must be shorter than agentTtlMs/);
  });

  it('a lease-lost reason reaches the handler signal when renew says so', async () => {
    let now = Date.now();
    const baton = await h.open({ clock: () => now });
    const started = deferred();
    const reason = deferred<unknown>();
    const worker = await h.startWorker(baton, {
      leaseTtlMs: 60_000,
      heartbeatIntervalMs: 20,
      agentTtlMs: 600_000,
      sweepIntervalMs: 600_000,
      handlers: {
        held: async ({ signal }) => {
          started.resolve();
          reason.resolve(await aborted(signal));
        },
      },
    });
    const { id } = await baton.submit({ type: 'held', maxAttempts: 5 });
    await started.promise;
    now += 120_000;
    await baton.backend.sweep({ agentTtlMs: 600_000 });
    expect(await reason.promise).toBeInstanceOf(LeaseLostError);
    expect((await baton.attempts(id))[0]?.outcome).toBe('lease_expired');
    await worker.stop({ graceMs: 0 });
  });

  it('batches settles of one tick into one complete call, and renews all leases in one call', async () => {
    const opened = await h.baton();
    const calls: { method: string; items: number }[] = [];
    const renewedAll = deferred();
    // The real backend, observed: every call goes through unchanged.
    const observed = new Proxy(opened.backend, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const method = String(property);
          if (method === 'complete' || method === 'fail' || method === 'release') {
            calls.push({ method, items: (args[0] as unknown[]).length });
          }
          if (method === 'renew') {
            const refs = args[1] as unknown[];
            calls.push({ method, items: refs.length });
            if (refs.length === 5) renewedAll.resolve();
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const baton = Baton.fromBackend(observed, { logger: pino({ level: 'silent' }) });
    const counter = overlapCounter();
    const gate = deferred();
    const worker = await h.startWorker(baton, {
      concurrency: 5,
      heartbeatIntervalMs: 20,
      handlers: {
        held: async () => {
          counter.enter();
          await gate.promise;
          return 'ok';
        },
      },
    });
    const { runId } = await baton.submitRun({
      tasks: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, type: 'held' })),
    });
    await counter.reach(5);
    await renewedAll.promise; // one renew carried all five leases
    gate.resolve(); // all five handlers return in the same tick
    const run = (await baton.wait(runId)) as RunRecord;
    expect(run.state).toBe('succeeded');
    expect(calls.filter((c) => c.method === 'complete')).toEqual([
      { method: 'complete', items: 5 },
    ]);
    expect(calls.some((c) => c.method === 'renew' && c.items === 5)).toBe(true);
    await worker.stop();
  });

  it('claims the next tasks while the last outcomes are still being acknowledged', async () => {
    const opened = await h.baton();
    const completeHeld = deferred();
    let completesOut = 0;
    // The real backend, with completions held back until the test lets them through.
    const held = new Proxy(opened.backend, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        const call = (...args: unknown[]): unknown =>
          (value as (...a: unknown[]) => unknown).apply(target, args);
        if (property === 'complete') {
          return async (...args: unknown[]) => {
            completesOut++;
            try {
              await completeHeld.promise;
              return await call(...args);
            } finally {
              completesOut--;
            }
          };
        }
        return call;
      },
    });
    const baton = Baton.fromBackend(held, { logger: pino({ level: 'silent' }) });
    const ran: number[] = [];
    const worker = await h.startWorker(baton, {
      concurrency: 2,
      handlers: { quick: ({ payload }) => void ran.push(payload as number) },
    });
    await baton.backend.submitTasks([0, 1, 2, 3].map((i) => ({ type: 'quick', payload: i })));
    // Two tasks fill both slots; their completion is held, yet their slots free when the
    // handlers return, so the other two are claimed and run meanwhile.
    await vi.waitFor(() => expect(ran).toHaveLength(4));
    expect(completesOut, 'the first completion is still unanswered').toBeGreaterThan(0);
    completeHeld.resolve();
    await worker.onIdle();
    const { tasks } = await baton.tasks({ state: 'succeeded' });
    expect(tasks).toHaveLength(4);
    await worker.stop();
  });

  it('starts no task whose claim answers after stop() began: its lease goes back unused', async () => {
    const opened = await h.baton();
    const claimSent = deferred();
    const answer = deferred();
    let held = false;
    // The real backend, with the answer to the claim that takes the task held back.
    const slow = new Proxy(opened.backend, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        const call = (...args: unknown[]): unknown =>
          (value as (...a: unknown[]) => unknown).apply(target, args);
        if (property !== 'claim') return call;
        return async (...args: unknown[]) => {
          const leases = (await call(...args)) as Lease[];
          if (leases.length > 0 && !held) {
            held = true;
            claimSent.resolve();
            await answer.promise;
          }
          return leases;
        };
      },
    });
    const baton = Baton.fromBackend(slow, { logger: pino({ level: 'silent' }) });
    const ran: string[] = [];
    const worker = await h.startWorker(baton, {
      handlers: { job: ({ task }) => void ran.push(task.id) },
    });
    const { id } = await baton.submit({ type: 'job' });
    await claimSent.promise; // the store has leased the task; the worker has not heard yet
    const stopped = worker.stop();
    answer.resolve();
    await stopped;
    expect(ran).toEqual([]);
    const task = await baton.get(id);
    expect(task).toMatchObject({ state: 'ready', attempts: 0 });
    const events: string[] = [];
    for await (const e of baton.events({ follow: false })) {
      if (e.taskId === id) events.push(e.type);
    }
    expect(events).toEqual(['task.submitted', 'task.claimed', 'task.released']);
  });

  it('registers again after being declared lost, and keeps working', async () => {
    let now = Date.now();
    const baton = await h.open({ clock: () => now });
    const worker = await h.startWorker(baton, {
      heartbeatIntervalMs: 1_000,
      agentTtlMs: 600_000,
      sweepIntervalMs: 600_000,
      handlers: { echo: ({ payload }) => payload },
    });
    now += 120_000;
    const swept = await baton.backend.sweep({ agentTtlMs: 60_000 });
    expect(swept.agentsLost).toEqual([worker.agentId]);
    expect((await baton.agents()).find((a) => a.id === worker.agentId)?.state).toBe('lost');
    const { id } = await baton.submit({ type: 'echo', payload: 'after' });
    const done = (await baton.wait(id)) as TaskRecord;
    expect(done.result).toBe('after');
    expect((await baton.agents()).find((a) => a.id === worker.agentId)?.state).toBe('active');
    expect(h.logs.some((l) => l.level === LEVEL.warn && /declared lost/.test(l.msg))).toBe(true);
    await worker.stop();
  });
});

describe('worker: a handler that defers (DeferError)', () => {
  it('gives the lease back without counting the attempt, and runs the task again only after the delay', async () => {
    const baton = await h.baton();
    const delayMs = 300;
    const starts: number[] = [];
    const attemptsSeen: number[] = [];
    const deferrals: { taskId: string; delayMs: number; reason: string }[] = [];
    const worker = await h.startWorker(baton, {
      handlers: {
        busy: ({ attempt }) => {
          starts.push(performance.now());
          attemptsSeen.push(attempt);
          if (starts.length <= 2) {
            throw new DeferError(`agent busy (${starts.length})`, { delayMs });
          }
          return 'done at last';
        },
      },
    });
    worker.on('task:deferred', ({ lease, delayMs: waited, reason }) =>
      deferrals.push({ taskId: lease.taskId, delayMs: waited, reason }),
    );
    // maxAttempts 1: had a deferral counted as an attempt, the task could not run three times.
    const { id } = await baton.submit({ type: 'busy', maxAttempts: 1 });
    const done = (await baton.wait(id)) as TaskRecord;

    expect(done).toMatchObject({ state: 'succeeded', result: 'done at last', attempts: 1 });
    expect(attemptsSeen, 'each run is attempt 1: deferrals are not counted').toEqual([1, 1, 1]);
    expect(deferrals).toEqual([
      { taskId: id, delayMs, reason: 'agent busy (1)' },
      { taskId: id, delayMs, reason: 'agent busy (2)' },
    ]);

    const attempts = await baton.attempts(id);
    expect(attempts.map((a) => [a.attempt, a.outcome, a.agentId])).toEqual([
      [1, 'released', worker.agentId],
      [1, 'released', worker.agentId],
      [1, 'succeeded', worker.agentId],
    ]);
    // By the store's clock: each claim came at least `delayMs` after the release before it.
    for (let i = 1; i < attempts.length; i++) {
      expect(
        attempts[i]!.startedAt - attempts[i - 1]!.finishedAt!,
        `attempt record ${i + 1} started ${delayMs} ms or more after the release before it`,
      ).toBeGreaterThanOrEqual(delayMs);
    }
    // And as the handler saw it (a monotonic clock; a few ms of slack between the two clocks).
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(delayMs - 10);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(delayMs - 10);

    const released = [];
    for await (const e of baton.events({ follow: false })) {
      if (e.type === 'task.released') released.push([e.taskId, e.agentId, e.data]);
    }
    expect(released).toEqual([
      [id, worker.agentId, { attempt: 1, reason: 'deferred: agent busy (1)', delayMs }],
      [id, worker.agentId, { attempt: 1, reason: 'deferred: agent busy (2)', delayMs }],
    ]);
    await worker.stop();
  });
});

describe('worker: a handler that ignores its abort', () => {
  const h = useHarness();

  it('frees the slot after abandonAfterMs, so the next ready task runs; says so in an event and in the agent health', async () => {
    const baton = await h.baton();
    const release = deferred();
    const abandonedEvents: unknown[] = [];
    const worker = await h.startWorker(baton, {
      concurrency: 1,
      abandonAfterMs: 300,
      // The renew that carries the report comes every 100 ms here.
      heartbeatIntervalMs: 100,
      heartbeatThread: false,
      handlers: {
        // Ignores its AbortSignal and returns only when the test says so.
        stubborn: async () => {
          await release.promise;
          return 'late';
        },
        quick: () => 'done',
      },
    });
    worker.on('task:abandoned', (event) => abandonedEvents.push(event));

    const stubborn = await baton.submit({ type: 'stubborn', timeoutMs: 100, maxAttempts: 1 });
    const quick = await baton.submit({ type: 'quick' });
    // Before, the one slot stayed busy forever: the quick task never ran.
    const done = await baton.wait(quick.id, { timeoutMs: 15_000 });
    expect(done.state).toBe('succeeded');
    expect((await baton.get(stubborn.id))?.state).toBe('failed');
    expect(abandonedEvents).toHaveLength(1);
    expect(abandonedEvents[0]).toMatchObject({ abortedBy: 'timeout', abandoned: 1 });

    // The store says so: an event naming the task, and the agent's health.
    const degraded = [];
    for await (const e of baton.events({ follow: false })) {
      if (e.type === 'agent.degraded') degraded.push(e);
    }
    expect(degraded).toHaveLength(1);
    expect(degraded[0]).toMatchObject({
      agentId: worker.agentId,
      data: { reason: 'handler_abandoned', taskId: stubborn.id, abortedBy: 'timeout' },
    });
    const healthOf = async (): Promise<[string, number | undefined]> => {
      const agent = (await baton.agents()).find((a) => a.id === worker.agentId);
      return [agent?.health ?? 'missing', agent?.process.abandonedHandlers];
    };
    await vi.waitFor(async () => expect(await healthOf()).toEqual(['degraded', 1]), {
      timeout: 10_000,
      interval: 50,
    });

    // The handler returns at last: its outcome is ignored, and the agent is ok again.
    release.resolve();
    await vi.waitFor(async () => expect(await healthOf()).toEqual(['ok', 0]), {
      timeout: 10_000,
      interval: 50,
    });
    expect((await baton.get(stubborn.id))?.state).toBe('failed');
    await worker.stop();
  });

  it('keeps the slot while an aborted handler honours its signal within abandonAfterMs', async () => {
    const baton = await h.baton();
    const abandoned: unknown[] = [];
    const worker = await h.startWorker(baton, {
      concurrency: 1,
      abandonAfterMs: 10_000,
      handlers: {
        // Takes 200 ms to wind down after its abort, like a process killed with a grace.
        polite: async ({ signal }) => {
          await aborted(signal);
          await new Promise((resolve) => setTimeout(resolve, 200));
          return null;
        },
      },
    });
    worker.on('task:abandoned', (event) => abandoned.push(event));
    const { id } = await baton.submit({ type: 'polite', timeoutMs: 50, maxAttempts: 1 });
    expect((await baton.wait(id, { timeoutMs: 15_000 })).state).toBe('failed');
    await worker.stop();
    expect(abandoned).toEqual([]);
    const agent = (await baton.agents()).find((a) => a.id === worker.agentId);
    expect(agent?.process.abandonedHandlers ?? 0).toBe(0);
  });

  it('refuses an abandonAfterMs that is not a positive integer', async () => {
    const baton = await h.baton();
    expect(() => baton.worker({ abandonAfterMs: 0, handlers: { x: () => null } })).toThrow(
      /abandonAfterMs: must be a positive integer, got the number 0/,
    );
  });
});
