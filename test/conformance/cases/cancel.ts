import { describe, expect, it } from 'vitest';
import { outcomeError } from '../../../src/backends/backend.ts';
import type { SuiteEnv } from '../context.ts';
import {
  UNKNOWN_RUN_ID,
  UNKNOWN_TASK_ID,
  attemptOutcomes,
  claimExpecting,
  complete,
  expectBatonError,
  expectLeaseLost,
  expectNothingClaimable,
  expectState,
  idOf,
  mustClaim,
  readAllEvents,
  registerAgent,
  submitOne,
  typesOf,
} from '../helpers.ts';

export function cancelCases(env: SuiteEnv): void {
  describe('cancel', () => {
    it('a ready task becomes cancelled, is never claimed, and a task.cancelled event is written', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x' });
      clock.advance(10);
      const record = await b.cancelTask(id, 'not needed');
      expect(record.state, 'cancelTask answers the cancelled task').toBe('cancelled');
      const task = await expectState(b, id, 'cancelled', 'after cancelTask');
      expect(task.finishedAt, 'finishedAt comes from the clock').toBe(clock.now());
      await expectNothingClaimable(b, agent, 'the only task was cancelled');
      expect(typesOf(await readAllEvents(b), id)).toContain('task.cancelled');
    });

    it('a running task: renew answers cancelled, complete and fail answer lease_lost', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task');
      await b.cancelTask(id);
      await expectState(b, id, 'cancelled', 'cancelled while running');

      const [renewed] = await b.renew(agent.id, [lease], 60_000);
      expect(renewed?.status, 'the handler learns of the cancel on its next renew').toBe(
        'cancelled',
      );
      expect(
        outcomeError(renewed!, lease.token)?.code,
        'a cancelled renew maps to BATON_LEASE_LOST',
      ).toBe('BATON_LEASE_LOST');
      const [completed] = await b.complete([
        { taskId: id, token: lease.token, agentId: lease.agentId, result: 'too late' },
      ]);
      expectLeaseLost(completed, lease.token, 'complete of a cancelled task');
      const [failed] = await b.fail([
        { taskId: id, token: lease.token, agentId: lease.agentId, error: { message: 'aborted' } },
      ]);
      expectLeaseLost(failed, lease.token, 'fail of a cancelled task');

      const task = await expectState(b, id, 'cancelled', 'the refused calls changed nothing');
      expect(task.result).toBeNull();
      expect(await attemptOutcomes(b, id), 'the running attempt ends as cancelled').toEqual([
        'cancelled',
      ]);
      const [listed] = (await b.listAgents()).filter((a) => a.id === agent.id);
      expect(listed?.inFlight, 'a cancelled task is no longer in flight').toEqual([]);
    });

    it('cancelling a terminal task is a no-op', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x' });
      await complete(b, await mustClaim(b, agent, 'the task'), 'kept');
      const record = await b.cancelTask(id);
      expect(record.state, 'a succeeded task stays succeeded').toBe('succeeded');
      expect(record.result).toBe('kept');
      expect(typesOf(await readAllEvents(b), id), 'no task.cancelled event').not.toContain(
        'task.cancelled',
      );
    });

    it('cancelling an unknown task throws NotFoundError', async () => {
      const { b } = env.ctx();
      await expectBatonError(
        b.cancelTask(UNKNOWN_TASK_ID),
        'NotFoundError',
        'BATON_NOT_FOUND',
        'cancelTask of an unknown id',
      );
    });

    it('delayed and blocked tasks can be cancelled', async () => {
      const { b, clock } = env.ctx();
      const delayed = await submitOne(b, { type: 'x', runAfter: clock.now() + 60_000 });
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a' },
          { type: 'x', key: 'b', dependsOn: ['a'] },
        ],
      });
      await b.cancelTask(delayed.id);
      await b.cancelTask(idOf(run.tasks, 'b'));
      await expectState(b, delayed.id, 'cancelled', 'a delayed task was cancelled');
      await expectState(b, idOf(run.tasks, 'b'), 'cancelled', 'a blocked task was cancelled');
      await expectState(b, idOf(run.tasks, 'a'), 'ready', 'its dependency is not touched');
    });

    it('cancelRun cancels every non-terminal task, keeps finished ones, and ends the run cancelled', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        name: 'to-cancel',
        tasks: [
          { type: 'x', key: 'done', priority: 'critical' },
          { type: 'x', key: 'busy', priority: 'high' },
          { type: 'x', key: 'waiting' },
          { type: 'x', key: 'blocked', dependsOn: ['busy'] },
          { type: 'x', key: 'later', runAfter: clock.now() + 60_000 },
        ],
      });
      await complete(b, await claimExpecting(b, agent, idOf(run.tasks, 'done'), 'done'), 'kept');
      const busy = await claimExpecting(b, agent, idOf(run.tasks, 'busy'), 'busy');
      clock.advance(5);

      const record = await b.cancelRun(run.runId, 'changed my mind');
      expect(record.state, 'cancelRun answers the cancelled run').toBe('cancelled');
      await expectState(b, idOf(run.tasks, 'done'), 'succeeded', 'a finished task is kept');
      for (const key of ['busy', 'waiting', 'blocked', 'later']) {
        await expectState(
          b,
          idOf(run.tasks, key),
          'cancelled',
          `${key} was not terminal when the run was cancelled`,
        );
      }
      const after = await b.getRun(run.runId);
      expect(after?.state).toBe('cancelled');
      expect(after?.finishedAt, 'finishedAt comes from the clock').toBe(clock.now());
      expect(after?.progress.byState).toMatchObject({
        succeeded: 1,
        cancelled: 4,
        running: 0,
        ready: 0,
      });

      const [renewed] = await b.renew(agent.id, [busy], 60_000);
      expect(renewed?.status, 'the running task learns of the cancel on renew').toBe('cancelled');
      await expectNothingClaimable(b, agent, 'the run was cancelled');
      const events = await readAllEvents(b);
      expect(
        events.filter((e) => e.type === 'run.cancelled').map((e) => e.runId),
        'a run.cancelled event',
      ).toEqual([run.runId]);
    });

    it('cancelRun of an unknown run throws NotFoundError', async () => {
      const { b } = env.ctx();
      await expectBatonError(
        b.cancelRun(UNKNOWN_RUN_ID),
        'NotFoundError',
        'BATON_NOT_FOUND',
        'cancelRun of an unknown id',
      );
    });

    it('a cancelled run accepts no new tasks', async () => {
      const { b } = env.ctx();
      const run = await b.submitRun({ tasks: [{ type: 'x', key: 'a' }] });
      await b.cancelRun(run.runId);
      await expectBatonError(
        b.submitTasks([{ type: 'x', key: 'late' }], { runId: run.runId }),
        'ConflictError',
        'BATON_CONFLICT',
        'adding a task to a cancelled run',
      );
    });
  });
}
