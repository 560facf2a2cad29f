import { describe, expect, it } from 'vitest';
import { BatonError, NotFoundError, TimeoutError } from '../../src/core/errors.ts';
import type { BatonEvent, EventType, RunRecord, TaskRecord } from '../../src/core/types.ts';
import pino from 'pino';
import { Baton, WaitTimeoutError } from '../../src/runtime/baton.ts';
import { deferred, useHarness } from './harness.ts';

const h = useHarness();

async function collect(iterable: AsyncIterable<BatonEvent>): Promise<BatonEvent[]> {
  const out: BatonEvent[] = [];
  for await (const event of iterable) out.push(event);
  return out;
}

describe('Baton client', () => {
  it('submit and get: a standalone task is ready with its defaults', async () => {
    const baton = await h.baton();
    const submitted = await baton.submit({ type: 'echo', payload: [1, 2] });
    expect(submitted.id).toMatch(/^tsk_/);
    expect(submitted.existing).toBe(false);
    const task = await baton.get(submitted.id);
    expect(task).toMatchObject({ id: submitted.id, type: 'echo', payload: [1, 2], state: 'ready' });
    expect(await baton.get('tsk_missing')).toBeNull();
  });

  it('wait throws NotFoundError for an unknown task or run', async () => {
    const baton = await h.baton();
    await expect(baton.wait('tsk_nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(baton.wait('run_nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('wait gives up after timeoutMs with a WaitTimeoutError naming the state', async () => {
    const baton = await h.baton();
    const { id } = await baton.submit({ type: 'nobody-handles-this' });
    const error = await baton.wait(id, { timeoutMs: 30 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as WaitTimeoutError).code).toBe('BATON_TIMEOUT');
    expect((error as WaitTimeoutError).message).toContain('still ready');
  });

  it('wait rejects with the signal reason when aborted', async () => {
    const baton = await h.baton();
    const { id } = await baton.submit({ type: 'nobody-handles-this' });
    const controller = new AbortController();
    const waiting = baton.wait(id, { signal: controller.signal });
    controller.abort(new Error('caller gave up'));
    await expect(waiting).rejects.toThrow('caller gave up');
  });

  it('wait wakes on a change made by another client on the same store', async () => {
    const producer = await h.baton();
    const other = await h.open();
    const { id } = await producer.submit({ type: 'x' });
    const waiting = producer.wait(id);
    await other.cancel(id, 'changed elsewhere');
    const done = (await waiting) as TaskRecord;
    expect(done.state).toBe('cancelled');
  });

  it('cancel by run id cancels every unfinished task; wait on the run returns it', async () => {
    const baton = await h.baton();
    const { runId, tasks } = await baton.submitRun({
      name: 'to-cancel',
      tasks: [
        { key: 'a', type: 'x' },
        { key: 'b', type: 'x', dependsOn: ['a'] },
      ],
    });
    const waiting = baton.wait(runId);
    const run = (await baton.cancel(runId, 'changed my mind')) as RunRecord;
    expect(run.id).toBe(runId);
    const finished = (await waiting) as RunRecord;
    expect(finished.state).toBe('cancelled');
    for (const t of tasks) expect((await baton.get(t.id))?.state).toBe('cancelled');
  });

  it('events() yields transitions in order and resumes from `since` without repeats', async () => {
    const baton = await h.baton();
    const worker = await h.startWorker(baton, { handlers: { echo: ({ payload }) => payload } });
    const { id } = await baton.submit({ type: 'echo', payload: 'hi' });
    await baton.wait(id);
    await worker.stop();

    const all = await collect(baton.events({ follow: false }));
    const ids = all.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const ofTask = all.filter((e) => e.taskId === id).map((e) => e.type);
    const order: EventType[] = ['task.submitted', 'task.claimed', 'task.succeeded'];
    const positions = order.map((type) => ofTask.indexOf(type));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(all.some((e) => e.type === 'agent.joined' && e.agentId === worker.agentId)).toBe(true);

    // Resume from the middle: exactly the rest, nothing repeated.
    const middle = Math.floor(all.length / 2);
    const rest = await collect(baton.events({ since: all[middle]!.id, follow: false }));
    expect(rest.map((e) => e.id)).toEqual(ids.slice(middle + 1));

    // Small pages give the same stream.
    const paged = await collect(baton.events({ follow: false, pageSize: 2 }));
    expect(paged.map((e) => e.id)).toEqual(ids);

    // Caught up: nothing more.
    expect(await collect(baton.events({ since: ids.at(-1)!, follow: false }))).toEqual([]);
  });

  it('events() follows new events until aborted', async () => {
    const baton = await h.baton();
    const controller = new AbortController();
    const seen: BatonEvent[] = [];
    const gotSubmitted = deferred();
    const following = (async () => {
      for await (const e of baton.events({ signal: controller.signal })) {
        seen.push(e);
        if (e.type === 'task.submitted') gotSubmitted.resolve();
      }
    })();
    const { id } = await baton.submit({ type: 'x' });
    await gotSubmitted.promise;
    controller.abort();
    await following; // ends without throwing
    expect(seen.some((e) => e.type === 'task.submitted' && e.taskId === id)).toBe(true);
  });

  it("events({ since: 'now' }) starts at the end of the stream; lastEventId() marks a point to follow from", async () => {
    const baton = await h.baton();
    expect(await baton.lastEventId(), 'an empty store has no last event').toBeNull();
    const old = await baton.submitRun({
      tasks: [
        { key: 'a', type: 'x' },
        { key: 'b', type: 'x' },
      ],
    });
    const history = await collect(baton.events({ follow: false }));
    expect(await baton.lastEventId()).toBe(history.at(-1)!.id);
    expect(
      await collect(baton.events({ since: 'now', follow: false })),
      'nothing happened since now',
    ).toEqual([]);

    // Observe when the iteration has looked up the end of the stream, to submit only after.
    const positioned = deferred();
    const observed = new Proxy(baton.backend, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        const method = (value as (...a: unknown[]) => unknown).bind(target);
        if (property !== 'lastEventId') return method;
        return async () => {
          const id = await method();
          positioned.resolve();
          return id;
        };
      },
    });
    const follower = Baton.fromBackend(observed, { logger: pino({ level: 'silent' }) });
    const controller = new AbortController();
    const seen: BatonEvent[] = [];
    const gotSubmitted = deferred();
    const following = (async () => {
      for await (const e of follower.events({ since: 'now', signal: controller.signal })) {
        seen.push(e);
        if (e.type === 'task.submitted') gotSubmitted.resolve();
      }
    })();
    await positioned.promise;
    const mark = await baton.lastEventId();
    const { id } = await baton.submit({ type: 'y' });
    await gotSubmitted.promise;
    controller.abort();
    await following;
    expect(
      seen.some((e) => e.runId === old.runId),
      'no event of the history was replayed',
    ).toBe(false);
    expect(seen.map((e) => [e.type, e.taskId])).toContainEqual(['task.submitted', id]);
    // A mark taken before acting sees exactly what the action wrote.
    const since = await collect(baton.events({ since: mark!, follow: false }));
    expect(since.map((e) => [e.type, e.taskId])).toEqual([['task.submitted', id]]);
  });

  it('wait() reads the event stream from its end, never the history before it', async () => {
    const opened = await h.baton();
    // Some history: a run of 30 tasks, all cancelled.
    const { runId } = await opened.submitRun({
      tasks: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, type: 'x' })),
    });
    await opened.cancel(runId);
    const end = await opened.lastEventId();
    const reads: (string | undefined)[] = [];
    const observed = new Proxy(opened.backend, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (property === 'readEvents') reads.push((args[0] as { since?: string }).since);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const baton = Baton.fromBackend(observed, { logger: pino({ level: 'silent' }) });
    const { id } = await baton.submit({ type: 'echo' });
    const waiting = baton.wait(id);
    const worker = await h.startWorker(baton, { handlers: { echo: () => 'done' } });
    expect(((await waiting) as TaskRecord).result).toBe('done');
    await worker.stop();
    expect(reads.length, 'wait followed the stream').toBeGreaterThan(0);
    for (const since of reads) {
      expect(since, 'every read starts after the history').toBeDefined();
      expect(Number(since), 'every read starts after the history').toBeGreaterThanOrEqual(
        Number(end),
      );
    }
  });

  it('lists tasks, runs, agents, stats', async () => {
    const baton = await h.baton();
    const { runId } = await baton.submitRun({
      name: 'listing',
      tasks: [
        { key: 'a', type: 'x' },
        { key: 'b', type: 'y', requires: ['gpu'] },
      ],
    });
    await baton.submit({ type: 'z' });
    expect((await baton.tasks({ runId })).tasks).toHaveLength(2);
    expect((await baton.tasks()).tasks).toHaveLength(3);
    expect((await baton.runs()).runs.map((r) => r.id)).toEqual([runId]);
    expect((await baton.stats()).byState.ready).toBe(3);
    const { runId: newer } = await baton.submitRun({ tasks: [{ type: 'x' }] });
    expect(
      (await baton.runs()).runs.map((r) => r.id),
      'newest first',
    ).toEqual([newer, runId]);
    expect((await baton.runs({ order: 'asc' })).runs.map((r) => r.id)).toEqual([runId, newer]);
    const worker = await h.startWorker(baton, {
      name: 'lister',
      capabilities: ['gpu'],
      labels: { zone: 'a' },
      concurrency: 4,
      handlers: { x: () => 1, y: () => 2, z: () => 3 },
    });
    const agent = (await baton.agents()).find((a) => a.id === worker.agentId);
    expect(agent).toMatchObject({
      name: 'lister',
      capabilities: ['gpu'],
      labels: { zone: 'a' },
      concurrency: 4,
      state: 'active',
      pid: process.pid,
    });
    await baton.wait(runId);
    await worker.stop();
  });

  it('close() stops the workers it created and refuses further calls', async () => {
    const baton = await h.open();
    const worker = baton.worker({ handlers: {} });
    await worker.start();
    expect(worker.running).toBe(true);
    await baton.close();
    expect(worker.running).toBe(false);
    await baton.close(); // twice is fine
    await expect(baton.submit({ type: 'x' })).rejects.toBeInstanceOf(BatonError);
    await expect(baton.submit({ type: 'x' })).rejects.toMatchObject({ code: 'BATON_CLOSED' });
  });
});

describe('test harness', () => {
  it('tracks started workers until they stop (the afterEach leak check relies on it)', async () => {
    const baton = await h.baton();
    const worker = await h.startWorker(baton, { handlers: {} });
    expect(h.runningWorkers()).toEqual([worker]);
    await worker.stop();
    expect(h.runningWorkers()).toEqual([]);
  });
});
