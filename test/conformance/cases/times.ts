import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import { CLOCK_HOLD_MS } from '../../../src/core/clock.ts';
import type { BatonEvent, Lease, TaskRecord } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import {
  claim,
  claimExpecting,
  complete,
  expectBatonError,
  fail,
  getTask,
  idOf,
  mustClaim,
  readAllEvents,
  registerAgent,
  sweep,
} from '../helpers.ts';

/** A small step back, like an NTP correction: well inside CLOCK_HOLD_MS. */
const STEP_BACK_MS = 40;

/** The time invariants of one task and its attempts that every backend keeps. */
async function expectOrdered(b: Backend, task: TaskRecord, what: string): Promise<void> {
  const { createdAt, startedAt, finishedAt } = task;
  expect(startedAt, `${what}: started`).not.toBeNull();
  expect(createdAt, `${what}: createdAt ≤ startedAt`).toBeLessThanOrEqual(startedAt!);
  if (finishedAt !== null)
    expect(startedAt!, `${what}: startedAt ≤ finishedAt`).toBeLessThanOrEqual(finishedAt);
  for (const a of await b.getAttempts(task.id)) {
    expect(
      a.startedAt,
      `${what}: attempt ${a.attempt} starts after the task was created`,
    ).toBeGreaterThanOrEqual(createdAt);
    if (a.finishedAt !== null)
      expect(
        a.startedAt,
        `${what}: attempt ${a.attempt} startedAt ≤ finishedAt`,
      ).toBeLessThanOrEqual(a.finishedAt);
  }
}

/** Along the stream, a task's claim is not before it became ready, nor its end before its claim. */
function expectEventsOrdered(events: readonly BatonEvent[]): void {
  const readyAt = new Map<string, number>();
  const claimedAt = new Map<string, number>();
  for (const e of events) {
    if (e.taskId === null) continue;
    if (e.type === 'task.ready' || (e.type === 'task.submitted' && e.data.state === 'ready'))
      readyAt.set(e.taskId, e.at);
    if (e.type === 'task.retrying' && e.data.delayMs === 0) readyAt.set(e.taskId, e.at);
    if (e.type === 'task.claimed') {
      expect(e.at, `task ${e.taskId} claimed before it became ready`).toBeGreaterThanOrEqual(
        readyAt.get(e.taskId) ?? -Infinity,
      );
      claimedAt.set(e.taskId, e.at);
    }
    if (e.type === 'task.succeeded' || e.type === 'task.failed' || e.type === 'task.retrying') {
      expect(e.at, `task ${e.taskId} ended before it was claimed`).toBeGreaterThanOrEqual(
        claimedAt.get(e.taskId) ?? -Infinity,
      );
    }
  }
}

export function timeCases(env: SuiteEnv): void {
  describe('stored times', () => {
    it('follow the order of transitions when the clock steps back a little', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a' },
          { type: 'x', key: 'b', dependsOn: ['a'] },
        ],
      });
      const a = await claimExpecting(b, agent, idOf(run.tasks, 'a'), 'a');
      clock.advance(20);
      await complete(b, a);
      const done = await getTask(b, a.taskId);
      // The clock steps back: b is claimed and completed "before" a finished.
      clock.set(clock.now() - STEP_BACK_MS);
      const lease = await claimExpecting(b, agent, idOf(run.tasks, 'b'), 'b');
      expect(lease.task.startedAt, 'the lease says when b started').toBeGreaterThanOrEqual(
        done.finishedAt!,
      );
      clock.advance(10);
      await complete(b, lease);
      const after = await getTask(b, lease.taskId);
      expect(
        after.startedAt,
        "a dependent's startedAt is never before its dependency's finishedAt",
      ).toBeGreaterThanOrEqual(done.finishedAt!);
      await expectOrdered(b, done, 'a');
      await expectOrdered(b, after, 'b');
      const [attempt] = await b.getAttempts(lease.taskId);
      expect(attempt!.startedAt, "b's attempt starts after a finished").toBeGreaterThanOrEqual(
        done.finishedAt!,
      );
      expectEventsOrdered(await readAllEvents(b));
    });

    it('a fan-in starts after the latest of its dependencies, whatever the clock did between them', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a' },
          { type: 'x', key: 'b' },
          { type: 'x', key: 'c', dependsOn: ['a', 'b'] },
        ],
      });
      const first = await mustClaim(b, agent, 'a or b');
      const second = await mustClaim(b, agent, 'the other of a and b');
      clock.advance(30);
      await complete(b, first);
      clock.set(clock.now() - STEP_BACK_MS);
      await complete(b, second);
      clock.set(clock.now() - STEP_BACK_MS);
      const c = await claimExpecting(b, agent, idOf(run.tasks, 'c'), 'c, after both');
      await complete(b, c);
      const deps = [await getTask(b, first.taskId), await getTask(b, second.taskId)];
      const task = await getTask(b, c.taskId);
      for (const dep of deps) {
        expect(task.startedAt, `c starts after ${dep.key} finished`).toBeGreaterThanOrEqual(
          dep.finishedAt!,
        );
        await expectOrdered(b, dep, dep.key!);
      }
      await expectOrdered(b, task, 'c');
      expectEventsOrdered(await readAllEvents(b));
    });

    it('a failed attempt ends after it started, and its retry starts after that', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const [task] = await b.submitTasks([{ type: 'x', maxAttempts: 2 }]);
      const first = await claimExpecting(b, agent, task!.id, 'the task');
      clock.set(clock.now() - STEP_BACK_MS);
      await fail(b, first, { message: 'boom' }, { retryDelayMs: 0 });
      clock.set(clock.now() - STEP_BACK_MS);
      const second = await claimExpecting(b, agent, task!.id, 'its retry');
      clock.set(clock.now() - STEP_BACK_MS);
      await complete(b, second);
      const attempts = await b.getAttempts(task!.id);
      expect(attempts.map((a) => a.outcome)).toEqual(['failed', 'succeeded']);
      expect(
        attempts[1]!.startedAt,
        'the retry starts after the failed attempt ended',
      ).toBeGreaterThanOrEqual(attempts[0]!.finishedAt!);
      await expectOrdered(b, await getTask(b, task!.id), 'the task');
      expectEventsOrdered(await readAllEvents(b));
    });

    it('a task claimed right after it was submitted is not started before it was created', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const [task] = await b.submitTasks([{ type: 'x' }]);
      clock.set(clock.now() - STEP_BACK_MS);
      const lease = await claimExpecting(b, agent, task!.id, 'the task');
      await complete(b, lease);
      await expectOrdered(b, await getTask(b, task!.id), 'the task');
    });

    it('the tasks of a large submission are not started before they were created', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      // Large enough to be written in several steps where a backend does that (Redis: chunks).
      const tasks = await b.submitTasks(Array.from({ length: 1200 }, () => ({ type: 'x' })));
      clock.set(clock.now() - STEP_BACK_MS);
      const leases = await claim(b, agent, 3);
      expect(leases).toHaveLength(3);
      for (const lease of leases) {
        await complete(b, lease);
        await expectOrdered(b, await getTask(b, lease.taskId), `task ${lease.taskId}`);
      }
      expect(tasks).toHaveLength(1200);
    });

    it('an attempt keeps how long its handler ran, as its worker reported it', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const [ok, retried, plain] = await b.submitTasks([
        { type: 'x' },
        { type: 'x', maxAttempts: 2 },
        { type: 'x' },
      ]);
      const leases = await claim(b, agent, 3);
      const lease = (id: string): Lease => leases.find((l) => l.taskId === id)!;
      clock.advance(500);
      const [done] = await b.complete([
        { taskId: ok!.id, token: lease(ok!.id).token, agentId: agent.id, result: null, runMs: 37 },
        { taskId: plain!.id, token: lease(plain!.id).token, agentId: agent.id, result: null },
      ]);
      expect(done?.status).toBe('ok');
      await fail(b, lease(retried!.id), { message: 'boom' }, { retryDelayMs: 0, runMs: 12.4 });
      // The retry is never reported: its lease expires.
      const again = await claimExpecting(b, agent, retried!.id, 'the retry', 1_000);
      clock.advance(1_001);
      await sweep(b);
      expect(again.attempt).toBe(2);

      expect((await b.getAttempts(ok!.id)).map((a) => a.runMs)).toEqual([37]);
      expect((await b.getAttempts(plain!.id)).map((a) => a.runMs)).toEqual([null]);
      expect(
        (await b.getAttempts(retried!.id)).map((a) => [a.outcome, a.runMs]),
        'stored in whole ms; an expired attempt has none',
      ).toEqual([
        ['failed', 12],
        ['lease_expired', null],
      ]);
      const events = await readAllEvents(b);
      const data = (types: string[], id: string): unknown[] =>
        events
          .filter((e) => types.includes(e.type) && e.taskId === id)
          .map((e) => [e.type, e.data.runMs]);
      expect(data(['task.succeeded'], ok!.id), 'task.succeeded says it').toEqual([
        ['task.succeeded', 37],
      ]);
      expect(data(['task.succeeded'], plain!.id)).toEqual([['task.succeeded', undefined]]);
      expect(
        data(['task.retrying', 'task.failed'], retried!.id),
        'so do task.retrying and task.failed',
      ).toEqual([
        ['task.retrying', 12],
        ['task.failed', undefined],
      ]);
    });

    it('a run time that is not a number of ms >= 0 refuses the whole call and changes nothing', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const [first, second] = await b.submitTasks([{ type: 'x' }, { type: 'x' }]);
      const leases = await claim(b, agent, 2);
      for (const runMs of [-1, Number.NaN, Infinity, '5' as unknown as number]) {
        await expectBatonError(
          b.complete(
            leases.map((l, i) => ({
              taskId: l.taskId,
              token: l.token,
              agentId: agent.id,
              result: null,
              ...(i === 1 ? { runMs } : { runMs: 5 }),
            })),
          ),
          'ValidationError',
          'BATON_VALIDATION',
          `complete with runMs ${String(runMs)}`,
        );
        await expectBatonError(
          b.fail([
            {
              taskId: leases[0]!.taskId,
              token: leases[0]!.token,
              agentId: agent.id,
              error: { message: 'x' },
              runMs,
            },
          ]),
          'ValidationError',
          'BATON_VALIDATION',
          `fail with runMs ${String(runMs)}`,
        );
      }
      for (const task of [first!, second!])
        expect((await getTask(b, task.id)).state, 'still running').toBe('running');
    });

    it('follow a clock that stepped back further than the hold: time does not stand still for long', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const [done, next] = await b.submitTasks([{ type: 'x' }, { type: 'x' }]);
      await complete(b, await claimExpecting(b, agent, done!.id, 'the first task'));
      clock.set(clock.now() - CLOCK_HOLD_MS - 60_000);
      // Leases taken now run on the clock as it is: one not renewed expires on time.
      const lease = await claimExpecting(b, agent, next!.id, 'the second task', 1_000);
      expect(lease.task.startedAt, 'stamped with the clock, not held').toBe(clock.now());
      clock.advance(1_001);
      const swept = await sweep(b);
      expect(swept.expired, 'the lease expired 1 s after it was taken').toBe(1);
    });
  });
}
