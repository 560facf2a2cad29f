/**
 * Retrying (replaying) a failed task: `Backend.retryTask`. The task gets a fresh attempt budget
 * and keeps its history (its attempts are numbered on from the failed ones), its run reopens, the dependents its failure skipped come back, and
 * every count stays the sum of the tasks.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import type { AgentRecord, TaskState } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import {
  UNKNOWN_TASK_ID,
  claimExpecting,
  complete,
  expectBatonError,
  expectState,
  fail,
  getTask,
  idOf,
  mustClaim,
  readAllEvents,
  registerAgent,
  submitOne,
  typesOf,
} from '../helpers.ts';

/** Fail the task's next attempt for good (no retry), claiming it first. */
async function failForGood(b: Backend, agent: AgentRecord, taskId: string, what: string) {
  const lease = await claimExpecting(b, agent, taskId, what);
  await fail(b, lease, { message: `${what} broke`, code: 'E_BROKE' }, { retryable: false });
  await expectState(b, taskId, 'failed', `${what} failed for good`);
}

/** Claim the task and complete it. */
async function runToSuccess(b: Backend, agent: AgentRecord, taskId: string, what: string) {
  await complete(b, await claimExpecting(b, agent, taskId, what), `${what} done`);
}

/** Every count (namespace stats, each run's progress) equals the tally of the tasks themselves. */
async function expectCountsCoherent(b: Backend, why: string): Promise<void> {
  const { tasks } = await b.listTasks({ limit: 1000 });
  const tally = (list: { state: TaskState }[]) => {
    const counts: Partial<Record<TaskState, number>> = {};
    for (const t of list) counts[t.state] = (counts[t.state] ?? 0) + 1;
    return counts;
  };
  const nonZero = (counts: Record<TaskState, number>) =>
    Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
  expect(nonZero((await b.stats()).byState), `stats().byState: ${why}`).toEqual(tally(tasks));
  const runIds = [...new Set(tasks.flatMap((t) => (t.runId === null ? [] : [t.runId])))];
  for (const runId of runIds) {
    const run = await b.getRun(runId);
    expect(nonZero(run!.progress.byState), `progress of run ${runId}: ${why}`).toEqual(
      tally(tasks.filter((t) => t.runId === runId)),
    );
  }
}

export function replayCases(env: SuiteEnv): void {
  describe('retryTask (replay a failed task)', () => {
    it('a failed task is ready again with a fresh attempt budget, numbers its attempts on, keeps its history, and runs to success', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 2 });
      const first = await mustClaim(b, agent, 'attempt 1');
      await fail(b, first, { message: 'one' }, { retryDelayMs: 0 });
      const second = await claimExpecting(b, agent, id, 'attempt 2');
      await fail(b, second, { message: 'two', code: 'E2' }, { retryDelayMs: 0 });
      const failed = await expectState(b, id, 'failed', 'both attempts failed');
      expect(failed.finishedAt).not.toBeNull();

      clock.advance(50);
      const retried = await b.retryTask(id, { reason: 'fixed the bug' });
      expect(retried, 'retryTask answers the task as it is now').toMatchObject({
        id,
        state: 'ready',
        attempts: 2,
        maxAttempts: 4,
        error: null,
        finishedAt: null,
        updatedAt: clock.now(),
      });
      expect(await getTask(b, id)).toEqual(retried);
      const [listed] = (await b.listTasks({ state: 'ready' })).tasks;
      expect(listed, 'listTasks says the same').toEqual(retried);

      // A fresh budget: two more attempts, numbered on from the failed ones (3 and 4 of 4); a
      // failure is retried again.
      const third = await claimExpecting(b, agent, id, 'the retried task');
      expect(third.attempt, 'the replay numbers its attempts on: 3 after 2').toBe(3);
      expect(third.task).toMatchObject({ attempts: 3, maxAttempts: 4 });
      expect(third.token, 'the token keeps growing').toBeGreaterThan(second.token);
      const again = await fail(b, third, { message: 'three' }, { retryDelayMs: 0 });
      expect(again, 'maxAttempts 2: the replay has an attempt left').toMatchObject({
        status: 'ok',
        state: 'ready',
      });
      const fourth = await claimExpecting(b, agent, id, 'the replay, its second attempt');
      expect(fourth.attempt).toBe(4);
      expect(await getTask(b, id)).toMatchObject({ attempts: 4, maxAttempts: 4 });
      await complete(b, fourth, 'finally');
      const done = await expectState(b, id, 'succeeded', 'the replay succeeded');
      expect(done).toMatchObject({ attempts: 4, maxAttempts: 4 });

      const attempts = await b.getAttempts(id);
      expect(
        attempts.map((a) => [a.attempt, a.outcome, a.error?.message ?? null]),
        'the earlier attempts are kept, the replay follows them in the order they started',
      ).toEqual([
        [1, 'failed', 'one'],
        [2, 'failed', 'two'],
        [3, 'failed', 'three'],
        [4, 'succeeded', null],
      ]);

      const events = await readAllEvents(b);
      const retriedEvents = events.filter((e) => e.type === 'task.retried');
      expect(retriedEvents).toHaveLength(1);
      expect(retriedEvents[0]).toMatchObject({
        taskId: id,
        runId: null,
        agentId: null,
        at: clock.now(),
        data: { reason: 'fixed the bug', previousAttempts: 2 },
      });
      expect(typesOf(events, id)).toEqual([
        'task.submitted',
        'task.claimed',
        'task.retrying',
        'task.claimed',
        'task.failed',
        'task.retried',
        'task.claimed',
        'task.retrying',
        'task.claimed',
        'task.succeeded',
      ]);
      expect(
        events
          .filter((e) => e.taskId === id && e.data.attempt !== undefined)
          .map((e) => [e.type, e.data.attempt]),
        'the events number the attempts as getAttempts does',
      ).toEqual([
        ['task.claimed', 1],
        ['task.retrying', 1],
        ['task.claimed', 2],
        ['task.failed', 2],
        ['task.claimed', 3],
        ['task.retrying', 3],
        ['task.claimed', 4],
        ['task.succeeded', 4],
      ]);
      await expectCountsCoherent(b, 'after the replay succeeded');
    });

    it('without a reason the event says null; a reason that is not a string is refused', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 1 });
      await failForGood(b, agent, id, 'the task');
      await expectBatonError(
        b.retryTask(id, { reason: 42 as unknown as string }),
        'ValidationError',
        'BATON_VALIDATION',
        'retryTask with a numeric reason',
      );
      await expectState(b, id, 'failed', 'a refused retry changes nothing');
      await b.retryTask(id);
      const [event] = (await readAllEvents(b)).filter((e) => e.type === 'task.retried');
      expect(event?.data).toEqual({ reason: null, previousAttempts: 1 });
    });

    it('each retry grants the maxAttempts the task was submitted with, not the raised budget', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 2 });
      const first = await claimExpecting(b, agent, id, 'attempt 1');
      await fail(b, first, { message: 'one' }, { retryDelayMs: 0 });
      await failForGood(b, agent, id, 'attempt 2');
      expect(await b.retryTask(id)).toMatchObject({ attempts: 2, maxAttempts: 4 });
      for (const n of [3, 4]) {
        const lease = await claimExpecting(b, agent, id, `attempt ${n}`);
        expect(lease.attempt).toBe(n);
        await fail(b, lease, { message: `no ${n}` }, { retryDelayMs: 0 });
      }
      expect(
        await expectState(b, id, 'failed', 'the retry used its 2 attempts up'),
        'the budget was the limit, as before any retry',
      ).toMatchObject({ attempts: 4, maxAttempts: 4 });

      // The second retry adds 2 again (4 + 2 = 6), not the raised 4.
      expect(await b.retryTask(id)).toMatchObject({ attempts: 4, maxAttempts: 6 });
      const fifth = await claimExpecting(b, agent, id, 'attempt 5');
      expect(fifth.attempt).toBe(5);
      expect(fifth.task.maxAttempts).toBe(6);
      await complete(b, fifth, 'at last');
      expect((await b.getAttempts(id)).map((a) => [a.attempt, a.outcome])).toEqual([
        [1, 'failed'],
        [2, 'failed'],
        [3, 'failed'],
        [4, 'failed'],
        [5, 'succeeded'],
      ]);
      const retried = (await readAllEvents(b)).filter((e) => e.type === 'task.retried');
      expect(retried.map((e) => e.data.previousAttempts)).toEqual([2, 4]);
    });

    it('a task that failed for good before using its budget gets its whole maxAttempts again', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 3 });
      await failForGood(b, agent, id, 'attempt 1, not retryable');
      expect(await getTask(b, id)).toMatchObject({ attempts: 1, maxAttempts: 3 });
      expect(await b.retryTask(id)).toMatchObject({ attempts: 1, maxAttempts: 4 });
      for (const n of [2, 3, 4]) {
        const lease = await claimExpecting(b, agent, id, `attempt ${n}`);
        expect(lease.attempt).toBe(n);
        await fail(b, lease, { message: `no ${n}` }, { retryDelayMs: 0 });
      }
      expect(await expectState(b, id, 'failed', 'three attempts after the retry')).toMatchObject({
        attempts: 4,
        maxAttempts: 4,
      });
    });

    it('a released attempt is given back: the retried task numbers on from the attempts it counted', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 1 });
      const released = await claimExpecting(b, agent, id, 'attempt 1, released');
      await b.release([{ taskId: id, token: released.token, agentId: released.agentId }]);
      await failForGood(b, agent, id, 'attempt 1 again');
      expect(await b.retryTask(id)).toMatchObject({ attempts: 1, maxAttempts: 2 });
      const lease = await claimExpecting(b, agent, id, 'the retried task');
      expect(lease.attempt).toBe(2);
      await complete(b, lease, 'done');
      expect((await b.getAttempts(id)).map((a) => [a.attempt, a.outcome])).toEqual([
        [1, 'released'],
        [1, 'failed'],
        [2, 'succeeded'],
      ]);
    });

    it('the finished run reopens, and completes again when the task succeeds', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        name: 'replayed',
        tasks: [
          { type: 'x', key: 'ok', priority: 'high' },
          { type: 'x', key: 'flaky', maxAttempts: 1 },
        ],
      });
      const flaky = idOf(run.tasks, 'flaky');
      await runToSuccess(b, agent, idOf(run.tasks, 'ok'), 'ok');
      await failForGood(b, agent, flaky, 'flaky');
      const ended = await b.getRun(run.runId);
      expect(ended).toMatchObject({ state: 'failed', finishedAt: clock.now() });

      clock.advance(10);
      await b.retryTask(flaky);
      const reopened = await b.getRun(run.runId);
      expect(reopened, 'the run is running again').toMatchObject({
        state: 'running',
        finishedAt: null,
      });
      expect(reopened?.progress.byState).toMatchObject({ ready: 1, succeeded: 1, failed: 0 });
      expect(reopened?.progress.done).toBe(0.5);
      const reopenEvents = (await readAllEvents(b)).filter((e) => e.type === 'run.reopened');
      expect(reopenEvents).toHaveLength(1);
      expect(reopenEvents[0]).toMatchObject({
        runId: run.runId,
        taskId: null,
        data: { from: 'failed', retriedTaskId: flaky },
      });
      await expectCountsCoherent(b, 'right after the retry');

      clock.advance(10);
      await runToSuccess(b, agent, flaky, 'the retried task');
      expect(await b.getRun(run.runId)).toMatchObject({
        state: 'succeeded',
        finishedAt: clock.now(),
      });
      const runEvents = (await readAllEvents(b))
        .filter((e) => e.runId === run.runId && e.taskId === null)
        .map((e) => [e.type, e.data.state ?? e.data.from]);
      expect(runEvents).toEqual([
        ['run.submitted', undefined],
        ['run.completed', 'failed'],
        ['run.reopened', 'failed'],
        ['run.completed', 'succeeded'],
      ]);
      await expectCountsCoherent(b, 'after the run completed again');
    });

    it('revives the dependents its failure skipped, downstream, and they run in order', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a', maxAttempts: 1 },
          { type: 'x', key: 'b', dependsOn: ['a'] },
          { type: 'x', key: 'c', dependsOn: ['b'] },
          { type: 'x', key: 'soft', dependsOn: [{ key: 'a', soft: true }] },
        ],
      });
      const [a, bb, c, soft] = ['a', 'b', 'c', 'soft'].map((k) => idOf(run.tasks, k)) as [
        string,
        string,
        string,
        string,
      ];
      await failForGood(b, agent, a, 'a');
      await expectState(b, bb, 'skipped', 'b depends hard on a');
      await expectState(b, c, 'skipped', 'c depends on b');
      await runToSuccess(b, agent, soft, 'the soft dependent, released by the failure');

      await b.retryTask(a);
      for (const [id, key] of [
        [bb, 'b'],
        [c, 'c'],
      ] as const) {
        const task = await expectState(b, id, 'blocked', `${key} is revived, waiting again`);
        expect(task.error, `${key}'s skip error is cleared`).toBeNull();
        expect(task.finishedAt).toBeNull();
      }
      await expectState(b, soft, 'succeeded', 'a soft dependent is left as it is');
      const events = await readAllEvents(b);
      const revived = events.filter((e) => e.type === 'task.revived');
      expect(revived.map((e) => e.taskId)).toEqual([bb, c]);
      expect(revived.every((e) => e.data.retriedTaskId === a && e.runId === run.runId)).toBe(true);
      expect((await b.getRun(run.runId))?.progress.byState).toMatchObject({
        ready: 1,
        blocked: 2,
        succeeded: 1,
        skipped: 0,
        failed: 0,
      });
      await expectCountsCoherent(b, 'after the revival');

      await runToSuccess(b, agent, a, 'a, retried');
      await expectState(b, c, 'blocked', 'c still waits for b');
      await runToSuccess(b, agent, bb, 'b, released by a');
      await runToSuccess(b, agent, c, 'c, released by b');
      expect((await b.getRun(run.runId))?.state).toBe('succeeded');
      await expectCountsCoherent(b, 'after the whole run succeeded');
    });

    it('diamond: a dependent another failure skipped stays skipped until that one is retried too', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a', maxAttempts: 1, priority: 'high' },
          { type: 'x', key: 'b', maxAttempts: 1 },
          { type: 'x', key: 'c', dependsOn: ['a', 'b'] },
        ],
      });
      const [a, bb, c] = ['a', 'b', 'c'].map((k) => idOf(run.tasks, k)) as [string, string, string];
      await failForGood(b, agent, a, 'a');
      await failForGood(b, agent, bb, 'b');
      await expectState(b, c, 'skipped', 'its hard dependencies failed');
      const refused = await expectBatonError(
        b.retryTask(c),
        'ConflictError',
        'BATON_CONFLICT',
        'retryTask of a skipped task',
      );
      expect(refused.message).toContain('retry the failed task it depends on');

      await b.retryTask(a);
      await expectState(b, c, 'skipped', 'b is still failed: c could not run');
      expect(typesOf(await readAllEvents(b), c), 'no task.revived for c yet').not.toContain(
        'task.revived',
      );
      await expectCountsCoherent(b, 'after retrying a alone');

      await b.retryTask(bb);
      const revived = await expectState(b, c, 'blocked', 'both of its dependencies can run');
      expect(revived.error).toBeNull();
      expect(typesOf(await readAllEvents(b), c).filter((t) => t === 'task.revived')).toHaveLength(
        1,
      );
      await expectCountsCoherent(b, 'after retrying b too');

      await runToSuccess(b, agent, a, 'a');
      await expectState(b, c, 'blocked', 'c waits for b as well');
      await runToSuccess(b, agent, bb, 'b');
      await runToSuccess(b, agent, c, 'c, released by both');
      expect((await b.getRun(run.runId))?.state).toBe('succeeded');
    });

    it("a blocked soft dependent waits for the retried task's new outcome, not only its old one", async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a', maxAttempts: 1, priority: 'high' },
          { type: 'x', key: 'slow' },
          { type: 'x', key: 'd', dependsOn: [{ key: 'a', soft: true }, 'slow'] },
        ],
      });
      const [a, slow, d] = ['a', 'slow', 'd'].map((k) => idOf(run.tasks, k)) as [
        string,
        string,
        string,
      ];
      await failForGood(b, agent, a, 'a');
      await expectState(b, d, 'blocked', 'released by a, still waiting for slow');
      await b.retryTask(a);
      const again = await claimExpecting(b, agent, a, 'a, retried (high priority)');
      await runToSuccess(b, agent, slow, 'slow');
      await expectState(b, d, 'blocked', 'a runs again: d waits for its new outcome');
      await complete(b, again, 'a done');
      await expectState(b, d, 'ready', 'released by both');
      await runToSuccess(b, agent, d, 'd');
      expect((await b.getRun(run.runId))?.state).toBe('succeeded');
      await expectCountsCoherent(b, 'after the run succeeded');
    });

    it('a revived task also waits for a dependency that had ended before it was submitted and was retried since', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a', maxAttempts: 1, priority: 'high' },
          { type: 't', key: 't', maxAttempts: 1 },
        ],
      });
      const [a, t] = ['a', 't'].map((k) => idOf(run.tasks, k)) as [string, string];
      await failForGood(b, agent, a, 'a');
      // Added after a failed: its soft dependency on a has ended already, t has not.
      const [added] = await b.submitTasks(
        [{ type: 'x', key: 'd', dependsOn: [{ key: 'a', soft: true }, 't'] }],
        { runId: run.runId },
      );
      const d = added!.id;
      await failForGood(b, agent, t, 't');
      await expectState(b, d, 'skipped', 't failed');

      await b.retryTask(a);
      await b.retryTask(t);
      await expectState(b, d, 'blocked', 'revived: it waits for a and t');
      const again = await claimExpecting(b, agent, a, 'a, retried (high priority)');
      await runToSuccess(b, agent, t, 't');
      await expectState(b, d, 'blocked', 'a is running again: d waits for it too');
      await complete(b, again, 'a done');
      await expectState(b, d, 'ready', 'released by both');
      await runToSuccess(b, agent, d, 'd');
      expect((await b.getRun(run.runId))?.state).toBe('succeeded');
      await expectCountsCoherent(b, 'after the run succeeded');
    });

    it('a dependent in another run is revived and its run reopened, unless that run was cancelled', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const first = await b.submitRun({
        name: 'first',
        tasks: [{ type: 'x', key: 'a', idempotencyKey: 'shared-a', maxAttempts: 1 }],
      });
      const a = idOf(first.tasks, 'a');
      // Two runs whose task 'a' is the first run's (same idempotency key).
      const open = await b.submitRun({
        name: 'depends',
        tasks: [
          { type: 'x', key: 'a', idempotencyKey: 'shared-a' },
          { type: 'x', key: 'd', dependsOn: ['a'] },
          { type: 'y', key: 'e' },
        ],
      });
      const cancelled = await b.submitRun({
        name: 'cancelled',
        tasks: [
          { type: 'x', key: 'a', idempotencyKey: 'shared-a' },
          { type: 'x', key: 'd', dependsOn: ['a'] },
          { type: 'y', key: 'e' },
        ],
      });
      expect(idOf(open.tasks, 'a'), 'the same task').toBe(a);
      await failForGood(b, agent, a, 'a');
      await runToSuccess(b, agent, idOf(open.tasks, 'e'), "the other run's e");
      await b.cancelTask(idOf(cancelled.tasks, 'e'));
      expect((await b.getRun(open.runId))?.state).toBe('failed');
      expect((await b.getRun(cancelled.runId))?.state).toBe('cancelled');

      await b.retryTask(a);
      await expectState(b, idOf(open.tasks, 'd'), 'blocked', 'revived in the other run');
      expect(await b.getRun(open.runId)).toMatchObject({ state: 'running', finishedAt: null });
      await expectState(
        b,
        idOf(cancelled.tasks, 'd'),
        'skipped',
        'its run was cancelled: it stays skipped',
      );
      expect((await b.getRun(cancelled.runId))?.state).toBe('cancelled');
      const reopened = (await readAllEvents(b)).filter((e) => e.type === 'run.reopened');
      expect(reopened.map((e) => e.runId).sort()).toEqual([first.runId, open.runId].sort());
      await expectCountsCoherent(b, 'after the revival across runs');

      await runToSuccess(b, agent, a, 'a');
      await runToSuccess(b, agent, idOf(open.tasks, 'd'), 'd');
      expect((await b.getRun(open.runId))?.state).toBe('succeeded');
      expect((await b.getRun(first.runId))?.state).toBe('succeeded');
    });

    it('a task that is not failed is refused with a ConflictError, and nothing changes', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'done', priority: 'critical' },
          { type: 'x', key: 'busy', priority: 'high' },
          { type: 'x', key: 'waiting' },
          { type: 'x', key: 'blocked', dependsOn: ['busy'] },
          { type: 'x', key: 'later', runAfter: clock.now() + 60_000 },
          { type: 'x', key: 'dropped' },
        ],
      });
      await runToSuccess(b, agent, idOf(run.tasks, 'done'), 'done');
      await claimExpecting(b, agent, idOf(run.tasks, 'busy'), 'busy');
      await b.cancelTask(idOf(run.tasks, 'dropped'));
      const states: Record<string, TaskState> = {
        done: 'succeeded',
        busy: 'running',
        waiting: 'ready',
        blocked: 'blocked',
        later: 'delayed',
        dropped: 'cancelled',
      };
      const before = await readAllEvents(b);
      const statsBefore = await b.stats();
      clock.advance(10);
      for (const [key, state] of Object.entries(states)) {
        const id = idOf(run.tasks, key);
        const task = await expectState(b, id, state, `${key} before the retry`);
        const error = await expectBatonError(
          b.retryTask(id, { reason: 'try' }),
          'ConflictError',
          'BATON_CONFLICT',
          `retryTask of a ${state} task`,
        );
        expect(error.message).toContain(`is ${state}`);
        expect(error.message).toContain('only failed tasks can be retried');
        expect(error.details).toMatchObject({ taskId: id, state });
        expect(await getTask(b, id), `a refused retry leaves ${key} as it was`).toEqual(task);
      }
      expect(await readAllEvents(b), 'no event was written').toEqual(before);
      expect(await b.stats()).toEqual(statsBefore);
    });

    it('retrying twice: the second retry is refused (the task is ready, not failed)', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 1 });
      await failForGood(b, agent, id, 'the task');
      await b.retryTask(id);
      const before = await readAllEvents(b);
      await expectBatonError(
        b.retryTask(id),
        'ConflictError',
        'BATON_CONFLICT',
        'a second retryTask',
      );
      expect(await readAllEvents(b)).toEqual(before);
      await expectState(b, id, 'ready', 'still ready once');
      expect((await b.stats()).byState).toMatchObject({ ready: 1, failed: 0 });
    });

    it("wakes a worker's waitForWork at once: the retried task is ready work", async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 1 });
      await failForGood(b, agent, id, 'the task');
      // Use up any wake-up left by the submit, so only the retry can end the next wait.
      await b.waitForWork({ capabilities: [], timeoutMs: 50 });
      const started = performance.now();
      const waiting = b.waitForWork({ capabilities: [], timeoutMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await b.retryTask(id);
      await waiting;
      expect(
        performance.now() - started,
        'the retry woke the wait, well before its 10 s timeout',
      ).toBeLessThan(5_000);
      await claimExpecting(b, agent, id, 'the retried task');
    });

    it('an unknown task id throws NotFoundError', async () => {
      const { b } = env.ctx();
      await expectBatonError(
        b.retryTask(UNKNOWN_TASK_ID),
        'NotFoundError',
        'BATON_NOT_FOUND',
        'retryTask of an unknown id',
      );
    });
  });
}
