import { describe, expect, it } from 'vitest';
import { TASK_STATES } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import {
  UNKNOWN_RUN_ID,
  claimExpecting,
  complete,
  expectBatonError,
  fail,
  idOf,
  readAllEvents,
  registerAgent,
} from '../helpers.ts';

export function runCases(env: SuiteEnv): void {
  describe('runs', () => {
    it('progress counts every state and the done fraction as tasks move', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a' },
          { type: 'x', key: 'b' },
          { type: 'x', key: 'c', dependsOn: ['a'] },
          { type: 'x', key: 'd', dependsOn: ['c'] },
        ],
      });
      const start = await b.getRun(run.runId);
      expect(
        Object.keys(start!.progress.byState).sort(),
        'byState has every state, zeros included',
      ).toEqual([...TASK_STATES].sort());
      expect(start!.progress).toMatchObject({ total: 4, done: 0 });
      expect(start!.progress.byState).toMatchObject({
        ready: 2,
        blocked: 2,
        running: 0,
        succeeded: 0,
      });

      await complete(b, await claimExpecting(b, agent, idOf(run.tasks, 'a'), 'a'));
      const mid = await b.getRun(run.runId);
      expect(mid!.progress.byState, 'after a succeeded, c is ready').toMatchObject({
        succeeded: 1,
        ready: 2,
        blocked: 1,
      });
      expect(mid!.progress.done, 'one of four tasks is terminal').toBe(0.25);
      expect(mid!.state).toBe('running');
    });

    it('ends succeeded when every task succeeded, with finishedAt and a run.completed event', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a' },
          { type: 'x', key: 'b', dependsOn: ['a'] },
        ],
      });
      await complete(b, await claimExpecting(b, agent, idOf(run.tasks, 'a'), 'a'));
      expect((await b.getRun(run.runId))?.state, 'not done while b is pending').toBe('running');
      clock.advance(500);
      await complete(b, await claimExpecting(b, agent, idOf(run.tasks, 'b'), 'b'));
      const done = await b.getRun(run.runId);
      expect(done?.state, 'every task succeeded').toBe('succeeded');
      expect(done?.finishedAt, 'finishedAt comes from the clock').toBe(clock.now());
      expect(done?.progress).toMatchObject({ total: 2, done: 1 });
      expect(done?.progress.byState.succeeded).toBe(2);
      const completed = (await readAllEvents(b)).filter((e) => e.type === 'run.completed');
      expect(
        completed.map((e) => e.runId),
        'exactly one run.completed event',
      ).toEqual([run.runId]);
    });

    it('ends failed when a task failed', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a', maxAttempts: 1 },
          { type: 'x', key: 'b' },
        ],
      });
      await fail(b, await claimExpecting(b, agent, idOf(run.tasks, 'a'), 'a'));
      expect((await b.getRun(run.runId))?.state, 'b is still ready').toBe('running');
      await complete(b, await claimExpecting(b, agent, idOf(run.tasks, 'b'), 'b'));
      const done = await b.getRun(run.runId);
      expect(done?.state).toBe('failed');
      expect(done?.progress.byState).toMatchObject({ failed: 1, succeeded: 1 });
      expect(
        (await readAllEvents(b)).filter((e) => e.type === 'run.completed').map((e) => e.runId),
      ).toEqual([run.runId]);
    });

    it('ends cancelled when its tasks ended succeeded or cancelled', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a' },
          { type: 'x', key: 'b' },
        ],
      });
      await b.cancelTask(idOf(run.tasks, 'b'));
      expect((await b.getRun(run.runId))?.state, 'a is still ready').toBe('running');
      await complete(b, await claimExpecting(b, agent, idOf(run.tasks, 'a'), 'a'));
      expect((await b.getRun(run.runId))?.state).toBe('cancelled');
    });

    it('getRun of an unknown id is null', async () => {
      const { b } = env.ctx();
      expect(await b.getRun(UNKNOWN_RUN_ID)).toBeNull();
    });

    it('listRuns pages through every run once', async () => {
      const { b, clock } = env.ctx();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push((await b.submitRun({ name: `run-${i}`, tasks: [{ type: 'x', key: 'x' }] })).runId);
        clock.advance(1);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10; page++) {
        const result = await b.listRuns(cursor === null ? { limit: 2 } : { limit: 2, cursor });
        expect(result.runs.length, 'a page holds at most limit runs').toBeLessThanOrEqual(2);
        seen.push(...result.runs.map((r) => r.id));
        cursor = result.nextCursor;
        if (cursor === null) break;
      }
      expect(cursor, 'the last page has no next cursor').toBeNull();
      expect([...seen].sort(), 'every run exactly once').toEqual([...ids].sort());
    });

    it('listRuns lists newest first by default; pages in both orders cover every run once, in order', async () => {
      const { b, clock } = env.ctx();
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        ids.push((await b.submitRun({ name: `run-${i}`, tasks: [{ type: 'x' }] })).runId);
        // Runs submitted in the same millisecond still keep their submission order.
        if (i % 2 === 1) clock.advance(1);
      }
      const pages = async (order?: 'asc' | 'desc'): Promise<string[][]> => {
        const out: string[][] = [];
        let cursor: string | null = null;
        for (let page = 0; page < 10; page++) {
          const result = await b.listRuns({
            limit: 3,
            ...(order === undefined ? {} : { order }),
            ...(cursor === null ? {} : { cursor }),
          });
          out.push(result.runs.map((r) => r.id));
          cursor = result.nextCursor;
          if (cursor === null) return out;
        }
        throw new Error(`listRuns(${order ?? 'default'}) kept returning a next cursor`);
      };
      const newestFirst = [...ids].reverse();
      expect(await pages(), 'default order: newest first, 3 per page').toEqual([
        newestFirst.slice(0, 3),
        newestFirst.slice(3, 6),
        newestFirst.slice(6),
      ]);
      expect((await pages('desc')).flat(), 'desc: newest first').toEqual(newestFirst);
      expect(await pages('asc'), 'asc: oldest first, 3 per page').toEqual([
        ids.slice(0, 3),
        ids.slice(3, 6),
        ids.slice(6),
      ]);
      expect(
        (await b.listRuns({ limit: 1 })).runs.map((r) => r.name),
        'the most recent run costs one page of one',
      ).toEqual(['run-6']);
    });

    it('listRuns refuses an order other than asc or desc', async () => {
      const { b } = env.ctx();
      await expectBatonError(
        b.listRuns({ order: 'newest' as unknown as 'asc' }),
        'ValidationError',
        'BATON_VALIDATION',
        "listRuns with order 'newest'",
      );
    });
  });
}
