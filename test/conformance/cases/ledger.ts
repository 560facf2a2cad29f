/**
 * The usage and cost ledger (docs/costs.md): every model call is recorded against its task,
 * attempt, run, epic and agent, a fenced-out attempt's calls included, and totalled by run, epic,
 * task, agent and model.
 */
import { describe, expect, it } from 'vitest';
import { recordedUsage, type Backend, type UsageInput } from '../../../src/backends/backend.ts';
import type { ValidationError } from '../../../src/core/errors.ts';
import type { Lease } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import {
  PAST_QUICK_BACKOFF_MS,
  QUICK_BACKOFF,
  UNKNOWN_RUN_ID,
  UNKNOWN_TASK_ID,
  claimExpecting,
  complete,
  expectBatonError,
  fail,
  idOf,
  mustClaim,
  readAllEvents,
  registerAgent,
  submitOne,
  sweep,
} from '../helpers.ts';

/** A call of `lease`'s attempt: 1000 tokens in, 200 out, $0.25 unless told otherwise. */
export function usageOf(lease: Lease, extra: Partial<UsageInput> = {}): UsageInput {
  return {
    taskId: lease.taskId,
    token: lease.token,
    agentId: lease.agentId,
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    inputTokens: 1000,
    outputTokens: 200,
    costUsd: 0.25,
    costBasis: 'table',
    ...extra,
  };
}

/** Record a call and expect it recorded. */
export async function record(b: Backend, input: UsageInput) {
  return recordedUsage(await b.recordUsage(input), input);
}

export function ledgerCases(env: SuiteEnv): void {
  describe('usage and cost ledger', () => {
    it('records a call against its task, attempt, run, epic and agent, with a usage.recorded event', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { runId, tasks } = await b.submitRun({
        name: 'costly',
        tasks: [{ type: 'call', key: 'a', epic: 'research' }],
      });
      const lease = await mustClaim(b, agent, 'the task');
      const recorded = await record(
        b,
        usageOf(lease, {
          inputTokens: 1200,
          outputTokens: 300,
          cacheReadTokens: 500,
          cacheWriteTokens: 100,
          reasoningTokens: 50,
          costUsd: 0.0123,
          costBasis: 'provider',
        }),
      );
      const expected = {
        taskId: idOf(tasks, 'a'),
        attempt: 1,
        runId,
        epic: 'research',
        agentId: agent.id,
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        inputTokens: 1200,
        outputTokens: 300,
        cacheReadTokens: 500,
        cacheWriteTokens: 100,
        reasoningTokens: 50,
        costUsd: 0.0123,
        costBasis: 'provider',
      };
      expect(recorded, 'the record as returned').toMatchObject(expected);
      const stored = await b.usageOf(lease.taskId);
      expect(stored, 'the record as stored').toEqual([{ ...expected, at: recorded.at }]);
      const events = (await readAllEvents(b)).filter((e) => e.type === 'usage.recorded');
      expect(events, 'one usage.recorded event').toHaveLength(1);
      expect(events[0]).toMatchObject({ taskId: lease.taskId, runId, agentId: agent.id });
      expect(events[0]!.data).toEqual({
        attempt: 1,
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        inputTokens: 1200,
        outputTokens: 300,
        cacheReadTokens: 500,
        cacheWriteTokens: 100,
        reasoningTokens: 50,
        costUsd: 0.0123,
        costBasis: 'provider',
      });
    });

    it('totals by run, epic, task, agent and model, exactly to the nano-dollar', async () => {
      const { b } = env.ctx();
      const alice = await registerAgent(b, [], { id: 'alice' });
      const bob = await registerAgent(b, [], { id: 'bob' });
      const { runId, tasks } = await b.submitRun({
        tasks: [
          { type: 'call', key: 'a', epic: 'research' },
          { type: 'call', key: 'b', epic: 'research' },
          { type: 'call', key: 'c' },
        ],
      });
      const other = await b.submitRun({ tasks: [{ type: 'call', key: 'x' }] });
      const leaseA = await claimExpecting(b, alice, idOf(tasks, 'a'), 'a');
      const leaseB = await claimExpecting(b, bob, idOf(tasks, 'b'), 'b');
      const leaseC = await claimExpecting(b, alice, idOf(tasks, 'c'), 'c');
      const leaseX = await claimExpecting(b, bob, idOf(other.tasks, 'x'), 'x');
      // 0.1 + 0.2 is not 0.3 in floating point: the ledger counts nano-dollars.
      await record(b, usageOf(leaseA, { costUsd: 0.1, inputTokens: 10, outputTokens: 1 }));
      await record(b, usageOf(leaseA, { costUsd: 0.2, inputTokens: 20, outputTokens: 2 }));
      await record(
        b,
        usageOf(leaseB, { model: 'claude-haiku-4-5', costUsd: 0.000001, inputTokens: 5 }),
      );
      await record(
        b,
        usageOf(leaseC, { provider: 'openai', model: 'gpt-4.1-mini', costUsd: 0.05 }),
      );
      await record(b, usageOf(leaseX, { costUsd: 7 }));

      const byModel = await b.costs({ runId, by: 'model' });
      expect(byModel.runId).toBe(runId);
      expect(byModel.by).toBe('model');
      expect(byModel.total).toEqual({
        calls: 4,
        inputTokens: 10 + 20 + 5 + 1000,
        outputTokens: 1 + 2 + 200 + 200,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
        costUsd: 0.350001,
      });
      expect(
        byModel.groups.map((g) => [g.key, g.calls, g.costUsd]),
        'by model, the most expensive first',
      ).toEqual([
        ['anthropic:claude-sonnet-4-5', 2, 0.3],
        ['openai:gpt-4.1-mini', 1, 0.05],
        ['anthropic:claude-haiku-4-5', 1, 0.000001],
      ]);
      const pairs = async (by: 'epic' | 'task' | 'agent' | 'run', run?: string) =>
        (await b.costs({ ...(run === undefined ? {} : { runId: run }), by })).groups.map((g) => [
          g.key,
          g.costUsd,
        ]);
      expect(await pairs('epic', runId), 'by epic (null: no epic)').toEqual([
        ['research', 0.300001],
        [null, 0.05],
      ]);
      expect(await pairs('task', runId), 'by task').toEqual([
        [leaseA.taskId, 0.3],
        [leaseC.taskId, 0.05],
        [leaseB.taskId, 0.000001],
      ]);
      expect(await pairs('agent', runId), 'by agent').toEqual([
        ['alice', 0.35],
        ['bob', 0.000001],
      ]);
      expect(await pairs('run'), 'the namespace by run').toEqual([
        [other.runId, 7],
        [runId, 0.350001],
      ]);
      const all = await b.costs();
      expect(all, 'the namespace without groups').toMatchObject({
        runId: null,
        by: null,
        groups: [],
        budget: null,
      });
      expect(all.total.calls).toBe(5);
      expect(all.total.costUsd).toBe(7.350001);
    });

    it('records a call of an attempt that was fenced out: the money was spent', async () => {
      const { b, clock } = env.ctx();
      const first = await registerAgent(b, [], { id: 'first' });
      const second = await registerAgent(b, [], { id: 'second' });
      const { runId, tasks } = await b.submitRun({
        tasks: [{ type: 'call', key: 'a', backoff: QUICK_BACKOFF }],
      });
      const stale = await mustClaim(b, first, 'the task', 1_000);
      clock.advance(5_000);
      expect((await sweep(b)).expired, 'the first lease expired').toBe(1);
      clock.advance(PAST_QUICK_BACKOFF_MS);
      const current = await claimExpecting(b, second, idOf(tasks, 'a'), 'the retried task');
      // The first attempt's call finishes after it was fenced out: its outcome cannot count,
      // its cost does.
      const late = await record(b, usageOf(stale, { costUsd: 0.4 }));
      expect(late, 'counted against the fenced-out attempt and its agent').toMatchObject({
        attempt: 1,
        agentId: 'first',
        runId,
      });
      await record(b, usageOf(current, { costUsd: 0.1 }));
      const [lost] = await b.complete([{ ...stale, result: 'late' }]);
      expect(lost?.status, 'the fenced-out attempt still cannot complete').toBe('lease_lost');
      const byAgent = await b.costs({ runId, by: 'agent' });
      expect(byAgent.total.costUsd).toBe(0.5);
      expect(byAgent.groups.map((g) => [g.key, g.costUsd])).toEqual([
        ['first', 0.4],
        ['second', 0.1],
      ]);
      expect((await b.usageOf(stale.taskId)).map((u) => [u.attempt, u.agentId])).toEqual([
        [1, 'first'],
        [2, 'second'],
      ]);
    });

    it('records a call after its task was cancelled, and after the attempt succeeded', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const cancelled = await submitOne(b, { type: 'call' });
      const lease = await mustClaim(b, agent, 'the task to cancel');
      await b.cancelTask(cancelled.id);
      await record(b, usageOf(lease, { costUsd: 0.01 }));
      const done = await submitOne(b, { type: 'call' });
      const doneLease = await mustClaim(b, agent, 'the task to complete');
      await complete(b, doneLease);
      await record(b, usageOf(doneLease, { costUsd: 0.02 }));
      expect((await b.usageOf(cancelled.id)).map((u) => u.costUsd)).toEqual([0.01]);
      expect((await b.usageOf(done.id)).map((u) => [u.attempt, u.costUsd])).toEqual([[1, 0.02]]);
      expect((await b.costs()).total.costUsd).toBe(0.03);
    });

    it("refuses a call of no task, of a token never issued, or of another agent's attempt; nothing is recorded", async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b, [], { id: 'holder' });
      await registerAgent(b, [], { id: 'other' });
      await submitOne(b, { type: 'call' });
      const lease = await mustClaim(b, agent, 'the task');
      const noTask = usageOf({ ...lease, taskId: UNKNOWN_TASK_ID });
      expect(await b.recordUsage(noTask)).toEqual({ status: 'not_found', taskId: UNKNOWN_TASK_ID });
      await expectBatonError(
        b.recordUsage(noTask).then((o) => recordedUsage(o, noTask)),
        'NotFoundError',
        'BATON_NOT_FOUND',
        'a call of an unknown task',
      );
      const neverIssued = usageOf({ ...lease, token: lease.token + 1 });
      expect((await b.recordUsage(neverIssued)).status, 'a token never issued').toBe('not_held');
      const otherAgent = usageOf({ ...lease, agentId: 'other' });
      expect((await b.recordUsage(otherAgent)).status, "another agent's attempt").toBe('not_held');
      const error = await expectBatonError(
        b.recordUsage(otherAgent).then((o) => recordedUsage(o, otherAgent)),
        'ConflictError',
        'BATON_CONFLICT',
        "a call of another agent's attempt",
      );
      expect(error.message).toContain('held no attempt');
      expect(await b.usageOf(lease.taskId), 'nothing recorded').toEqual([]);
      expect((await b.costs()).total.calls).toBe(0);
      expect((await readAllEvents(b)).filter((e) => e.type === 'usage.recorded')).toEqual([]);
    });

    it('refuses malformed usage with a ValidationError naming the field; nothing is recorded', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      await submitOne(b, { type: 'call' });
      const lease = await mustClaim(b, agent, 'the task');
      const bad: [string, Partial<UsageInput>, string][] = [
        ['negative tokens', { inputTokens: -1 }, 'usage.inputTokens'],
        ['fractional tokens', { outputTokens: 1.5 }, 'usage.outputTokens'],
        [
          'cache reads over the input',
          { cacheReadTokens: 900, cacheWriteTokens: 200 },
          'usage.cacheReadTokens',
        ],
        ['reasoning over the output', { reasoningTokens: 201 }, 'usage.reasoningTokens'],
        ['a negative cost', { costUsd: -0.01 }, 'usage.costUsd'],
        ['a cost that is not a number', { costUsd: 'free' as never }, 'usage.costUsd'],
        ['an unknown basis', { costBasis: 'guess' as never }, 'usage.costBasis'],
        ['no model', { model: '' }, 'usage.model'],
      ];
      for (const [what, extra, path] of bad) {
        const error = await expectBatonError<ValidationError>(
          b.recordUsage(usageOf(lease, extra)),
          'ValidationError',
          'BATON_VALIDATION',
          what,
        );
        expect(
          error.issues.map((i) => i.path),
          what,
        ).toContain(path);
      }
      expect(await b.usageOf(lease.taskId)).toEqual([]);
      expect((await b.costs()).total.calls).toBe(0);
    });

    it("puts each attempt's cost on its task.succeeded and task.failed events, and none on an attempt without calls", async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'call', maxAttempts: 3, backoff: QUICK_BACKOFF });
      const first = await mustClaim(b, agent, 'attempt 1');
      await record(b, usageOf(first, { costUsd: 0.1 }));
      await record(b, usageOf(first, { costUsd: 0.05 }));
      await fail(b, first);
      clock.advance(PAST_QUICK_BACKOFF_MS);
      const second = await claimExpecting(b, agent, id, 'attempt 2');
      await fail(b, second);
      clock.advance(PAST_QUICK_BACKOFF_MS);
      const third = await claimExpecting(b, agent, id, 'attempt 3');
      await record(b, usageOf(third, { costUsd: 0.2 }));
      await complete(b, third, 'ok');
      const events = (await readAllEvents(b)).filter((e) => e.taskId === id);
      const ends = events
        .filter((e) => e.type === 'task.retrying' || e.type === 'task.succeeded')
        .map((e) => [e.type, e.data.attempt, e.data.costUsd]);
      expect(ends).toEqual([
        ['task.retrying', 1, 0.15],
        ['task.retrying', 2, undefined],
        ['task.succeeded', 3, 0.2],
      ]);

      const { id: failing } = await submitOne(b, { type: 'call', maxAttempts: 1 });
      const only = await claimExpecting(b, agent, failing, 'the failing task');
      await record(b, usageOf(only, { costUsd: 0.003 }));
      await fail(b, only);
      const failed = (await readAllEvents(b)).find(
        (e) => e.type === 'task.failed' && e.taskId === failing,
      );
      expect(failed?.data.costUsd, "task.failed carries the attempt's cost").toBe(0.003);
    });

    it('counts calls of standalone tasks in the namespace, under no run', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      await submitOne(b, { type: 'call', epic: 'solo' });
      const lease = await mustClaim(b, agent, 'the standalone task');
      const recorded = await record(b, usageOf(lease, { costUsd: 1.5 }));
      expect(recorded).toMatchObject({ runId: null, epic: 'solo' });
      const byRun = await b.costs({ by: 'run' });
      expect(byRun.groups.map((g) => [g.key, g.costUsd])).toEqual([[null, 1.5]]);
      expect((await b.costs({ by: 'epic' })).groups.map((g) => g.key)).toEqual(['solo']);
    });

    it('costs of an unknown run is NotFoundError; a bad group is a ValidationError', async () => {
      const { b } = env.ctx();
      await expectBatonError(
        b.costs({ runId: UNKNOWN_RUN_ID }),
        'NotFoundError',
        'BATON_NOT_FOUND',
        'costs of an unknown run',
      );
      await expectBatonError(
        b.costs({ by: 'planet' as 'model' }),
        'ValidationError',
        'BATON_VALIDATION',
        'costs by an unknown group',
      );
      const { runId } = await b.submitRun({ tasks: [{ type: 'call' }] });
      expect(await b.costs({ runId, by: 'model' }), 'a run without calls').toEqual({
        runId,
        total: {
          calls: 0,
          inputTokens: 0,
          outputTokens: 0,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
          costUsd: 0,
        },
        by: 'model',
        groups: [],
        budget: null,
      });
    });

    it('the ledger survives a restart of the store', async () => {
      if (!env.options.reopen) return;
      const ctx = env.ctx();
      const agent = await registerAgent(ctx.b);
      const { runId } = await ctx.b.submitRun({ tasks: [{ type: 'call' }] });
      const lease = await mustClaim(ctx.b, agent, 'the task');
      await record(ctx.b, usageOf(lease, { costUsd: 0.75 }));
      const b = await ctx.reopen();
      expect((await b.costs({ runId })).total).toMatchObject({ calls: 1, costUsd: 0.75 });
      expect(await b.usageOf(lease.taskId)).toHaveLength(1);
    });
  });
}
