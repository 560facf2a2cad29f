/**
 * The ledger as a handler uses it (`ctx.costs`, runtime/ledger.ts), through a real worker on a
 * real SQLite file: calls priced and recorded against their attempt, budgets that fail a task
 * with BATON_BUDGET_EXCEEDED, reservations settled by the call's record and given back when the
 * handler returns.
 */
import { describe, expect, it } from 'vitest';

import type { BatonEvent, TaskRecord } from '../../src/core/types.ts';
import { Baton } from '../../src/runtime/baton.ts';
import type { TaskHandler } from '../../src/runtime/worker.ts';
import { deferred, useHarness } from './harness.ts';

const h = useHarness();

const call = { provider: 'anthropic', model: 'claude-sonnet-4-5' };

async function eventsOf(baton: Baton, taskId: string): Promise<BatonEvent[]> {
  const out: BatonEvent[] = [];
  for await (const e of baton.events({ follow: false })) if (e.taskId === taskId) out.push(e);
  return out;
}

describe('ctx.costs', () => {
  it('prices a call from the table, records it against the attempt, and its cost rides on task.succeeded', async () => {
    const baton = await h.baton();
    const worker = await h.startWorker(baton, {
      handlers: {
        call: async (ctx) => {
          await ctx.costs.record({ ...call, inputTokens: 100_000, outputTokens: 10_000 });
          return 'ok';
        },
      },
    });
    const { runId, tasks } = await baton.submitRun({ tasks: [{ type: 'call', epic: 'e' }] });
    const id = tasks[0]!.id;
    expect(((await baton.wait(id)) as TaskRecord).state).toBe('succeeded');
    const [usage] = await baton.usage(id);
    expect(usage).toMatchObject({ ...call, attempt: 1, runId, epic: 'e', costBasis: 'table' });
    expect(usage!.costUsd).toBeCloseTo(0.45, 9);
    const succeeded = (await eventsOf(baton, id)).find((e) => e.type === 'task.succeeded');
    expect(succeeded?.data.costUsd).toBe(usage!.costUsd);
    expect((await baton.costs({ runId, by: 'model' })).groups.map((g) => g.key)).toEqual([
      'anthropic:claude-sonnet-4-5',
    ]);
    await worker.stop();
  });

  it("uses the client's prices option, and a provider-reported cost over it", async () => {
    const baton = await h.open({
      prices: { 'vllm:qwen3-32b': { inputMtok: 1, outputMtok: 2 } },
    });
    const worker = await h.startWorker(baton, {
      handlers: {
        call: async (ctx) => {
          await ctx.costs.record({
            provider: 'vllm',
            model: 'qwen3-32b',
            inputTokens: 1_000_000,
            outputTokens: 500_000,
          });
          await ctx.costs.record({ ...call, inputTokens: 1, outputTokens: 1, costUsd: 0.5 });
        },
      },
    });
    const { id } = await baton.submit({ type: 'call' });
    await baton.wait(id);
    expect((await baton.usage(id)).map((u) => [u.costBasis, u.costUsd])).toEqual([
      ['override', 2],
      ['provider', 0.5],
    ]);
    await worker.stop();
  });

  it('a call the budget cannot hold fails the task with BATON_BUDGET_EXCEEDED, without retries', async () => {
    const baton = await h.baton();
    let calls = 0;
    const worker = await h.startWorker(baton, {
      handlers: {
        call: async (ctx) => {
          await ctx.costs.reserveCall({ ...call, inputTokens: 1000, maxOutputTokens: 100_000 });
          calls++;
        },
      },
    });
    const { runId, tasks } = await baton.submitRun({
      budget: { usd: 1 },
      tasks: [{ type: 'call', maxAttempts: 3 }],
    });
    const done = (await baton.wait(tasks[0]!.id)) as TaskRecord;
    expect(done.state).toBe('failed');
    expect(done.attempts, 'not retryable: one attempt').toBe(1);
    expect(done.error?.code).toBe('BATON_BUDGET_EXCEEDED');
    expect(done.error?.message).toContain(`run ${runId} has a budget of $1.00`);
    expect(calls, 'the call was never made').toBe(0);
    expect((await baton.costs({ runId })).budget).toEqual({
      limitUsd: 1,
      spentUsd: 0,
      reservedUsd: 0,
      leftUsd: 1,
    });
    await worker.stop();
  });

  it('record settles the reservation the attempt holds; one left open is given back when the handler returns', async () => {
    const baton = await h.baton();
    const settled = deferred<number>();
    const worker = await h.startWorker(baton, {
      // No sweep during the test: the worker itself gives the open reservation back.
      sweepIntervalMs: 600_000,
      handlers: {
        call: async (ctx) => {
          const worst = await ctx.costs.reserveCall({
            ...call,
            inputTokens: 1000,
            maxOutputTokens: 1000,
          });
          expect(worst.usd).toBeCloseTo((1000 * 3.75 + 1000 * 15) / 1e6, 12);
          await ctx.costs.record({ ...call, inputTokens: 1000, outputTokens: 100 });
          // Spent plus held: only the actual cost once the reservation is settled.
          settled.resolve((await ctx.costs.budget())!.usedUsd);
          await ctx.costs.reserve(0.25); // never settled
        },
      },
    });
    const { runId, tasks } = await baton.submitRun({
      budget: { usd: 5 },
      tasks: [{ type: 'call' }],
    });
    const spent = (1000 * 3 + 100 * 15) / 1e6;
    expect(await settled.promise, 'spent + held after the record').toBeCloseTo(spent, 12);
    await baton.wait(tasks[0]!.id);
    const budget = (await baton.costs({ runId })).budget!;
    expect(budget.reservedUsd, 'the open reservation was given back').toBe(0);
    expect(budget.spentUsd).toBeCloseTo(spent, 12);
    await worker.stop();
  });

  it('a model with no known price cannot be reserved against a budget; without one it is recorded as unpriced', async () => {
    const baton = await h.baton();
    const handler: TaskHandler = async (ctx) => {
      await ctx.costs.reserveCall({
        provider: 'vllm',
        model: 'mystery',
        inputTokens: 10,
        maxOutputTokens: 10,
      });
      await ctx.costs.record({
        provider: 'vllm',
        model: 'mystery',
        inputTokens: 10,
        outputTokens: 5,
      });
    };
    const worker = await h.startWorker(baton, { handlers: { call: handler } });
    const budgeted = await baton.submit({ type: 'call', budget: { usd: 1 }, maxAttempts: 1 });
    const refused = (await baton.wait(budgeted.id)) as TaskRecord;
    expect(refused.state).toBe('failed');
    expect(refused.error?.code).toBe('BATON_VALIDATION');
    expect(refused.error?.message).toContain('no price is known for vllm:mystery');
    const free = await baton.submit({ type: 'call' });
    expect(((await baton.wait(free.id)) as TaskRecord).state).toBe('succeeded');
    expect((await baton.usage(free.id)).map((u) => [u.costBasis, u.costUsd])).toEqual([
      ['unpriced', 0],
    ]);
    await worker.stop();
  });

  it('a malformed prices option is refused before anything is opened', async () => {
    await expect(
      Baton.open(`sqlite:${h.dir}/never.db`, { prices: { gpt: { inputMtok: 1 } } as never }),
    ).rejects.toMatchObject({ code: 'BATON_VALIDATION' });
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${h.dir}/never.db`), 'no store was created').toBe(false);
    const baton = await h.baton();
    expect(() =>
      baton.worker({ handlers: {}, prices: { 'openai:x': { inputMtok: -1, outputMtok: 1 } } }),
    ).toThrow(/inputMtok: must be a price/);
  });
});
