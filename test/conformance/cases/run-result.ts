/**
 * A run's aggregated result (docs/planner.md#the-runs-result): a task's `aggregate` flag is
 * stored and read back as submitted (from getTask, listTasks and a claim's lease, and for a task
 * spawned into a run), and the run result computed from the tasks a backend returns is the same
 * on every backend.
 */
import { describe, expect, it } from 'vitest';
import { runResult } from '../../../src/core/run-result.ts';
import type { SuiteEnv } from '../context.ts';
import { claimExpecting, complete, getTask, idOf, registerAgent } from '../helpers.ts';

export function runResultCases(env: SuiteEnv): void {
  describe('run result', () => {
    it('stores aggregate: true, and reads it back everywhere a task is read', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a' },
          { type: 'x', key: 'final', dependsOn: ['a'], aggregate: true },
          { type: 'x', key: 'side' },
        ],
      });
      expect((await getTask(b, idOf(run.tasks, 'final'))).aggregate).toBe(true);
      expect((await getTask(b, idOf(run.tasks, 'a'))).aggregate).toBe(false);
      const listed = (await b.listTasks({ runId: run.runId })).tasks;
      expect(listed.map((t) => [t.key, t.aggregate]).sort()).toEqual([
        ['a', false],
        ['final', true],
        ['side', false],
      ]);
      const spawned = await b.submitTasks(
        [{ type: 'x', key: 'late', dependsOn: ['side'], aggregate: true }],
        { runId: run.runId },
      );
      expect((await getTask(b, spawned[0]!.id)).aggregate).toBe(true);

      await complete(b, await claimExpecting(b, agent, idOf(run.tasks, 'a'), 'a'), { n: 1 });
      const lease = await claimExpecting(b, agent, idOf(run.tasks, 'final'), 'final');
      expect(lease.task.aggregate, "a claim's lease carries the flag").toBe(true);
      await complete(b, lease, 'all done');

      const tasks = (await b.listTasks({ runId: run.runId })).tasks;
      expect(runResult(tasks)).toEqual({
        from: 'aggregate',
        results: { final: 'all done', late: null },
      });
    });

    it("without aggregate tasks, the run's result is its sinks' results", async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a' },
          { type: 'x', key: 'b', dependsOn: ['a'] },
          { type: 'x', key: 'c' },
        ],
      });
      await complete(b, await claimExpecting(b, agent, idOf(run.tasks, 'a'), 'a'), 1);
      await complete(b, await claimExpecting(b, agent, idOf(run.tasks, 'b'), 'b'), { b: 2 });
      const tasks = (await b.listTasks({ runId: run.runId })).tasks;
      expect(runResult(tasks)).toEqual({ from: 'sinks', results: { b: { b: 2 }, c: null } });
    });
  });
}
