import { describe, expect, it } from 'vitest';
import { outcomeError } from '../../../src/backends/backend.ts';
import type { SuiteEnv } from '../context.ts';
import {
  PAST_QUICK_BACKOFF_MS,
  QUICK_BACKOFF,
  UNKNOWN_TASK_ID,
  attemptOutcomes,
  claimExpecting,
  complete,
  expectBatonError,
  expectLeaseLost,
  expectNothingClaimable,
  expectState,
  fail,
  getTask,
  milestonesOf,
  mustClaim,
  readAllEvents,
  registerAgent,
  submitOne,
  sweep,
} from '../helpers.ts';

export function leaseCases(env: SuiteEnv): void {
  describe('leases', () => {
    it('renew extends expiresAt from the current clock and records a heartbeat', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task', 30_000);
      expect(lease.expiresAt).toBe(clock.now() + 30_000);
      clock.advance(10_000);
      const [outcome] = await b.renew(
        agent.id,
        [{ taskId: lease.taskId, token: lease.token }],
        30_000,
      );
      expect(outcome, 'renew of a held lease').toMatchObject({
        taskId: lease.taskId,
        status: 'ok',
        state: 'running',
      });
      const expiresAt = outcome?.status === 'ok' ? outcome.expiresAt : undefined;
      expect(expiresAt, 'renew answers the new expiry = clock + leaseTtlMs').toBe(
        clock.now() + 30_000,
      );
      expect(expiresAt! > lease.expiresAt, 'the new expiry is later than the old one').toBe(true);
      expect((await getTask(b, lease.taskId)).leaseExpiresAt, 'the stored expiry moves too').toBe(
        expiresAt,
      );
      const [listed] = (await b.listAgents()).filter((a) => a.id === agent.id);
      expect(listed?.lastHeartbeatAt, 'renew counts as a heartbeat of the agent').toBe(clock.now());
    });

    it('a renewed lease outlives its original expiry', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task', 30_000);
      clock.advance(20_000);
      await b.renew(agent.id, [lease], 30_000);
      clock.advance(20_000); // 40 s after the claim: past the first expiry, before the renewed one
      const swept = await sweep(b);
      expect(swept.expired, 'no lease expired: it was renewed').toBe(0);
      await expectState(b, lease.taskId, 'running', 'the renewed lease still holds');
      await complete(b, lease, 'done');
    });

    it('an expired lease is reaped by sweep; the next lease is attempt 2 with a larger token', async () => {
      const { b, clock } = env.ctx();
      const first = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', backoff: QUICK_BACKOFF });
      const lease = await mustClaim(b, first, 'the task', 10_000);
      clock.advance(9_999);
      expect((await sweep(b)).expired, 'a lease is not expired before expiresAt').toBe(0);
      clock.advance(2);
      const swept = await sweep(b);
      expect(swept.expired, 'sweep after expiresAt reaps the lease').toBe(1);
      const after = await getTask(b, id);
      expect(
        ['ready', 'delayed'],
        'an expired attempt with attempts left goes back to the queue',
      ).toContain(after.state);
      expect(await attemptOutcomes(b, id), 'the attempt is recorded as lease_expired').toEqual([
        'lease_expired',
      ]);
      expect(
        (await b.getAttempts(id))[0]?.finishedAt,
        'the expired attempt is finished at the sweep time',
      ).toBe(clock.now());

      clock.advance(PAST_QUICK_BACKOFF_MS);
      await sweep(b);
      const second = await registerAgent(b);
      const next = await claimExpecting(b, second, id, 'the task again after its lease expired');
      expect(next.attempt, 'the re-claim is attempt 2').toBe(2);
      expect(
        next.token > lease.token,
        `the new token (${next.token}) is larger than the stale one (${lease.token})`,
      ).toBe(true);
    });

    it('an expired lease on the last allowed attempt fails the task', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 1 });
      await mustClaim(b, agent, 'the task', 10_000);
      clock.advance(10_001);
      expect((await sweep(b)).expired).toBe(1);
      await expectState(b, id, 'failed', 'its only attempt lost its lease');
      expect(milestonesOf(await readAllEvents(b), id)).toEqual([
        'task.submitted',
        'task.claimed',
        'task.failed',
      ]);
    });

    it('fencing: the stale holder cannot complete, fail or renew after the task was re-claimed', async () => {
      const { b, clock } = env.ctx();
      const slow = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', backoff: QUICK_BACKOFF });
      const stale = await mustClaim(b, slow, 'the task', 10_000);
      clock.advance(10_001);
      await sweep(b);
      clock.advance(PAST_QUICK_BACKOFF_MS);
      await sweep(b);
      const fast = await registerAgent(b);
      const current = await claimExpecting(b, fast, id, 'the re-queued task');

      const [completed] = await b.complete([
        { taskId: id, token: stale.token, agentId: stale.agentId, result: 'stale' },
      ]);
      expectLeaseLost(completed, stale.token, 'complete with the stale token');
      const [failed] = await b.fail([
        { taskId: id, token: stale.token, agentId: stale.agentId, error: { message: 'stale' } },
      ]);
      expectLeaseLost(failed, stale.token, 'fail with the stale token');
      const [renewed] = await b.renew(slow.id, [{ taskId: id, token: stale.token }], 10_000);
      expectLeaseLost(renewed, stale.token, 'renew with the stale token');

      await expectState(b, id, 'running', 'the stale calls changed nothing');
      await complete(b, current, 'fresh');
      const task = await expectState(b, id, 'succeeded', 'the current holder completes');
      expect(task.result, "the current holder's result is the one kept").toBe('fresh');
      expect(await attemptOutcomes(b, id), 'each attempt has exactly one outcome').toEqual([
        'lease_expired',
        'succeeded',
      ]);
    });

    it('fencing: after expiry and before any re-claim, the stale holder cannot complete', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task', 10_000);
      clock.advance(10_001);
      await sweep(b);
      const [outcome] = await b.complete([
        { taskId: id, token: lease.token, agentId: lease.agentId, result: 'late' },
      ]);
      expectLeaseLost(outcome, lease.token, 'complete after the lease was reaped');
      const task = await getTask(b, id);
      expect(task.state, 'a reaped task is not completed by its late holder').not.toBe('succeeded');
      expect(task.result).toBeNull();
    });

    it('a token that was never issued is refused', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task');
      const [outcome] = await b.complete([
        { taskId: lease.taskId, token: lease.token + 1, agentId: lease.agentId, result: null },
      ]);
      expectLeaseLost(outcome, lease.token + 1, 'complete with a token from the future');
      await expectState(b, lease.taskId, 'running', 'a wrong token changes nothing');
    });

    it('complete records the result, finishes the attempt, frees the agent and writes task.succeeded', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task');
      clock.advance(1_234);
      const outcome = await complete(b, lease, { answer: 42 });
      expect(outcome).toMatchObject({ taskId: id, status: 'ok', state: 'succeeded' });
      const task = await expectState(b, id, 'succeeded', 'after complete');
      expect(task.result).toEqual({ answer: 42 });
      expect(task.error).toBeNull();
      expect(task.finishedAt, 'finishedAt comes from the clock').toBe(clock.now());
      const [attempt] = await b.getAttempts(id);
      expect(attempt).toMatchObject({
        attempt: 1,
        outcome: 'succeeded',
        finishedAt: clock.now(),
        error: null,
      });
      const [listed] = (await b.listAgents()).filter((a) => a.id === agent.id);
      expect(listed?.inFlight, 'a completed task is no longer in flight').toEqual([]);
      const events = await readAllEvents(b);
      expect(events.filter((e) => e.type === 'task.succeeded').map((e) => e.taskId)).toEqual([id]);
      await expectNothingClaimable(b, agent, 'a succeeded task is never claimed again');
    });

    it('an oversized result throws PayloadTooLargeError and leaves the task running', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task');
      await expectBatonError(
        b.complete([
          {
            taskId: id,
            token: lease.token,
            agentId: lease.agentId,
            result: 'x'.repeat(1024 * 1024 + 1024),
          },
        ]),
        'PayloadTooLargeError',
        'BATON_PAYLOAD_TOO_LARGE',
        'completing with a result over the default 1 MiB limit',
      );
      await expectState(
        b,
        id,
        'running',
        'a refused result settles nothing: the worker can still fail the task',
      );
      await fail(
        b,
        lease,
        { message: 'result too large', code: 'BATON_PAYLOAD_TOO_LARGE' },
        { retryable: false },
      );
      await expectState(b, id, 'failed', 'the holder could still fail it');
    });

    it('a second complete of the same lease is refused and changes nothing', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task');
      await complete(b, lease, 'first');
      const [again] = await b.complete([
        { taskId: lease.taskId, token: lease.token, agentId: lease.agentId, result: 'second' },
      ]);
      expectLeaseLost(again, lease.token, 'a second complete of a settled lease');
      expect((await getTask(b, lease.taskId)).result, 'the first result stays').toBe('first');
      expect(
        await attemptOutcomes(b, lease.taskId),
        'the attempt outcome is recorded once',
      ).toEqual(['succeeded']);
    });

    it('settling an unknown task answers not_found (NotFoundError)', async () => {
      const { b } = env.ctx();
      const [outcome] = await b.complete([
        { taskId: UNKNOWN_TASK_ID, token: 1, agentId: 'agt_nobody', result: null },
      ]);
      expect(outcome?.status, 'complete of a task that does not exist').toBe('not_found');
      expect(outcomeError(outcome!, 1)?.code).toBe('BATON_NOT_FOUND');
    });

    it('a batch answers per item, in order', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      await b.submitTasks([{ type: 'a' }, { type: 'b' }]);
      const one = await mustClaim(b, agent, 'the first task');
      const two = await mustClaim(b, agent, 'the second task');
      const outcomes = await b.complete([
        { taskId: one.taskId, token: one.token, agentId: one.agentId, result: 1 },
        { taskId: two.taskId, token: two.token + 7, agentId: two.agentId, result: 2 },
        { taskId: UNKNOWN_TASK_ID, token: 1, agentId: one.agentId, result: 3 },
      ]);
      expect(
        outcomes.map((o) => [o.taskId, o.status]),
        'one answer per item, in input order',
      ).toEqual([
        [one.taskId, 'ok'],
        [two.taskId, 'lease_lost'],
        [UNKNOWN_TASK_ID, 'not_found'],
      ]);
      await expectState(b, one.taskId, 'succeeded', 'its item was ok');
      await expectState(b, two.taskId, 'running', 'its item was refused');
    });
  });
}
