import { describe, expect, it } from 'vitest';
import type { CycleError, ValidationError } from '../../../src/core/errors.ts';
import type { SuiteEnv } from '../context.ts';
import {
  UNKNOWN_RUN_ID,
  claimExpecting,
  complete,
  expectBatonError,
  expectState,
  idOf,
  mustClaim,
  readAllEvents,
  registerAgent,
} from '../helpers.ts';

export function dynamicCases(env: SuiteEnv): void {
  describe('dynamic graphs', () => {
    it('a running task fans out 3 tasks and a join; the run completes only after the join', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        name: 'plan-and-do',
        tasks: [{ type: 'fanout', key: 'plan' }],
      });
      const plan = await claimExpecting(b, agent, idOf(run.tasks, 'plan'), 'the planner task');

      const added = await b.submitTasks(
        [
          { type: 'work', key: 'w1', payload: 1 },
          { type: 'work', key: 'w2', payload: 2 },
          { type: 'work', key: 'w3', payload: 3 },
          { type: 'join', key: 'join', dependsOn: ['w1', 'w2', 'w3'] },
        ],
        { runId: run.runId },
      );
      expect(
        added.map((t) => [t.key, t.state]),
        'the fan-out is ready, the join blocked',
      ).toEqual([
        ['w1', 'ready'],
        ['w2', 'ready'],
        ['w3', 'ready'],
        ['join', 'blocked'],
      ]);
      for (const t of added) {
        expect((await b.getTask(t.id))?.runId, `${t.key} belongs to the run`).toBe(run.runId);
      }
      await complete(b, plan, 'planned');
      expect((await b.getRun(run.runId))?.state, 'the planner is done but its fan-out is not').toBe(
        'running',
      );

      for (const key of ['w1', 'w2', 'w3']) {
        const lease = await claimExpecting(b, agent, idOf(added, key), key);
        await complete(b, lease, `${key}-done`);
      }
      const progress = (await b.getRun(run.runId))?.progress;
      expect(progress?.total, 'the run counts its added tasks').toBe(5);
      expect((await b.getRun(run.runId))?.state, 'the join has not run yet').toBe('running');

      const join = await claimExpecting(
        b,
        agent,
        idOf(added, 'join'),
        'the join, after its three dependencies',
      );
      expect(
        Object.fromEntries(Object.entries(join.dependencies).map(([k, d]) => [k, d.result])),
        'the join gets exactly the results of its dependencies',
      ).toEqual({ w1: 'w1-done', w2: 'w2-done', w3: 'w3-done' });
      expect((await b.getRun(run.runId))?.state).toBe('running');
      await complete(b, join, 'joined');
      const done = await b.getRun(run.runId);
      expect(done?.state, 'the run completes with its join').toBe('succeeded');
      expect(done?.progress.byState.succeeded).toBe(5);
      const completed = (await readAllEvents(b)).filter((e) => e.type === 'run.completed');
      expect(completed, 'run.completed is written once, after the join').toHaveLength(1);
    });

    it('an added task may depend on tasks already in the run', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'done' },
          { type: 'x', key: 'busy' },
        ],
      });
      await complete(b, await claimExpecting(b, agent, idOf(run.tasks, 'done'), 'done'), 'early');
      const busy = await claimExpecting(b, agent, idOf(run.tasks, 'busy'), 'busy');
      const [afterDone, afterBusy] = await b.submitTasks(
        [
          { type: 'x', key: 'after-done', dependsOn: ['done'] },
          { type: 'x', key: 'after-busy', dependsOn: ['busy'] },
        ],
        { runId: run.runId },
      );
      expect(afterDone?.state, 'its dependency already succeeded').toBe('ready');
      expect(afterBusy?.state, 'its dependency is still running').toBe('blocked');
      const lease = await claimExpecting(
        b,
        agent,
        afterDone!.id,
        'the task whose dependency already succeeded',
      );
      expect(lease.dependencies.done?.result, 'it still gets the earlier result').toBe('early');
      await complete(b, busy, 'late');
      await expectState(b, afterBusy!.id, 'ready', 'right after the existing dependency succeeded');
    });

    it('adding to a finished run fails and stores nothing', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({ tasks: [{ type: 'x', key: 'only' }] });
      await complete(b, await mustClaim(b, agent, 'the only task'));
      expect((await b.getRun(run.runId))?.state).toBe('succeeded');
      const before = (await readAllEvents(b)).length;
      await expectBatonError(
        b.submitTasks([{ type: 'x', key: 'late' }], { runId: run.runId }),
        'ConflictError',
        'BATON_CONFLICT',
        'adding a task to a succeeded run',
      );
      expect((await b.listTasks({ runId: run.runId })).tasks, 'no task added').toHaveLength(1);
      expect(await readAllEvents(b), 'no event written').toHaveLength(before);
    });

    it('adding to an unknown run fails with NotFoundError', async () => {
      const { b } = env.ctx();
      await expectBatonError(
        b.submitTasks([{ type: 'x', key: 'orphan' }], { runId: UNKNOWN_RUN_ID }),
        'NotFoundError',
        'BATON_NOT_FOUND',
        'adding a task to a run that does not exist',
      );
      expect((await b.listTasks()).tasks).toHaveLength(0);
    });

    it('a key already in the run fails and stores nothing of the batch', async () => {
      const { b } = env.ctx();
      const run = await b.submitRun({ tasks: [{ type: 'x', key: 'a' }] });
      const before = (await readAllEvents(b)).length;
      const error = await b
        .submitTasks(
          [
            { type: 'x', key: 'fresh' },
            { type: 'x', key: 'a' },
          ],
          { runId: run.runId },
        )
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(error, 'a duplicate key must be refused').not.toBeNull();
      expect(
        ['BATON_VALIDATION', 'BATON_CONFLICT'],
        `a duplicate key is a validation error or a conflict, got ${String(error)}`,
      ).toContain((error as { code?: unknown }).code);
      const keys = (await b.listTasks({ runId: run.runId })).tasks.map((t) => t.key);
      expect(keys, 'not even the valid task of the batch was added').toEqual(['a']);
      expect(await readAllEvents(b), 'no event written').toHaveLength(before);
    });

    it('a cycle among added tasks throws CycleError', async () => {
      const { b } = env.ctx();
      const run = await b.submitRun({ tasks: [{ type: 'x', key: 'root' }] });
      const error = await expectBatonError<CycleError>(
        b.submitTasks(
          [
            { type: 'x', key: 'p', dependsOn: ['root', 'q'] },
            { type: 'x', key: 'q', dependsOn: ['p'] },
          ],
          { runId: run.runId },
        ),
        'CycleError',
        'BATON_CYCLE',
        'adding p ↔ q',
      );
      expect([...new Set(error.cycle)].sort()).toEqual(['p', 'q']);
      expect((await b.listTasks({ runId: run.runId })).tasks).toHaveLength(1);
    });

    it('an added task depending on a key that is nowhere in the run throws ValidationError', async () => {
      const { b } = env.ctx();
      const run = await b.submitRun({ tasks: [{ type: 'x', key: 'root' }] });
      const error = await expectBatonError<ValidationError>(
        b.submitTasks([{ type: 'x', key: 'n', dependsOn: ['ghost'] }], { runId: run.runId }),
        'ValidationError',
        'BATON_VALIDATION',
        'adding a task that depends on an unknown key',
      );
      expect(error.issues.map((i) => i.path).join(' '), 'the issue points at dependsOn').toMatch(
        /dependsOn/,
      );
      expect((await b.listTasks({ runId: run.runId })).tasks).toHaveLength(1);
    });
  });
}
