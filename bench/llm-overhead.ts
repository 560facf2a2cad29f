/**
 * What Baton adds to a model call: a no-op `llm` task against the fake model service (answer in
 * 0 ms, test/helpers/fake-llm.ts) beside the same call made with the AI SDK directly, in one
 * process, interleaved. Prints one JSON object.
 *
 *   npm run bench:llm -- [--calls 1000] [--warmup 200] [--provider anthropic|openai]
 *
 * Each round makes one call of each kind, in an order that rotates from round to round:
 * - direct: `streamText` on the same provider client and fake server, its stream read to the end
 *   (what a person calling the library would do);
 * - handler: the `llm` handler called with a task context (payload check, prompt templates,
 *   streaming to `onText`, usage to `onUsage`): the executor's own cost;
 * - task: a task of type `llm` submitted to a worker on SQLite (temp file) and waited for, from
 *   the submit to the worker's `task:succeeded` (submit, claim, the handler, complete): what a
 *   task costs end to end.
 * `overheadMs` are the medians of the per-round differences to `direct` (each round's calls ran
 * back to back, so a noisy moment hits both sides); the target is handler and task ≤ 2 ms.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { streamText, type LanguageModel } from 'ai';
import pino from 'pino';

import type { Json, Lease } from '../src/core/types.ts';
import { llmHandler } from '../src/executors/llm/index.ts';
import { Baton } from '../src/runtime/baton.ts';
import { startFakeLlm } from '../test/helpers/fake-llm.ts';
import { median, percentile, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '200' },
    provider: { type: 'string', default: 'anthropic' },
  },
});
const CALLS = Number(values.calls);
const WARMUP = Number(values.warmup);
const PROVIDER = values.provider === 'openai' ? 'openai' : 'anthropic';
const KEY = 'bench-key';

const server = await startFakeLlm({ fallback: { chunks: ['ok'] } });
const MODEL_ID = PROVIDER === 'anthropic' ? 'anthropic:claude-sonnet-4-5' : 'openai:gpt-4.1-mini';
const env = {
  ANTHROPIC_API_KEY: KEY,
  ANTHROPIC_BASE_URL: server.url,
  OPENAI_API_KEY: KEY,
  OPENAI_BASE_URL: server.baseUrl,
};
const model: LanguageModel =
  PROVIDER === 'anthropic'
    ? createAnthropic({ apiKey: KEY, baseURL: server.baseUrl })('claude-sonnet-4-5')
    : createOpenAI({ apiKey: KEY, baseURL: server.baseUrl }).chat('gpt-4.1-mini');
const payload = { model: MODEL_ID, prompt: 'Say {{ payload.word }}', word: 'ok', maxTokens: 16 };

/** The call a person would make with the library, reading the stream to its end. */
async function direct(): Promise<void> {
  let text = '';
  const result = streamText({
    model,
    prompt: 'Say ok',
    maxOutputTokens: 16,
    maxRetries: 0,
    onError: () => undefined,
  });
  for await (const part of result.fullStream) {
    if (part.type === 'text-delta') text += part.text;
    else if (part.type === 'error') throw new Error('direct call failed', { cause: part.error });
  }
  if (text !== 'ok') throw new Error(`direct call answered ${JSON.stringify(text)}`);
}

let streamed = 0;
let reported = 0;
const handler = llmHandler({
  env,
  onText: () => {
    streamed++;
  },
  onUsage: () => {
    reported++;
  },
});
const signal = new AbortController().signal;
async function viaHandler(): Promise<void> {
  const result = await handler({
    task: { id: 'tsk_bench' },
    payload: payload,
    attempt: 1,
    signal,
    dependencies: {},
  });
  if (result !== 'ok') throw new Error(`handler answered ${JSON.stringify(result)}`);
}

const dir = mkdtempSync(join(tmpdir(), 'baton-bench-llm-'));
const baton = await Baton.open(`sqlite:${join(dir, 'bench.db')}`, {
  logger: pino({ level: 'silent' }),
});
const worker = baton.worker({ concurrency: 1, handlers: { llm: handler } });
await worker.start();
async function viaTask(): Promise<void> {
  const succeeded = once(worker, 'task:succeeded') as Promise<
    [{ lease: Lease; result: Json; durationMs: number }]
  >;
  const { id } = await baton.submit({ type: 'llm', payload: payload });
  const [event] = await succeeded;
  if (event.lease.taskId !== id || event.result !== 'ok') {
    throw new Error(`task ${id} ended as ${JSON.stringify(event)}`);
  }
}

const kinds = { direct, handler: viaHandler, task: viaTask } as const;
type Kind = keyof typeof kinds;
const order: Kind[] = ['direct', 'handler', 'task'];
const times: Record<Kind, number[]> = { direct: [], handler: [], task: [] };

try {
  for (let round = 0; round < WARMUP + CALLS; round++) {
    const measured: Partial<Record<Kind, number>> = {};
    for (let i = 0; i < order.length; i++) {
      const kind = order[(round + i) % order.length]!;
      const t0 = performance.now();
      await kinds[kind]();
      measured[kind] = performance.now() - t0;
    }
    if (round >= WARMUP) for (const kind of order) times[kind].push(measured[kind]!);
    if (round % 200 === 0) process.stderr.write(`round ${round}/${WARMUP + CALLS}\n`);
  }
} finally {
  await worker.stop();
  await baton.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

const figures = (list: readonly number[]): { p50Ms: number; p90Ms: number; p99Ms: number } => ({
  p50Ms: round(median(list), 3),
  p90Ms: round(percentile(list, 90), 3),
  p99Ms: round(percentile(list, 99), 3),
});
const overhead = (kind: Kind): number =>
  round(median(times[kind].map((t, i) => t - times.direct[i]!)), 3);

console.log(
  JSON.stringify(
    {
      provider: PROVIDER,
      calls: CALLS,
      warmup: WARMUP,
      direct: figures(times.direct),
      handler: figures(times.handler),
      task: figures(times.task),
      overheadMs: { handler: overhead('handler'), task: overhead('task') },
      targetMs: 2,
      // Every call of the handler streamed and reported usage (warm-up and the task's calls too).
      checks: { streamedChunks: streamed, usageRecords: reported },
    },
    null,
    2,
  ),
);
