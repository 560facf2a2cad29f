/**
 * Model selection (`model: auto`, docs/llm.md#model-selection) against always using one tier:
 * the same tasks of mixed complexity run three times on the fake model service
 * (test/helpers/fake-llm.ts), each time in a fresh SQLite store, with a real worker, the real
 * `llm` handler and the real ledger (prices from the maintained table). Prints one JSON object.
 *
 *   npm run bench:models -- [--tasks 200] [--seed 1] [--concurrency 16]
 *
 * - Tiers: strong = anthropic:claude-opus-4-1, balanced = anthropic:claude-sonnet-4-5, fast =
 *   anthropic:claude-haiku-4-5 (seed 004's opus, sonnet, haiku), priced from the table.
 * - Tasks: 40% low, 35% medium, 25% high complexity; half declare it (`complexity:`), half say
 *   it only in their title (scored by keywords). Each asks for JSON against an output schema.
 * - The fake service answers each call with the tokens its complexity takes (input 1,500; output
 *   300 / 600 / 1,200) and, with the probability {@link SUCCESS} sets for its model and
 *   complexity, valid JSON; otherwise prose, which fails the schema and is retried (3 attempts,
 *   a retry moving `auto` up a tier). Draws are seeded per (task, model, call), so every policy
 *   meets the same luck whatever the order the worker runs them in.
 * - Policies: always strong, always balanced, auto. Reported: success rate, cost (the ledger's
 *   total), cost per successful task, calls by model; and auto against always strong.
 *   Target (issue 13): auto ≤ 0.6× always strong per successful task, with a success rate
 *   ≥ 95% of always strong's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import pino from 'pino';

import type { Complexity, ModelTiers } from '../src/core/model-choice.ts';
import type { Json, TaskSpec } from '../src/core/types.ts';
import { llmHandler } from '../src/executors/llm/index.ts';
import { Baton } from '../src/runtime/baton.ts';
import type { TaskContext } from '../src/runtime/worker.ts';
import { startFakeLlm } from '../test/helpers/fake-llm.ts';
import { round } from './stats.ts';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '16' },
  },
});
const TASKS = Number(values.tasks);
const SEED = Number(values.seed);
const CONCURRENCY = Number(values.concurrency);
const KEY = 'bench-key';

const TIERS: ModelTiers = {
  strong: 'anthropic:claude-opus-4-1',
  balanced: 'anthropic:claude-sonnet-4-5',
  fast: 'anthropic:claude-haiku-4-5',
};

/** Probability that a model's answer to a task of this complexity is valid. */
const SUCCESS: Record<string, Record<Complexity, number>> = {
  'claude-opus-4-1': { low: 0.99, medium: 0.97, high: 0.93 },
  'claude-sonnet-4-5': { low: 0.97, medium: 0.92, high: 0.65 },
  'claude-haiku-4-5': { low: 0.92, medium: 0.7, high: 0.35 },
};
const OUTPUT_TOKENS: Record<Complexity, number> = { low: 300, medium: 600, high: 1200 };
const INPUT_TOKENS = 1500;
const MIX: [Complexity, number][] = [
  ['low', 0.4],
  ['medium', 0.35],
  ['high', 0.25],
];
const TITLES: Record<Complexity, string[]> = {
  low: ['Update the README documentation', 'Fix a typo in the docs', 'Summarize the changelog'],
  medium: ['Add a button to the form', 'Write the export endpoint', 'Parse the config file'],
  high: [
    'Fix the auth security hole',
    'Write the database migration',
    'Refactor the payment billing flow',
  ],
};
const OUTPUT: Json = {
  type: 'object',
  properties: { done: { type: 'boolean' } },
  required: ['done'],
};

/** A seeded draw in [0, 1) from text (FNV-1a, then a xorshift round). */
function draw(text: string): number {
  let h = 2166136261 ^ SEED;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  h ^= h >>> 13;
  h = Math.imul(h, 0x5bd1e995);
  h ^= h >>> 15;
  return (h >>> 0) / 2 ** 32;
}

interface BenchTask {
  key: string;
  complexity: Complexity;
  declared: boolean;
  title: string;
}

const tasks: BenchTask[] = Array.from({ length: TASKS }, (_, i) => {
  const r = draw(`mix:${i}`);
  let acc = 0;
  let complexity: Complexity = 'medium';
  for (const [c, share] of MIX) {
    acc += share;
    if (r < acc) {
      complexity = c;
      break;
    }
  }
  const titles = TITLES[complexity];
  return {
    key: `t${i}`,
    complexity,
    declared: i % 2 === 0,
    title: titles[i % titles.length]!,
  };
});

const server = await startFakeLlm({ keys: [KEY] });
/** Calls so far of each (task, model): the draw of each call is its own. */
const callsOf = new Map<string, number>();
server.respond = ({ body }) => {
  const model = String(body.model);
  const messages = body.messages as { content: unknown }[];
  const text = JSON.stringify(messages);
  const match = /\[(t\d+):(low|medium|high)\]/.exec(text);
  if (match === null) return { text: 'unexpected prompt' };
  const [, key, complexity] = match as unknown as [string, string, Complexity];
  const n = (callsOf.get(`${key}:${model}`) ?? 0) + 1;
  callsOf.set(`${key}:${model}`, n);
  const ok = draw(`${key}:${model}:${n}`) < (SUCCESS[model]?.[complexity] ?? 0);
  return {
    text: ok ? '{"done":true}' : 'Sure, I can help with that!',
    usage: { input: INPUT_TOKENS, output: OUTPUT_TOKENS[complexity] },
  };
};

type Policy = 'strong' | 'balanced' | 'auto';

async function runPolicy(policy: Policy) {
  callsOf.clear();
  const before = server.requests.length;
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-models-'));
  const baton = await Baton.open(`sqlite:${join(dir, 'bench.db')}`, {
    logger: pino({ level: 'silent' }),
  });
  const handler = llmHandler<TaskContext>({
    env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: server.url },
    tiers: TIERS,
    maxTokens: 2000,
    beforeCall: async (call, ctx) => {
      await ctx.costs.reserveCall(call);
    },
    onUsage: async (usage, ctx) => {
      await ctx.costs.record(usage);
    },
  });
  const worker = baton.worker({ concurrency: CONCURRENCY, handlers: { llm: handler } });
  const started = performance.now();
  try {
    await worker.start();
    const specs: TaskSpec[] = tasks.map((t) => {
      const payload: { [key: string]: Json } = {
        model: policy === 'auto' ? 'auto' : TIERS[policy],
        prompt: `[${t.key}:${t.complexity}] Do the work and answer {"done": true}.`,
        output: OUTPUT,
      };
      if (t.declared) payload.complexity = t.complexity;
      return {
        key: t.key,
        type: 'llm',
        title: t.title,
        maxAttempts: 3,
        backoff: { baseMs: 5, maxMs: 5, jitter: 'none' },
        payload,
      };
    });
    const { runId } = await baton.submitRun({ name: `models-${policy}`, tasks: specs });
    await baton.wait(runId, { timeoutMs: 600_000 });
    const { tasks: done } = await baton.tasks({ runId, limit: TASKS });
    const succeeded = done.filter((t) => t.state === 'succeeded').length;
    const costs = await baton.costs({ runId, by: 'model' });
    const tiersChosen: Record<string, number> = {};
    if (policy === 'auto') {
      for (const t of done) {
        for (const a of await baton.attempts(t.id)) {
          const name = `attempt${Math.min(a.attempt, 2) === 1 ? '1' : '2+'}:${a.model?.tier ?? 'none'}`;
          tiersChosen[name] = (tiersChosen[name] ?? 0) + 1;
        }
      }
    }
    return {
      policy,
      tasks: done.length,
      succeeded,
      successRate: round(succeeded / done.length, 4),
      calls: server.requests.length - before,
      costUsd: round(costs.total.costUsd, 4),
      costPerSuccessUsd: round(costs.total.costUsd / succeeded, 6),
      callsByModel: Object.fromEntries(costs.groups.map((g) => [g.key, g.calls])),
      ...(policy === 'auto' ? { tiersChosen } : {}),
      wallMs: Math.round(performance.now() - started),
    };
  } finally {
    await worker.stop();
    await baton.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Awaited<ReturnType<typeof runPolicy>>[] = [];
for (const policy of ['strong', 'balanced', 'auto'] as const) results.push(await runPolicy(policy));
await server.close();

const [strong, balanced, auto] = results as [
  (typeof results)[0],
  (typeof results)[0],
  (typeof results)[0],
];
const mix = Object.fromEntries(
  MIX.map(([c]) => [c, tasks.filter((t) => t.complexity === c).length]),
);
const costRatio = round(auto.costPerSuccessUsd / strong.costPerSuccessUsd, 3);
const successRatio = round(auto.successRate / strong.successRate, 3);
console.log(
  JSON.stringify(
    {
      bench: 'model-choice',
      tasks: TASKS,
      seed: SEED,
      mix,
      tiers: TIERS,
      successProbability: SUCCESS,
      policies: { strong, balanced, auto },
      autoVsStrong: {
        costPerSuccess: costRatio,
        successRate: successRatio,
        balancedCostPerSuccess: round(balanced.costPerSuccessUsd / strong.costPerSuccessUsd, 3),
        target: 'costPerSuccess ≤ 0.6 and successRate ≥ 0.95',
        met: costRatio <= 0.6 && successRatio >= 0.95,
      },
    },
    null,
    2,
  ),
);
