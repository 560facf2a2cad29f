import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import type { AgentRecord } from '../../../src/core/types.ts';
import type { ManualClock } from '../../helpers/clock.ts';
import type { SuiteEnv } from '../context.ts';
import {
  attemptOutcomes,
  claimExpecting,
  complete,
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

/** Check a retried task is not claimable `ms - 1` after now, and is claimable `ms + 1` after now. */
async function expectClaimableAfter(
  b: Backend,
  clock: ManualClock,
  agent: AgentRecord,
  taskId: string,
  ms: number,
  what: string,
) {
  const start = clock.now();
  clock.set(start + ms - 1);
  await sweep(b);
  await expectNothingClaimable(b, agent, `${what}: the backoff of ${ms} ms has not passed yet`);
  clock.set(start + ms + 1);
  await sweep(b);
  return claimExpecting(
    b,
    agent,
    taskId,
    `${what}: the task once its backoff of ${ms} ms has passed`,
  );
}

const EXACT = { baseMs: 1_000, factor: 2, maxMs: 60_000, jitter: 'none' } as const;

export function retryCases(env: SuiteEnv): void {
  describe('retries', () => {
    it('fail → delayed with backoff (base, then ×factor), task.retrying, up to maxAttempts, then failed', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'flaky', maxAttempts: 3, backoff: EXACT });

      const first = await mustClaim(b, agent, 'attempt 1');
      const outcome = await fail(b, first, { message: 'first failure', code: 'E1' });
      expect(outcome, 'a failure with attempts left answers the new state').toMatchObject({
        status: 'ok',
        state: 'delayed',
      });
      const delayed = await expectState(
        b,
        id,
        'delayed',
        'after a failed attempt with attempts left',
      );
      expect(delayed.error, 'the last error is kept on the task').toMatchObject({
        message: 'first failure',
        code: 'E1',
      });
      await expectNothingClaimable(b, agent, 'the retry waits for its backoff');

      const second = await expectClaimableAfter(b, clock, agent, id, 1_000, 'retry 1 (baseMs)');
      expect(second.attempt).toBe(2);
      await fail(b, second, { message: 'second failure' });
      const third = await expectClaimableAfter(
        b,
        clock,
        agent,
        id,
        2_000,
        'retry 2 (baseMs × factor)',
      );
      expect(third.attempt).toBe(3);
      const last = await fail(b, third, { message: 'third failure', code: 'E3' });
      expect(last, 'the last allowed attempt failing fails the task').toMatchObject({
        status: 'ok',
        state: 'failed',
      });

      const task = await expectState(b, id, 'failed', 'after maxAttempts failures');
      expect(task.attempts).toBe(3);
      expect(task.error).toMatchObject({ message: 'third failure', code: 'E3' });
      expect(task.finishedAt, 'finishedAt comes from the clock').toBe(clock.now());
      const attempts = await b.getAttempts(id);
      expect(
        attempts.map((a) => [a.attempt, a.outcome, a.error?.message]),
        'three failed attempts',
      ).toEqual([
        [1, 'failed', 'first failure'],
        [2, 'failed', 'second failure'],
        [3, 'failed', 'third failure'],
      ]);
      clock.advance(3_600_000);
      await sweep(b);
      await expectNothingClaimable(b, agent, 'a failed task is never retried again');
      expect(milestonesOf(await readAllEvents(b), id), 'the events of the whole life').toEqual([
        'task.submitted',
        'task.claimed',
        'task.retrying',
        'task.claimed',
        'task.retrying',
        'task.claimed',
        'task.failed',
      ]);
    });

    it('the backoff never exceeds maxMs', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, {
        type: 'x',
        maxAttempts: 3,
        backoff: { baseMs: 1_000, factor: 10, maxMs: 1_500, jitter: 'none' },
      });
      await fail(b, await mustClaim(b, agent, 'attempt 1'));
      const second = await expectClaimableAfter(b, clock, agent, id, 1_000, 'retry 1');
      await fail(b, second);
      await expectClaimableAfter(
        b,
        clock,
        agent,
        id,
        1_500,
        'retry 2, capped at maxMs instead of 10 000',
      );
    });

    it('equal jitter waits between half and all of the delay', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', backoff: { baseMs: 1_000, jitter: 'equal' } });
      await fail(b, await mustClaim(b, agent, 'attempt 1'));
      const start = clock.now();
      clock.set(start + 499);
      await sweep(b);
      await expectNothingClaimable(b, agent, 'equal jitter waits at least half of baseMs');
      clock.set(start + 1_001);
      await sweep(b);
      await claimExpecting(b, agent, id, 'the retry, at most baseMs later');
    });

    it('retryDelayMs overrides the backoff policy', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', backoff: EXACT });
      await fail(
        b,
        await mustClaim(b, agent, 'attempt 1'),
        { message: 'rate limited' },
        { retryDelayMs: 5_000 },
      );
      await expectClaimableAfter(
        b,
        clock,
        agent,
        id,
        5_000,
        'retry after an explicit retryDelayMs',
      );
    });

    it('retryable: false on the fail call fails the task at once', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 5 });
      await fail(
        b,
        await mustClaim(b, agent, 'attempt 1'),
        { message: 'bad input' },
        { retryable: false },
      );
      await expectState(
        b,
        id,
        'failed',
        'a non-retryable failure ends the task despite 4 attempts left',
      );
      const events = await readAllEvents(b);
      expect(milestonesOf(events, id), 'no retry is announced').toEqual([
        'task.submitted',
        'task.claimed',
        'task.failed',
      ]);
    });

    it('error.retryable: false fails the task at once', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 5 });
      await fail(b, await mustClaim(b, agent, 'attempt 1'), {
        message: 'unrecoverable',
        code: 'BATON_NON_RETRYABLE',
        retryable: false,
      });
      const task = await expectState(b, id, 'failed', 'the error said it was not retryable');
      expect(task.error?.code).toBe('BATON_NON_RETRYABLE');
    });

    it('a reported error is stored as plain fields, its long texts truncated', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 1 });
      const error = {
        message: 'm'.repeat(100_000),
        code: 'E_BIG',
        stack: 's'.repeat(100_000),
        // What a thrown error may drag along: not part of a TaskError, and not JSON-safe.
        socket: { self: null as unknown },
      };
      error.socket.self = error.socket;
      await fail(b, await mustClaim(b, agent, 'the only attempt'), error);
      const task = await expectState(b, id, 'failed', 'its only attempt failed');
      expect(task.error?.code).toBe('E_BIG');
      expect(task.error?.message.length, 'the message is cut').toBeLessThan(20_000);
      expect(task.error?.message).toMatch(/truncated\)$/);
      expect(task.error?.stack?.length, 'the stack is cut').toBeLessThan(20_000);
      expect(Object.keys(task.error ?? {}).sort(), 'only TaskError fields are kept').toEqual([
        'code',
        'message',
        'stack',
      ]);
    });

    it('maxAttempts: 1 fails on the first failure', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 1 });
      await fail(b, await mustClaim(b, agent, 'the only attempt'));
      await expectState(b, id, 'failed', 'no attempts were left');
    });

    it('a failure reported as timed_out records that outcome', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 1 });
      await fail(
        b,
        await mustClaim(b, agent, 'the task'),
        { message: 'handler timed out', code: 'BATON_TIMEOUT' },
        { outcome: 'timed_out' },
      );
      expect(await attemptOutcomes(b, id)).toEqual(['timed_out']);
    });
  });

  describe('timeouts', () => {
    it('an attempt past timeoutMs is timed out by sweep (BATON_TIMEOUT), even while its lease is renewed', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'slow', timeoutMs: 5_000, maxAttempts: 1 });
      const lease = await mustClaim(b, agent, 'the task', 60_000);
      clock.advance(4_000);
      await b.renew(agent.id, [lease], 60_000);
      clock.advance(999);
      expect((await sweep(b)).timedOut, 'not timed out before timeoutMs').toBe(0);
      clock.advance(2);
      const swept = await sweep(b);
      expect(swept.timedOut, 'sweep times out the attempt once timeoutMs has passed').toBe(1);
      const task = await expectState(b, id, 'failed', 'its only attempt timed out');
      expect(task.error?.code, 'the task error says it timed out').toBe('BATON_TIMEOUT');
      const [attempt] = await b.getAttempts(id);
      expect(attempt?.outcome).toBe('timed_out');
      expect(attempt?.error?.code).toBe('BATON_TIMEOUT');
      const [late] = await b.complete([
        { taskId: id, token: lease.token, agentId: lease.agentId, result: 'too late' },
      ]);
      expectLeaseLost(late, lease.token, 'complete after the attempt timed out');
    });

    it('a timed-out attempt with attempts left is retried', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, {
        type: 'slow',
        timeoutMs: 5_000,
        maxAttempts: 2,
        backoff: { baseMs: 100, maxMs: 100, jitter: 'none' },
      });
      await mustClaim(b, agent, 'attempt 1', 60_000);
      clock.advance(5_001);
      await sweep(b);
      expect(await attemptOutcomes(b, id), 'attempt 1 timed out').toEqual(['timed_out']);
      expect(milestonesOf(await readAllEvents(b), id), 'a retry is announced').toContain(
        'task.retrying',
      );
      clock.advance(1_000);
      await sweep(b);
      const second = await claimExpecting(b, agent, id, 'attempt 2 after a timeout');
      expect(second.attempt).toBe(2);
      await complete(b, second, 'ok');
      expect((await getTask(b, id)).state).toBe('succeeded');
    });
  });
}
