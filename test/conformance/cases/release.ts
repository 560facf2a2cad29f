import { describe, expect, it } from 'vitest';
import type { SuiteEnv } from '../context.ts';
import {
  attemptOutcomes,
  claimExpecting,
  complete,
  expectLeaseLost,
  expectState,
  milestonesOf,
  mustClaim,
  readAllEvents,
  registerAgent,
  submitOne,
} from '../helpers.ts';

export function releaseCases(env: SuiteEnv): void {
  describe('release', () => {
    it('returns a task to ready without failing it', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task');
      const [outcome] = await b.release([{ taskId: id, token: lease.token }]);
      expect(outcome, 'release of a held lease').toMatchObject({
        taskId: id,
        status: 'ok',
        state: 'ready',
      });
      const task = await expectState(b, id, 'ready', 'right after release, without a sweep');
      expect(task.error, 'a release is not a failure').toBeNull();
      expect(await attemptOutcomes(b, id), 'the attempt ended as released').toEqual(['released']);
      expect((await b.listAgents()).find((a) => a.id === agent.id)?.inFlight).toEqual([]);
      expect(
        milestonesOf(await readAllEvents(b), id),
        'a task.released event, no retry or failure',
      ).toEqual(['task.submitted', 'task.claimed', 'task.released']);
    });

    it('a released task is claimed again with a larger token; the old lease is dead', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x' });
      const first = await mustClaim(b, agent, 'the task');
      await b.release([{ taskId: id, token: first.token }]);
      const second = await claimExpecting(b, agent, id, 'the released task');
      expect(second.token > first.token, 'the new lease has a larger token').toBe(true);
      const [stale] = await b.complete([{ taskId: id, token: first.token, result: 'old' }]);
      expectLeaseLost(stale, first.token, 'complete with the released lease');
      await complete(b, second, 'new');
    });

    it('every lease has its own attempt record, the released one included', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x' });
      const first = await mustClaim(b, agent, 'the task');
      await b.release([first]);
      await claimExpecting(b, agent, id, 'the released task');
      expect(
        await attemptOutcomes(b, id),
        'the released attempt is kept, the new one is running',
      ).toEqual(['released', 'running']);
    });

    it('a release does not use up the attempts: a maxAttempts 1 task still runs to success', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 1 });
      const first = await mustClaim(b, agent, 'the task');
      await b.release([first]);
      const second = await claimExpecting(
        b,
        agent,
        id,
        'the released task, although maxAttempts is 1',
      );
      await complete(b, second, 'ok');
      await expectState(b, id, 'succeeded', 'a released attempt is not a failed one');
    });

    it('releasing a stale lease answers lease_lost', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task');
      await complete(b, lease, 'done');
      const [outcome] = await b.release([lease]);
      expectLeaseLost(outcome, lease.token, 'release of a completed task');
      await expectState(b, lease.taskId, 'succeeded', 'a refused release changes nothing');
    });
  });
}
