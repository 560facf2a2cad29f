/**
 * Budgets and reservations (docs/costs.md): a call reserves its worst case against its run's and
 * task's budgets, atomically, so concurrent calls cannot overshoot; it settles to the actual cost
 * when recorded; a reservation belongs to its lease, and the sweep releases it once the lease is
 * lost.
 */
import { describe, expect, it } from 'vitest';
import { reservationOf, type Backend } from '../../../src/backends/backend.ts';
import { BudgetExceededError, type ValidationError } from '../../../src/core/errors.ts';
import type { Lease, TaskSpec } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import {
  PAST_QUICK_BACKOFF_MS,
  QUICK_BACKOFF,
  claim,
  claimExpecting,
  complete,
  expectBatonError,
  expectStoreEmpty,
  mustClaim,
  registerAgent,
  submitOne,
  sweep,
} from '../helpers.ts';
import { record, usageOf } from './ledger.ts';

/** Reserve `usd` for `lease`'s call, expecting it held. */
async function reserve(b: Backend, lease: Lease, usd: number) {
  return reservationOf(await b.reserveBudget({ ...refOf(lease), usd }), lease);
}

function refOf(lease: Lease) {
  return { taskId: lease.taskId, token: lease.token, agentId: lease.agentId };
}

function callTasks(n: number, extra: Partial<TaskSpec> = {}): TaskSpec[] {
  return Array.from({ length: n }, (_, i) => ({ type: 'call', key: `t${i}`, ...extra }));
}

export function budgetCases(env: SuiteEnv): void {
  describe('budgets and reservations', () => {
    it('a run keeps its budget; a reservation holds against it and settles to the actual cost', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { runId } = await b.submitRun({ tasks: callTasks(1), budget: { usd: 5 } });
      expect(await b.budgetOf(runId), 'a new budget').toEqual({
        limitUsd: 5,
        spentUsd: 0,
        reservedUsd: 0,
        leftUsd: 5,
      });
      const lease = await mustClaim(b, agent, 'the task');
      const held = await reserve(b, lease, 1.25);
      expect(held.usd).toBe(1.25);
      expect(held.id).toMatch(/^rsv_/);
      expect(await b.budgetOf(runId), 'held while the call runs').toMatchObject({
        spentUsd: 0,
        reservedUsd: 1.25,
        leftUsd: 3.75,
      });
      await record(b, usageOf(lease, { costUsd: 0.4, reservationId: held.id }));
      expect(await b.budgetOf(runId), 'settled to the actual cost').toEqual({
        limitUsd: 5,
        spentUsd: 0.4,
        reservedUsd: 0,
        leftUsd: 4.6,
      });
      expect((await b.costs({ runId })).budget, 'costs show the budget').toEqual(
        await b.budgetOf(runId),
      );
      expect(await b.releaseReservation(held.id), 'a settled reservation is gone').toBe(false);
    });

    it('refuses a reservation the budget cannot hold with BATON_BUDGET_EXCEEDED, not retryable; nothing is held', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { runId } = await b.submitRun({ tasks: callTasks(2), budget: { usd: 1 } });
      const [first, second] = await claim(b, agent, 2);
      await record(b, usageOf(first!, { costUsd: 0.5 }));
      await reserve(b, first!, 0.3);
      const outcome = await b.reserveBudget({ ...refOf(second!), usd: 0.25 });
      expect(outcome).toEqual({
        status: 'exceeded',
        facts: {
          scope: 'run',
          id: runId,
          limitNano: 1e9,
          spentNano: 5e8,
          reservedNano: 3e8,
          requestedNano: 2.5e8,
        },
      });
      let thrown: unknown;
      try {
        reservationOf(outcome, second!);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(BudgetExceededError);
      const error = thrown as BudgetExceededError;
      expect(error.code).toBe('BATON_BUDGET_EXCEEDED');
      expect(error.retryable).toBe(false);
      expect(error.facts).toEqual({
        scope: 'run',
        id: runId,
        limitUsd: 1,
        spentUsd: 0.5,
        reservedUsd: 0.3,
        requestedUsd: 0.25,
      });
      expect(error.message).toContain(`run ${runId} has a budget of $1.00`);
      expect(await b.budgetOf(runId), 'the refused call holds nothing').toMatchObject({
        reservedUsd: 0.3,
      });
      // Exactly what is left still fits.
      expect((await reserve(b, second!, 0.2)).usd).toBe(0.2);
    });

    it('50 concurrent reservations under a budget that fits 20: 20 held, 30 refused, never more', async () => {
      const { b } = env.ctx();
      // Two instances on one store when it can have several: their calls race in the store.
      const other = env.options.reopen ? await env.ctx().open() : b;
      const agent = await registerAgent(b, [], { concurrency: 50 });
      const { runId } = await b.submitRun({ tasks: callTasks(50), budget: { usd: 1 } });
      const leases = await claim(b, agent, 50);
      expect(leases).toHaveLength(50);
      const outcomes = await Promise.all(
        leases.map((lease, i) =>
          (i % 2 === 0 ? b : other).reserveBudget({ ...refOf(lease), usd: 0.05 }),
        ),
      );
      const counts = { ok: 0, exceeded: 0 };
      for (const o of outcomes) counts[o.status as 'ok' | 'exceeded']++;
      expect(counts).toEqual({ ok: 20, exceeded: 30 });
      expect(await b.budgetOf(runId)).toMatchObject({ reservedUsd: 1, leftUsd: 0 });
      // Each call settles at its worst case: the spend is exactly the budget, never over.
      await Promise.all(
        outcomes.map((o, i) =>
          o.status === 'ok'
            ? record(b, usageOf(leases[i]!, { costUsd: 0.05, reservationId: o.reservation.id }))
            : Promise.resolve(null),
        ),
      );
      expect(await b.budgetOf(runId)).toEqual({
        limitUsd: 1,
        spentUsd: 1,
        reservedUsd: 0,
        leftUsd: 0,
      });
      expect((await b.costs({ runId })).total).toMatchObject({ calls: 20, costUsd: 1 });
    });

    it("a task's own budget counts every attempt's calls, besides its run's", async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { tasks } = await b.submitRun({
        budget: { usd: 100 },
        tasks: [{ type: 'call', key: 'a', budget: { usd: 0.5 }, backoff: QUICK_BACKOFF }],
      });
      const taskId = tasks[0]!.id;
      const first = await mustClaim(b, agent, 'attempt 1');
      await record(b, usageOf(first, { costUsd: 0.4 }));
      await b.fail([{ ...refOf(first), error: { message: 'bad answer' } }]);
      clock.advance(PAST_QUICK_BACKOFF_MS);
      const second = await claimExpecting(b, agent, taskId, 'attempt 2');
      const outcome = await b.reserveBudget({ ...refOf(second), usd: 0.2 });
      expect(outcome.status === 'exceeded' && outcome.facts).toMatchObject({
        scope: 'task',
        id: taskId,
        spentNano: 4e8,
      });
      expect(await b.budgetOf(taskId)).toMatchObject({ limitUsd: 0.5, spentUsd: 0.4 });
      expect((await reserve(b, second, 0.1)).usd).toBe(0.1);
    });

    it('a standalone task may have a budget; a task without any budget reserves freely', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const budgeted = await submitOne(b, { type: 'call', budget: { usd: 0.1 } });
      const lease = await mustClaim(b, agent, 'the budgeted task');
      expect((await b.reserveBudget({ ...refOf(lease), usd: 0.2 })).status).toBe('exceeded');
      expect(await b.budgetOf(budgeted.id)).toMatchObject({ limitUsd: 0.1 });
      await submitOne(b, { type: 'call' });
      const free = await mustClaim(b, agent, 'the task without a budget');
      expect((await reserve(b, free, 10_000)).usd, 'nothing limits it').toBe(10_000);
      expect(await b.budgetOf(free.taskId)).toBeNull();
    });

    it('a zero budget refuses every call that may cost something', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      await b.submitRun({ tasks: callTasks(1), budget: { usd: 0 } });
      const lease = await mustClaim(b, agent, 'the task');
      expect((await b.reserveBudget({ ...refOf(lease), usd: 0.000001 })).status).toBe('exceeded');
      expect((await reserve(b, lease, 0)).usd, 'a free call fits').toBe(0);
    });

    it('a reservation given back frees its hold, once', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { runId } = await b.submitRun({ tasks: callTasks(1), budget: { usd: 1 } });
      const lease = await mustClaim(b, agent, 'the task');
      const held = await reserve(b, lease, 0.9);
      expect(await b.releaseReservation(held.id)).toBe(true);
      expect(await b.releaseReservation(held.id), 'twice').toBe(false);
      expect(await b.releaseReservation('rsv_01ARZ3NDEKTSV4RRFFQ69G5FAV'), 'never made').toBe(
        false,
      );
      expect(await b.budgetOf(runId)).toMatchObject({ reservedUsd: 0, spentUsd: 0, leftUsd: 1 });
      expect((await reserve(b, lease, 1)).usd, 'the whole budget is free again').toBe(1);
    });

    it("a release naming a task gives back only that task's reservation", async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const { runId, tasks } = await b.submitRun({ tasks: callTasks(2), budget: { usd: 1 } });
      const lease = await mustClaim(b, agent, 'a task');
      const held = await reserve(b, lease, 0.5);
      const other = tasks.map((t) => t.id).find((id) => id !== lease.taskId)!;
      expect(await b.releaseReservation(held.id, other), "another task's").toBe(false);
      expect(await b.budgetOf(runId)).toMatchObject({ reservedUsd: 0.5 });
      expect(await b.releaseReservation(held.id, lease.taskId), 'its own').toBe(true);
      expect(await b.budgetOf(runId)).toMatchObject({ reservedUsd: 0 });
    });

    it('only the lease holder reserves: a stale token or another agent gets lease_lost; nothing is held', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b, [], { id: 'holder' });
      await registerAgent(b, [], { id: 'other' });
      const { runId } = await b.submitRun({ tasks: callTasks(1), budget: { usd: 1 } });
      const lease = await mustClaim(b, agent, 'the task');
      const otherAgent = await b.reserveBudget({ ...refOf(lease), agentId: 'other', usd: 0.1 });
      expect(otherAgent.status).toBe('lease_lost');
      await expectBatonError(
        Promise.resolve().then(() => reservationOf(otherAgent, lease)),
        'LeaseLostError',
        'BATON_LEASE_LOST',
        "another agent's reservation",
      );
      await complete(b, lease);
      expect((await b.reserveBudget({ ...refOf(lease), usd: 0.1 })).status, 'after complete').toBe(
        'lease_lost',
      );
      expect(await b.budgetOf(runId)).toMatchObject({ reservedUsd: 0 });
    });

    it('the sweep releases the reservations of a lease that was lost or ended, and keeps the held ones', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { runId } = await b.submitRun({ tasks: callTasks(3), budget: { usd: 10 } });
      const [expiring] = await claim(b, agent, 1, 1_000);
      const [completed, kept] = await claim(b, agent, 2);
      const lost = await reserve(b, expiring!, 1);
      await reserve(b, completed!, 2);
      await reserve(b, kept!, 4);
      await complete(b, completed!); // its handler never settled
      expect(await b.budgetOf(runId)).toMatchObject({ reservedUsd: 7 });
      clock.advance(5_000);
      const swept = await sweep(b);
      expect(swept.expired).toBe(1);
      expect(swept.reservationsReleased, 'the expired lease and the completed one').toBe(2);
      expect(await b.budgetOf(runId), 'the held lease keeps its reservation').toMatchObject({
        reservedUsd: 4,
        spentUsd: 0,
      });
      expect((await sweep(b)).reservationsReleased, 'nothing left to release').toBe(0);
      // The lost attempt's call finished after all: recorded, its reservation already gone.
      await record(b, usageOf(expiring!, { costUsd: 0.5, reservationId: lost.id }));
      expect(await b.budgetOf(runId)).toMatchObject({ spentUsd: 0.5, reservedUsd: 4 });
    });

    it('a negative, non-number or malformed budget is a ValidationError naming it; nothing is stored', async () => {
      const { b } = env.ctx();
      const bad: [string, unknown, string][] = [
        ['a negative budget', { usd: -1 }, 'budget.usd'],
        ['a budget that is not a number', { usd: 'five' }, 'budget.usd'],
        ['NaN', { usd: Number.NaN }, 'budget.usd'],
        ['a bare number', 5, 'budget'],
        ['no usd', {}, 'budget.usd'],
        ['an unknown field', { usd: 1, eur: 1 }, 'budget'],
        ['over the limit', { usd: 2_000_000 }, 'budget.usd'],
      ];
      for (const [what, budget, path] of bad) {
        const error = await expectBatonError<ValidationError>(
          b.submitRun({ tasks: callTasks(1), budget } as never),
          'ValidationError',
          'BATON_VALIDATION',
          what,
        );
        expect(
          error.issues.map((i) => i.path),
          what,
        ).toEqual([path]);
      }
      const taskError = await expectBatonError<ValidationError>(
        b.submitTasks([{ type: 'call', budget: { usd: -0.5 } }]),
        'ValidationError',
        'BATON_VALIDATION',
        'a negative task budget',
      );
      expect(taskError.issues.map((i) => i.path)).toEqual(['tasks[0].budget.usd']);
      await expectStoreEmpty(b, 'every submission was refused');
    });

    it('a task submitted again by its idempotency key keeps its first budget', async () => {
      const { b } = env.ctx();
      const first = await submitOne(b, { type: 'call', idempotencyKey: 'k', budget: { usd: 1 } });
      const again = await submitOne(b, { type: 'call', idempotencyKey: 'k', budget: { usd: 9 } });
      expect(again).toMatchObject({ id: first.id, existing: true });
      expect(await b.budgetOf(first.id)).toMatchObject({ limitUsd: 1 });
    });

    it('budgets and reservations survive a restart of the store', async () => {
      if (!env.options.reopen) return;
      const ctx = env.ctx();
      const agent = await registerAgent(ctx.b);
      const { runId } = await ctx.b.submitRun({ tasks: callTasks(1), budget: { usd: 2 } });
      const lease = await mustClaim(ctx.b, agent, 'the task');
      await reserve(ctx.b, lease, 1.5);
      const b = await ctx.reopen();
      expect(await b.budgetOf(runId)).toMatchObject({ limitUsd: 2, reservedUsd: 1.5 });
      expect((await b.reserveBudget({ ...refOf(lease), usd: 0.6 })).status).toBe('exceeded');
    });
  });
}
