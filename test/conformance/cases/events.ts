import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import type { SuiteEnv } from '../context.ts';
import {
  PAST_QUICK_BACKOFF_MS,
  QUICK_BACKOFF,
  claimExpecting,
  complete,
  expectBatonError,
  fail,
  idOf,
  milestonesOf,
  mustClaim,
  readAllEvents,
  registerAgent,
  submitOne,
  sweep,
} from '../helpers.ts';

/** Produce a stream of a dozen or so events of several kinds. */
async function busyHistory(b: Backend): Promise<void> {
  const agent = await registerAgent(b);
  await b.submitRun({
    tasks: [
      { type: 'x', key: 'a' },
      { type: 'x', key: 'b', dependsOn: ['a'] },
    ],
  });
  await b.submitTasks([{ type: 'y' }, { type: 'z' }]);
  for (let i = 0; i < 4; i++) {
    const lease = await mustClaim(b, agent, `task ${i + 1} of the history`);
    await complete(b, lease, i);
  }
}

export function eventCases(env: SuiteEnv): void {
  describe('events', () => {
    it('an empty store has no events', async () => {
      const { b } = env.ctx();
      expect(await b.readEvents()).toEqual([]);
    });

    it('are ordered: resuming after any id gives exactly the events after it', async () => {
      const { b } = env.ctx();
      await busyHistory(b);
      const all = await readAllEvents(b);
      expect(all.length, 'the history produced events').toBeGreaterThanOrEqual(12);
      const ids = all.map((e) => e.id);
      expect(new Set(ids).size, 'event ids are unique').toBe(ids.length);
      for (let k = 0; k < ids.length; k++) {
        const rest = await b.readEvents({ since: ids[k]! });
        expect(
          rest.map((e) => e.id),
          `reading since event #${k} (${ids[k]}) gives exactly the later ones`,
        ).toEqual(ids.slice(k + 1));
      }
      for (let k = 1; k < all.length; k++) {
        expect(
          all[k]!.at >= all[k - 1]!.at,
          `event #${k} is not earlier than event #${k - 1}`,
        ).toBe(true);
      }
    });

    it('are resumable: read 5, then since the 5th gives the rest with no repeats', async () => {
      const { b } = env.ctx();
      await busyHistory(b);
      const all = await readAllEvents(b);
      const head = await b.readEvents({ limit: 5 });
      expect(
        head.map((e) => e.id),
        'limit 5 gives the first five events',
      ).toEqual(all.slice(0, 5).map((e) => e.id));
      const tail = await b.readEvents({ since: head[4]!.id });
      expect(
        [...head, ...tail].map((e) => e.id),
        'head + tail is the whole stream, once',
      ).toEqual(all.map((e) => e.id));
      expect(await b.readEvents({ since: all.at(-1)!.id }), 'nothing after the last event').toEqual(
        [],
      );
    });

    it('lastEventId is null on an empty store, then the newest id; reading since it gives only later events', async () => {
      const { b } = env.ctx();
      expect(await b.lastEventId(), 'an empty store has no last event').toBeNull();
      await busyHistory(b);
      const history = await readAllEvents(b);
      const last = await b.lastEventId();
      expect(last, 'the id of the newest event').toBe(history.at(-1)!.id);
      expect(await b.readEvents({ since: last! }), 'nothing after the newest event').toEqual([]);

      const { id } = await submitOne(b, { type: 'later' });
      const later = await b.readEvents({ since: last! });
      expect(
        later.map((e) => [e.type, e.taskId]),
        'exactly the events written after lastEventId, none of the history',
      ).toEqual([['task.submitted', id]]);
      expect(await b.lastEventId(), 'lastEventId moves with the stream').toBe(later[0]!.id);
      const blocked = await b.readEvents({ since: later[0]!.id, blockMs: 50 });
      expect(blocked, 'a blocking read from the newest id waits for new events').toEqual([]);
    });

    it('lastEventId is per namespace', async (t) => {
      const ctx = env.ctx();
      if (!env.options.reopen) t.skip();
      await busyHistory(ctx.b);
      const other = await ctx.open({ namespace: `${ctx.namespace}-other` });
      expect(await other.lastEventId(), 'another namespace of the store has no events').toBeNull();
      await submitOne(other, { type: 'x' });
      const [only] = await other.readEvents();
      expect(await other.lastEventId()).toBe(only!.id);
      expect(await ctx.b.lastEventId(), 'unchanged by the other namespace').toBe(
        (await readAllEvents(ctx.b)).at(-1)!.id,
      );
    });

    it('carry their time from the clock and name the task, run and agent', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      clock.advance(100);
      const run = await b.submitRun({ tasks: [{ type: 'x', key: 'a' }] });
      const submittedAt = clock.now();
      clock.advance(100);
      await mustClaim(b, agent, 'a');
      const events = await readAllEvents(b);
      const taskId = idOf(run.tasks, 'a');
      const submitted = events.find((e) => e.type === 'task.submitted' && e.taskId === taskId);
      expect(submitted, 'task.submitted of a').toMatchObject({
        at: submittedAt,
        runId: run.runId,
        taskId,
      });
      const claimed = events.find((e) => e.type === 'task.claimed' && e.taskId === taskId);
      expect(claimed, 'task.claimed of a').toMatchObject({
        at: clock.now(),
        runId: run.runId,
        agentId: agent.id,
      });
      expect(typeof claimed?.data, 'data is an object').toBe('object');
    });

    it('name the agent that settled a task', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x' });
      await complete(b, await mustClaim(b, agent, 'the task'));
      const succeeded = (await readAllEvents(b)).find(
        (e) => e.type === 'task.succeeded' && e.taskId === id,
      );
      expect(succeeded?.agentId, 'task.succeeded names the agent').toBe(agent.id);
    });

    it('cover a task life: submitted → claimed → retrying → claimed → succeeded', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', backoff: QUICK_BACKOFF });
      await fail(b, await mustClaim(b, agent, 'attempt 1'));
      clock.advance(PAST_QUICK_BACKOFF_MS);
      await sweep(b);
      await complete(b, await claimExpecting(b, agent, id, 'attempt 2'));
      expect(milestonesOf(await readAllEvents(b), id)).toEqual([
        'task.submitted',
        'task.claimed',
        'task.retrying',
        'task.claimed',
        'task.succeeded',
      ]);
    });

    it('cover skipped, cancelled and run.completed', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a', maxAttempts: 1 },
          { type: 'x', key: 'b', dependsOn: ['a'] },
          { type: 'x', key: 'c' },
        ],
      });
      await b.cancelTask(idOf(run.tasks, 'c'));
      await fail(b, await claimExpecting(b, agent, idOf(run.tasks, 'a'), 'a'));
      const events = await readAllEvents(b);
      expect(milestonesOf(events, idOf(run.tasks, 'a'))).toEqual([
        'task.submitted',
        'task.claimed',
        'task.failed',
      ]);
      expect(milestonesOf(events, idOf(run.tasks, 'b'))).toEqual([
        'task.submitted',
        'task.skipped',
      ]);
      expect(milestonesOf(events, idOf(run.tasks, 'c'))).toEqual([
        'task.submitted',
        'task.cancelled',
      ]);
      const runEvents = events
        .filter((e) => e.runId === run.runId && e.taskId === null)
        .map((e) => e.type);
      expect(runEvents, 'the run is submitted, then completes').toEqual([
        'run.submitted',
        'run.completed',
      ]);
      const last = events.at(-1);
      expect(last?.type, 'run.completed comes after the transitions that finished the run').toBe(
        'run.completed',
      );
    });

    it('readEvents with blockMs returns as soon as a new event arrives', async () => {
      const { b } = env.ctx();
      await submitOne(b, { type: 'before' });
      const [before] = await b.readEvents();
      const started = performance.now();
      const waiting = b.readEvents({ since: before!.id, blockMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const { id } = await submitOne(b, { type: 'after' });
      const events = await waiting;
      const elapsed = performance.now() - started;
      expect(
        events.map((e) => [e.type, e.taskId]),
        'the blocked read returns the new event',
      ).toContainEqual(['task.submitted', id]);
      expect(elapsed, 'the blocked read returned well before its 10 s limit').toBeLessThan(5_000);
    });

    it('readEvents with blockMs returns at once when events are already there', async () => {
      const { b } = env.ctx();
      await submitOne(b, { type: 'x' });
      const started = performance.now();
      const events = await b.readEvents({ blockMs: 10_000 });
      expect(events.map((e) => e.type)).toEqual(['task.submitted']);
      expect(performance.now() - started, 'no wait when events are available').toBeLessThan(5_000);
    });

    it('readEvents with blockMs and no new event returns empty after the wait', async () => {
      const { b } = env.ctx();
      await submitOne(b, { type: 'x' });
      const [only] = await b.readEvents();
      expect(await b.readEvents({ since: only!.id, blockMs: 50 })).toEqual([]);
    });
  });

  describe('recorded events', () => {
    it('append a pool decision to the stream, in order and resumable', async () => {
      const { b, clock } = env.ctx();
      await submitOne(b, { type: 'x' });
      const before = await b.lastEventId();
      clock.advance(10);
      const id = await b.recordEvent({
        type: 'pool.scaled_up',
        agentId: 'agt_pool_w1',
        data: { reason: 'eligible depth 40 over 2 agents', workers: 3 },
      });
      expect(await b.lastEventId(), 'the recorded event is the newest').toBe(id);
      const after = await b.readEvents({ since: before! });
      expect(after).toEqual([
        {
          id,
          type: 'pool.scaled_up',
          at: clock.now(),
          taskId: null,
          runId: null,
          agentId: 'agt_pool_w1',
          data: { reason: 'eligible depth 40 over 2 agents', workers: 3 },
        },
      ]);
    });

    it('refuse types the backend writes itself, and oversized data, storing nothing', async () => {
      const { b } = env.ctx();
      await expectBatonError(
        b.recordEvent({ type: 'task.succeeded' as 'pool.restarted' }),
        'ValidationError',
        'BATON_VALIDATION',
        'recording a task transition',
      );
      await expectBatonError(
        b.recordEvent({ type: 'pool.restarted', data: { blob: 'x'.repeat(2 * 1024 * 1024) } }),
        'PayloadTooLargeError',
        'BATON_PAYLOAD_TOO_LARGE',
        'recording 2 MiB of data',
      );
      expect(await b.readEvents(), 'nothing was stored').toEqual([]);
    });
  });
}
