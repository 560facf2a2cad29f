import { describe, expect, it } from 'vitest';
import type { Backend, TaskFilter } from '../../../src/backends/backend.ts';
import { TASK_STATES } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import { UNKNOWN_TASK_ID, complete, idOf, mustClaim, registerAgent } from '../helpers.ts';

/** Walk every page of a listing; fail if it does not end. */
async function allPages(
  b: Backend,
  filter: Omit<TaskFilter, 'cursor'>,
): Promise<{ ids: string[]; pages: number[] }> {
  const ids: string[] = [];
  const pages: number[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    const page = await b.listTasks(cursor === null ? filter : { ...filter, cursor });
    pages.push(page.tasks.length);
    ids.push(...page.tasks.map((t) => t.id));
    cursor = page.nextCursor;
    if (cursor === null) return { ids, pages };
  }
  throw new Error('listTasks kept answering a nextCursor after 100 pages');
}

export function listingCases(env: SuiteEnv): void {
  describe('listing', () => {
    it('pages through 25 tasks with limit 10: every task exactly once', async () => {
      const { b, clock } = env.ctx();
      const submitted: string[] = [];
      for (let i = 0; i < 5; i++) {
        const batch = await b.submitTasks(
          Array.from({ length: 5 }, (_, j) => ({ type: 'x', payload: i * 5 + j })),
        );
        submitted.push(...batch.map((t) => t.id));
        clock.advance(1);
      }
      const { ids, pages } = await allPages(b, { limit: 10 });
      expect(pages, 'pages of 10, 10 and 5 (an empty last page is allowed)').toEqual(
        pages.length === 4 ? [10, 10, 5, 0] : [10, 10, 5],
      );
      expect(ids.length, 'no task repeated across pages').toBe(new Set(ids).size);
      expect([...ids].sort(), 'every task once').toEqual([...submitted].sort());
    });

    it('pagination holds with a filter, and while tasks change state between pages', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const wanted = await b.submitTasks(Array.from({ length: 12 }, () => ({ type: 'wanted' })));
      await b.submitTasks(Array.from({ length: 7 }, () => ({ type: 'other' })));
      const first = await b.listTasks({ type: 'wanted', limit: 5 });
      expect(first.tasks.every((t) => t.type === 'wanted')).toBe(true);
      // Claiming changes state but not membership of a type filter: the walk must still see each task once.
      await complete(b, await mustClaim(b, agent, 'any task'));
      const rest: string[] = [];
      for (let cursor = first.nextCursor, i = 0; cursor !== null; i++) {
        if (i > 100) throw new Error('listTasks kept answering a nextCursor after 100 pages');
        const page = await b.listTasks({ type: 'wanted', limit: 5, cursor });
        expect(
          page.tasks.every((t) => t.type === 'wanted'),
          'the filter holds on every page',
        ).toBe(true);
        rest.push(...page.tasks.map((t) => t.id));
        cursor = page.nextCursor;
      }
      const all = [...first.tasks.map((t) => t.id), ...rest];
      expect(all.length, 'no task repeated').toBe(new Set(all).size);
      expect([...all].sort(), 'every task of the type, once').toEqual(
        wanted.map((t) => t.id).sort(),
      );
    });

    it('lists at most 100 tasks per page by default', async () => {
      const { b } = env.ctx();
      await b.submitTasks(Array.from({ length: 120 }, (_, i) => ({ type: 'x', payload: i })));
      const page = await b.listTasks();
      expect(page.tasks, 'the default limit is 100').toHaveLength(100);
      expect(page.nextCursor, 'more tasks follow').not.toBeNull();
      const next = await b.listTasks({ cursor: page.nextCursor! });
      expect(next.tasks).toHaveLength(20);
    });

    it('filters by state, type, run and agent', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'step', key: 'a' },
          { type: 'step', key: 'b', dependsOn: ['a'] },
        ],
      });
      const lone = await b.submitTasks([{ type: 'solo', priority: 'low' }]);
      const lease = await mustClaim(b, agent, 'a (medium priority, before the low solo task)');
      expect(lease.taskId).toBe(idOf(run.tasks, 'a'));

      const ids = async (filter: TaskFilter) =>
        (await b.listTasks(filter)).tasks.map((t) => t.id).sort();
      expect(await ids({ runId: run.runId }), 'by run').toEqual(run.tasks.map((t) => t.id).sort());
      expect(await ids({ type: 'solo' }), 'by type').toEqual([lone[0]!.id]);
      expect(await ids({ state: 'running' }), 'by state running').toEqual([lease.taskId]);
      expect(await ids({ state: 'blocked' }), 'by state blocked').toEqual([idOf(run.tasks, 'b')]);
      expect(await ids({ agentId: agent.id }), 'by agent').toEqual([lease.taskId]);
      expect(await ids({ runId: run.runId, state: 'ready' }), 'filters combine').toEqual([]);
      expect(await ids({ type: 'nothing-like-this' }), 'no match').toEqual([]);
    });

    it('getTask of an unknown id is null', async () => {
      const { b } = env.ctx();
      expect(await b.getTask(UNKNOWN_TASK_ID)).toBeNull();
      expect(await b.getAttempts(UNKNOWN_TASK_ID)).toEqual([]);
    });

    it('stats counts tasks by state, ready tasks by requires, agents by state', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b, ['a', 'b']);
      await registerAgent(b, [], { id: 'agt_leaving' });
      await b.deregisterAgent('agt_leaving');
      await b.submitTasks([
        { type: 'x', requires: ['b', 'a'], priority: 'critical' },
        { type: 'x', requires: ['a', 'b'] },
        { type: 'y', requires: ['a', 'b'] },
        { type: 'x' },
        { type: 'x', runAfter: clock.now() + 60_000 },
      ]);
      await mustClaim(b, agent, 'the critical task');
      const stats = await b.stats();
      expect(Object.keys(stats.byState).sort(), 'every state is present').toEqual(
        [...TASK_STATES].sort(),
      );
      expect(stats.byState).toMatchObject({
        ready: 3,
        running: 1,
        delayed: 1,
        blocked: 0,
        succeeded: 0,
      });
      const groups = [...stats.readyByRequires]
        .map((g) => ({ requires: g.requires, count: g.count }))
        .sort((x, y) => x.requires.join().localeCompare(y.requires.join()));
      expect(groups, 'ready tasks grouped by their sorted requires').toEqual([
        { requires: [], count: 1 },
        { requires: ['a', 'b'], count: 2 },
      ]);
      expect(
        stats.readyByRequires.map((g) => [g.requires, g.byType]),
        'each group, sorted by requires, splits its count by task type',
      ).toEqual([
        [[], { x: 1 }],
        [['a', 'b'], { x: 1, y: 1 }],
      ]);
      expect(stats.agents).toEqual({ active: 1, lost: 0, stopped: 1 });
    });
  });
}
