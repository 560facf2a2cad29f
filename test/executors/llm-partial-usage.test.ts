/**
 * The usage of an `llm` call that dies mid-stream (docs/costs.md#calls-that-die-mid-stream): a
 * real worker on a SQLite file, the handler wired to the ledger as the CLI wires it (the worst
 * case held before the call, the usage recorded after), and the fake model service speaking each
 * provider's real wire format. A call cancelled, timed out or broken off after the provider began
 * answering is recorded — the input the provider reported (or the reservation's estimate where it
 * reported none), the output counted from the streamed text — and its reservation is settled to
 * that, never to more than it held.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { UsageRecord } from '../../src/core/ledger.ts';
import type { Json, TaskRecord } from '../../src/core/types.ts';
import { llmHandler, type LlmHandlerOptions } from '../../src/executors/llm/index.ts';
import type { Baton } from '../../src/runtime/baton.ts';
import type { TaskContext } from '../../src/runtime/worker.ts';
import { startFakeLlm, type FakeLlmServer } from '../helpers/fake-llm.ts';
import { useHarness } from '../runtime/harness.ts';

const h = useHarness();

const ANTHROPIC_KEY = 'sk-ant-partial-test-key-41d0';
const OPENAI_KEY = 'sk-openai-partial-test-key-9b3c';
const SONNET = 'anthropic:claude-sonnet-4-5';
const MINI = 'openai:gpt-4.1-mini';
/** $1 per million input tokens, $2 per million output tokens: costs are easy to check. */
const PRICES = {
  'anthropic:claude-sonnet-4-5': { inputMtok: 1, outputMtok: 2 },
  'openai:gpt-4.1-mini': { inputMtok: 1, outputMtok: 2 },
};
const MAX_TOKENS = 100;
/** The reservation's input estimate of a prompt: its UTF-8 bytes plus 64 tokens of framing. */
const estimateOf = (prompt: string): number => Buffer.byteLength(prompt) + 64;
const costOf = (input: number, output: number): number => (input * 1 + output * 2) / 1e6;

let server: FakeLlmServer;

beforeEach(async () => {
  server = await startFakeLlm({ keys: [ANTHROPIC_KEY, OPENAI_KEY] });
});

afterEach(async () => {
  await server.close();
});

interface Seen {
  text: Map<string, string>;
  warnings: string[];
}

async function withWorker<T>(
  fn: (baton: Baton, seen: Seen) => Promise<T>,
  options: LlmHandlerOptions<TaskContext> = {},
): Promise<T> {
  const seen: Seen = { text: new Map(), warnings: [] };
  const baton = await h.baton();
  const worker = await h.startWorker(baton, {
    concurrency: 2,
    prices: PRICES,
    handlers: {
      llm: llmHandler<TaskContext>({
        env: {
          ANTHROPIC_API_KEY: ANTHROPIC_KEY,
          ANTHROPIC_BASE_URL: server.url,
          OPENAI_API_KEY: OPENAI_KEY,
          OPENAI_BASE_URL: server.baseUrl,
        },
        maxTokens: MAX_TOKENS,
        beforeCall: async (call, ctx) => {
          await ctx.costs.reserveCall(call);
        },
        onUsage: async (usage, ctx) => {
          await ctx.costs.record(usage);
        },
        onText: (chunk, ctx) => {
          seen.text.set(ctx.task.id, (seen.text.get(ctx.task.id) ?? '') + chunk);
        },
        onWarning: (warning) => seen.warnings.push(warning),
        ...options,
      }),
    },
  });
  try {
    return await fn(baton, seen);
  } finally {
    await worker.stop();
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition not met within 10 s');
}

/** The task's usage records once there is one, and its budget once nothing is held. */
async function settled(baton: Baton, id: string) {
  let usage: UsageRecord[] = [];
  await waitFor(async () => {
    usage = await baton.backend.usageOf(id);
    const budget = await baton.backend.budgetOf(id);
    return usage.length > 0 && budget !== null && budget.reservedUsd === 0;
  });
  return { usage, budget: (await baton.backend.budgetOf(id))! };
}

function llm(model: string, prompt: string, extra: Record<string, Json> = {}): Json {
  return { model, prompt, ...extra };
}

describe('an llm call that dies mid-stream is recorded', () => {
  it('cancelled on Anthropic: the input from message_start, the output counted from the text', async () => {
    server.answers.push({
      kind: 'hang',
      text: 'Once upon a time',
      usage: { input: 40, cacheRead: 20, cacheWrite: 10 },
    });
    const prompt = 'Tell me a long story about a lighthouse keeper and the sea';
    await withWorker(async (baton, seen) => {
      const { id } = await baton.submit({
        type: 'llm',
        payload: llm(SONNET, prompt),
        budget: { usd: 1 },
      });
      await waitFor(() => (seen.text.get(id) ?? '') === 'Once upon a time');
      await baton.cancel(id, 'changed my mind');
      const { usage, budget } = await settled(baton, id);
      expect(((await baton.wait(id, { timeoutMs: 10_000 })) as TaskRecord).state).toBe('cancelled');
      expect(usage).toHaveLength(1);
      expect(usage[0]).toMatchObject({
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        // input_tokens + cache reads + cache writes: every input token.
        inputTokens: 70,
        cacheReadTokens: 20,
        cacheWriteTokens: 10,
        // 'Once upon a time': 16 UTF-8 bytes, one token each at most.
        outputTokens: 16,
        costBasis: 'partial',
        costUsd: costOf(70, 16),
      });
      // The reservation was settled to the recorded cost, not released.
      expect(budget.spentUsd).toBe(costOf(70, 16));
      expect(budget.reservedUsd).toBe(0);
    });
  });

  it('a stream broken after some text: Anthropic reports input (partial), OpenAI none (estimate)', async () => {
    server.answers.push(
      // A pause between events, so the text is read before the connection breaks.
      { kind: 'truncated', text: 'Half an answer, then', usage: { input: 33 }, chunkDelayMs: 20 },
      { kind: 'truncated', text: 'Half an answer, then', chunkDelayMs: 20 },
    );
    const prompt = 'Explain tides';
    await withWorker(async (baton) => {
      const a = await baton.submit({
        type: 'llm',
        payload: llm(SONNET, prompt),
        maxAttempts: 1,
        budget: { usd: 1 },
      });
      const first = await settled(baton, a.id);
      const o = await baton.submit({
        type: 'llm',
        payload: llm(MINI, prompt),
        maxAttempts: 1,
        budget: { usd: 1 },
      });
      const second = await settled(baton, o.id);
      expect(((await baton.wait(a.id, { timeoutMs: 10_000 })) as TaskRecord).error?.code).toBe(
        'LLM_STREAM',
      );
      // Every piece of the text was streamed before the connection broke: 20 bytes.
      const sent = 20;
      expect(first.usage[0]).toMatchObject({
        inputTokens: 33,
        outputTokens: sent,
        costBasis: 'partial',
      });
      expect(first.budget.spentUsd).toBe(costOf(33, sent));
      expect(second.usage[0]).toMatchObject({
        provider: 'openai',
        inputTokens: estimateOf(prompt),
        outputTokens: sent,
        costBasis: 'estimate',
      });
      expect(second.budget.spentUsd).toBe(costOf(estimateOf(prompt), sent));
    });
  });

  it('a malformed stream that still reported its usage records that usage as reported', async () => {
    server.answers.push({ kind: 'malformed', text: 'Some text then junk', usage: { input: 12 } });
    await withWorker(async (baton) => {
      const { id } = await baton.submit({
        type: 'llm',
        payload: llm(SONNET, 'p'),
        maxAttempts: 1,
        budget: { usd: 1 },
      });
      const { usage } = await settled(baton, id);
      // message_start and message_delta both came: nothing had to be worked out.
      expect(usage[0]).toMatchObject({ inputTokens: 12, outputTokens: 5, costBasis: 'override' });

      // OpenAI's last chunk came with its usage and a gateway's cost: that cost wins.
      server.answers.push({
        kind: 'malformed',
        text: 'Some text then junk',
        usage: { input: 7, output: 3, cost: 0.002 },
      });
      const o = await baton.submit({
        type: 'llm',
        payload: llm(MINI, 'p'),
        maxAttempts: 1,
        budget: { usd: 1 },
      });
      const openai = await settled(baton, o.id);
      expect(openai.usage[0]).toMatchObject({
        inputTokens: 7,
        outputTokens: 3,
        costUsd: 0.002,
        costBasis: 'provider',
      });
    });
  });

  it('a timeout mid-stream on OpenAI records the estimate and the streamed text', async () => {
    server.answers.push({ kind: 'hang', text: 'Thinking very hard' });
    const prompt = 'Solve it';
    await withWorker(async (baton) => {
      const { id } = await baton.submit({
        type: 'llm',
        payload: llm(MINI, prompt),
        timeoutMs: 500,
        maxAttempts: 1,
        budget: { usd: 1 },
      });
      const { usage, budget } = await settled(baton, id);
      const done = (await baton.wait(id, { timeoutMs: 10_000 })) as TaskRecord;
      expect(done.error).toMatchObject({ code: 'BATON_TIMEOUT' });
      expect(usage[0]).toMatchObject({
        inputTokens: estimateOf(prompt),
        outputTokens: Buffer.byteLength('Thinking very hard'),
        costBasis: 'estimate',
      });
      expect(budget.spentUsd).toBe(costOf(estimateOf(prompt), 18));
    });
  });

  it('never records more than the reservation held: counts are clamped, and a warning says so', async () => {
    // The provider claims far more input than the prompt can be, and more text than maxTokens.
    server.answers.push({ kind: 'hang', text: 'x'.repeat(40), usage: { input: 5_000_000 } });
    const prompt = 'Short';
    const worst = costOf(estimateOf(prompt), 8);
    await withWorker(async (baton, seen) => {
      // A budget that holds exactly one worst case.
      const { id } = await baton.submit({
        type: 'llm',
        payload: llm(SONNET, prompt, { maxTokens: 8 }),
        budget: { usd: worst },
      });
      await waitFor(() => (seen.text.get(id) ?? '').length === 40);
      await baton.cancel(id);
      const { usage, budget } = await settled(baton, id);
      expect(usage[0]).toMatchObject({
        inputTokens: estimateOf(prompt),
        outputTokens: 8,
        costBasis: 'partial',
      });
      expect(budget.spentUsd).toBeLessThanOrEqual(worst);
      expect(budget.leftUsd).toBeGreaterThanOrEqual(0);
      expect(seen.warnings.join('\n')).toMatch(/cut down to its worst case/);
    });
  });

  it('a call refused before the provider answered records nothing and gives the hold back', async () => {
    server.answers.push({ kind: 'error', status: 400, message: 'bad request' });
    await withWorker(async (baton) => {
      const { id } = await baton.submit({
        type: 'llm',
        payload: llm(SONNET, 'p'),
        budget: { usd: 1 },
      });
      await baton.wait(id, { timeoutMs: 10_000 });
      await waitFor(async () => (await baton.backend.budgetOf(id))?.reservedUsd === 0);
      expect(await baton.backend.usageOf(id)).toEqual([]);
      expect((await baton.backend.budgetOf(id))!.spentUsd).toBe(0);
    });
  });
});
