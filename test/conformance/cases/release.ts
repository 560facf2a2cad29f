import { describe, expect, it } from 'vitest';
import type { SuiteEnv } from '../context.ts';
import {
  attemptOutcomes,
  claimExpecting,
  complete,
  expectBatonError,
  expectLeaseLost,
  expectNothingClaimable,
  expectState,
  milestonesOf,
  mustClaim,
  readAllEvents,
  registerAgent,
  submitOne,
  sweep,
} from '../helpers.ts';

export function releaseCases(env: SuiteEnv): void {
  describe('release', () => {
    it('returns a task to ready without failing it', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task');
      const [outcome] = await b.release([
        { taskId: id, token: lease.token, agentId: lease.agentId },
      ]);
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
      await b.release([{ taskId: id, token: first.token, agentId: first.agentId }]);
      const second = await claimExpecting(b, agent, id, 'the released task');
      expect(second.token > first.token, 'the new lease has a larger token').toBe(true);
      const [stale] = await b.complete([
        { taskId: id, token: first.token, agentId: first.agentId, result: 'old' },
      ]);
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

    it('says its reason and a delayMs of 0 in the task.released event', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task');
      await b.release([lease]);
      const [event] = (await readAllEvents(b)).filter((e) => e.type === 'task.released');
      expect(event).toMatchObject({
        taskId: id,
        agentId: agent.id,
        data: { attempt: 1, reason: 'released', delayMs: 0 },
      });
    });

    it('with delayMs: delayed, not claimable before the delay, claimable after, the attempt not counted', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 1 });
      const lease = await mustClaim(b, agent, 'the task');
      const start = clock.now();
      const [outcome] = await b.release([
        {
          taskId: id,
          token: lease.token,
          agentId: lease.agentId,
          delayMs: 1_000,
          reason: 'deferred: agent busy',
        },
      ]);
      expect(outcome, 'a delayed release answers the new state').toMatchObject({
        taskId: id,
        status: 'ok',
        state: 'delayed',
      });
      const task = await expectState(b, id, 'delayed', 'right after a delayed release');
      expect(task, 'the attempt is given back; no error').toMatchObject({
        attempts: 0,
        runAfter: start + 1_000,
        error: null,
        leaseExpiresAt: null,
      });
      expect((await b.stats()).byState).toMatchObject({ delayed: 1, running: 0, ready: 0 });
      expect((await b.listAgents()).find((a) => a.id === agent.id)?.inFlight).toEqual([]);

      clock.set(start + 999);
      await sweep(b);
      await expectNothingClaimable(b, agent, 'the release delay has not passed');
      clock.set(start + 1_001);
      const again = await claimExpecting(b, agent, id, 'the task once its delay has passed');
      expect(again.attempt, 'the released attempt did not count').toBe(1);
      expect(again.token).toBeGreaterThan(lease.token);
      await complete(b, again, 'ok');
      await expectState(b, id, 'succeeded', 'maxAttempts 1 and still succeeded');
      expect(await attemptOutcomes(b, id)).toEqual(['released', 'succeeded']);

      const events = await readAllEvents(b);
      const [released] = events.filter((e) => e.type === 'task.released');
      expect(released).toMatchObject({
        taskId: id,
        agentId: agent.id,
        at: start,
        data: { attempt: 1, reason: 'deferred: agent busy', delayMs: 1_000 },
      });
      expect(milestonesOf(events, id)).toEqual([
        'task.submitted',
        'task.claimed',
        'task.released',
        'task.claimed',
        'task.succeeded',
      ]);
    });

    it('a malformed delayMs or reason refuses the whole batch, and nothing changes', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      await submitOne(b, { type: 'x' });
      await submitOne(b, { type: 'x' });
      const [one, two] = await b.claim({
        agentId: agent.id,
        capabilities: [],
        max: 2,
        leaseTtlMs: 60_000,
      });
      const before = await readAllEvents(b);
      for (const bad of [
        { delayMs: -1 },
        { delayMs: 1.5 },
        { delayMs: Number.NaN },
        { delayMs: '10' as unknown as number },
        { delayMs: 366 * 24 * 60 * 60 * 1000 },
        { reason: 7 as unknown as string },
      ]) {
        const error = await expectBatonError(
          b.release([
            { taskId: one!.taskId, token: one!.token, agentId: one!.agentId },
            { taskId: two!.taskId, token: two!.token, agentId: two!.agentId, ...bad },
          ]),
          'ValidationError',
          'BATON_VALIDATION',
          `release with ${JSON.stringify(bad)}`,
        );
        expect(error.message).toContain(
          'delayMs' in bad ? 'release[1].delayMs' : 'release[1].reason',
        );
      }
      await expectState(b, one!.taskId, 'running', 'a refused batch releases nothing');
      await expectState(b, two!.taskId, 'running', 'a refused batch releases nothing');
      expect(await readAllEvents(b)).toEqual(before);
      const renewed = await b.renew(agent.id, [one!, two!], 60_000);
      expect(
        renewed.map((o) => o.status),
        'both leases are still held',
      ).toEqual(['ok', 'ok']);
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
