/**
 * `model: auto` end to end (docs/llm.md#model-selection): a real worker on a SQLite file runs
 * `llm` tasks whose model is chosen per attempt among the configured tiers, calls the fake model
 * service with the chosen model (real provider libraries over loopback HTTP), and records the
 * choice on the attempt with its reason: the `task.model_selected` event, a line in the task's
 * log, and the attempt in `GET /v1/tasks/:id`.
 */
import { randomUUID } from 'node:crypto';

import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ValidationError } from '../../src/core/errors.ts';
import type { ModelTiers } from '../../src/core/model-choice.ts';
import type { BatonEvent, Json, TaskRecord } from '../../src/core/types.ts';
import { llmHandler, type LlmHandlerOptions } from '../../src/executors/llm/index.ts';
import { Baton } from '../../src/runtime/baton.ts';
import type { TaskContext } from '../../src/runtime/worker.ts';
import { startFakeLlm, type FakeLlmServer } from '../helpers/fake-llm.ts';
import { REDIS_URL, deleteNamespaces } from '../helpers/redis.ts';
import { useHarness } from '../runtime/harness.ts';
import { closeAll, startServer } from '../server/harness.ts';

const h = useHarness();

const KEY = 'sk-ant-auto-test-key-77c1';
const TIERS: ModelTiers = {
  strong: 'anthropic:claude-opus-4-1',
  balanced: 'anthropic:claude-sonnet-4-5',
  fast: 'anthropic:claude-haiku-4-5',
};
const quickBackoff = { baseMs: 10, maxMs: 10, jitter: 'none' as const };

let server: FakeLlmServer;

beforeEach(async () => {
  server = await startFakeLlm({ keys: [KEY] });
});

afterEach(async () => {
  await closeAll();
  await server.close();
});

/** The handler as the CLI's agents configure it: budgets held before each call, usage recorded. */
function autoHandler(options: LlmHandlerOptions<TaskContext> = {}) {
  return llmHandler<TaskContext>({
    env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: server.url },
    tiers: TIERS,
    maxTokens: 200,
    beforeCall: async (call, ctx) => {
      await ctx.costs.reserveCall(call);
    },
    onUsage: async (usage, ctx) => {
      await ctx.costs.record(usage);
    },
    ...options,
  });
}

async function withWorker<T>(
  fn: (baton: Baton) => Promise<T>,
  options: LlmHandlerOptions<TaskContext> = {},
  baton?: Baton,
): Promise<T> {
  const b = baton ?? (await h.baton());
  const worker = await h.startWorker(b, {
    concurrency: 4,
    handlers: { llm: autoHandler(options) },
  });
  try {
    return await fn(b);
  } finally {
    await worker.stop();
  }
}

async function waitTask(baton: Baton, id: string): Promise<TaskRecord> {
  return (await baton.wait(id, { timeoutMs: 20_000 })) as TaskRecord;
}

async function eventsOf(baton: Baton, taskId: string, type: BatonEvent['type']) {
  const events: BatonEvent[] = [];
  for await (const event of baton.events({ follow: false })) {
    if (event.taskId === taskId && event.type === type) events.push(event);
  }
  return events;
}

async function logText(baton: Baton, taskId: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of baton.logs(taskId)) lines.push(line.text);
  return lines;
}

/** The model each request asked for, as the provider saw it. */
const asked = (): unknown[] => server.requests.map((r) => r.body.model);

function auto(prompt: string, extra: Record<string, Json> = {}): Json {
  return { model: 'auto', prompt, ...extra };
}

describe('model: auto on a worker', () => {
  it('chooses the tier by complexity, declared or scored from the title and prompt, and records why', async () => {
    await withWorker(async (baton) => {
      const { tasks } = await baton.submitRun({
        tasks: [
          { key: 'low', type: 'llm', payload: auto('Say hi', { complexity: 'low' }) },
          { key: 'medium', type: 'llm', payload: auto('Say hi', { complexity: 'medium' }) },
          { key: 'high', type: 'llm', payload: auto('Say hi', { complexity: 'high' }) },
          {
            key: 'keywords',
            type: 'llm',
            title: 'Review the security of the login',
            payload: auto('Look for holes'),
          },
        ],
      });
      const done = await Promise.all(tasks.map((t) => waitTask(baton, t.id)));
      expect(done.map((t) => t.state)).toEqual([
        'succeeded',
        'succeeded',
        'succeeded',
        'succeeded',
      ]);
      const chosen = await Promise.all(
        tasks.map(async (t) => (await baton.attempts(t.id)).map((a) => a.model)),
      );
      expect(chosen).toEqual([
        [
          {
            model: TIERS.fast,
            tier: 'fast',
            complexity: 'low',
            reason: 'low complexity (declared): fast',
          },
        ],
        [
          {
            model: TIERS.balanced,
            tier: 'balanced',
            complexity: 'medium',
            reason: 'medium complexity (declared): balanced',
          },
        ],
        [
          {
            model: TIERS.strong,
            tier: 'strong',
            complexity: 'high',
            reason: 'high complexity (declared): strong',
          },
        ],
        [
          {
            model: TIERS.strong,
            tier: 'strong',
            complexity: 'high',
            reason: 'high complexity (keywords): strong',
          },
        ],
      ]);
      expect([...asked()].sort()).toEqual(
        ['claude-haiku-4-5', 'claude-opus-4-1', 'claude-opus-4-1', 'claude-sonnet-4-5'].sort(),
      );
      const low = tasks[0]!.id;
      const events = await eventsOf(baton, low, 'task.model_selected');
      expect(events.map((e) => e.data)).toEqual([
        {
          attempt: 1,
          model: TIERS.fast,
          tier: 'fast',
          complexity: 'low',
          reason: 'low complexity (declared): fast',
        },
      ]);
      expect(await logText(baton, low)).toContain(
        'model: anthropic:claude-haiku-4-5 (tier fast: low complexity (declared): fast)',
      );
      // The ledger counts the call against the model that was chosen.
      const usage = await baton.backend.usageOf(low);
      expect(usage.map((u) => u.model)).toEqual(['claude-haiku-4-5']);
    });
  });

  it('gives critical work the strong tier, whatever its complexity', async () => {
    await withWorker(async (baton) => {
      const task = await baton.submit({
        type: 'llm',
        priority: 'critical',
        payload: auto('Fix a typo', { complexity: 'low' }),
      });
      expect((await waitTask(baton, task.id)).state).toBe('succeeded');
      expect(asked()).toEqual(['claude-opus-4-1']);
      const [attempt] = await baton.attempts(task.id);
      expect(attempt!.model).toMatchObject({
        tier: 'strong',
        reason: 'low complexity (declared): fast; critical priority: strong',
      });
    });
  });

  it('drops to the fast tier when the run has under 10% of its budget left', async () => {
    // The first call reports enough input to spend $0.95 of the $1 budget at Opus prices.
    server.respond = ({ body }) =>
      body.model === 'claude-opus-4-1'
        ? { text: 'done', usage: { input: 63_334, output: 1 } }
        : undefined;
    await withWorker(async (baton) => {
      const { tasks } = await baton.submitRun({
        budget: { usd: 1 },
        tasks: [
          { key: 'first', type: 'llm', payload: auto('Big job', { complexity: 'high' }) },
          {
            key: 'second',
            type: 'llm',
            dependsOn: ['first'],
            payload: auto('Another big job', { complexity: 'high' }),
          },
        ],
      });
      const second = await waitTask(baton, tasks[1]!.id);
      expect(second.state).toBe('succeeded');
      expect(asked()).toEqual(['claude-opus-4-1', 'claude-haiku-4-5']);
      const [attempt] = await baton.attempts(second.id);
      expect(attempt!.model).toMatchObject({
        tier: 'fast',
        reason: "high complexity (declared): strong; 5% of the run's budget left (under 10%): fast",
      });
      const budget = await baton.backend.budgetOf(second.runId!);
      expect(budget!.spentUsd).toBeLessThanOrEqual(1);
    });
  });

  it('downgrades to the fast tier when the budget cannot hold the chosen tier’s worst case', async () => {
    await withWorker(async (baton) => {
      // $0.01 holds Haiku's worst case (200 tokens out at $5/M) but not Opus's ($75/M).
      const task = await baton.submit({
        type: 'llm',
        budget: { usd: 0.01 },
        payload: auto('Audit the design', { complexity: 'high' }),
      });
      const done = await waitTask(baton, task.id);
      expect(done.state).toBe('succeeded');
      expect(asked()).toEqual(['claude-haiku-4-5']);
      const [attempt] = await baton.attempts(task.id);
      expect(attempt!.model).toMatchObject({
        model: TIERS.fast,
        tier: 'fast',
        reason:
          "high complexity (declared): strong; the run's or task's budget cannot hold the worst case of anthropic:claude-opus-4-1: fast",
      });
      const events = await eventsOf(baton, task.id, 'task.model_selected');
      expect(events.map((e) => e.data.tier)).toEqual(['strong', 'fast']);
      expect((await baton.backend.budgetOf(task.id))!.spentUsd).toBeLessThanOrEqual(0.01);
    });
  });

  it('takes the cheaper tier once its history for the task type has enough successes', async () => {
    await withWorker(
      async (baton) => {
        // Three medium tasks run on the fast tier's model by name: they count in its history.
        const seeded = await Promise.all(
          [1, 2, 3].map(() =>
            baton.submit({
              type: 'llm',
              payload: { model: TIERS.fast, prompt: 'Say hi', complexity: 'medium' },
            }),
          ),
        );
        for (const t of seeded) expect((await waitTask(baton, t.id)).state).toBe('succeeded');
        expect(
          await baton.backend.modelHistory({
            taskType: 'llm',
            complexity: 'medium',
            models: [TIERS.fast],
          }),
        ).toEqual([{ model: TIERS.fast, runs: 3, succeeded: 3 }]);
        const task = await baton.submit({
          type: 'llm',
          payload: auto('Say hi', { complexity: 'medium' }),
        });
        expect((await waitTask(baton, task.id)).state).toBe('succeeded');
        const [attempt] = await baton.attempts(task.id);
        expect(attempt!.model).toMatchObject({
          model: TIERS.fast,
          tier: 'fast',
          reason:
            "medium complexity (declared): balanced; fast succeeded 100% of this type's runs: fast",
        });
        // A high task is not helped by the fast tier's record on medium work.
        const high = await baton.submit({
          type: 'llm',
          payload: auto('Say hi', { complexity: 'high' }),
        });
        await waitTask(baton, high.id);
        expect((await baton.attempts(high.id))[0]!.model!.tier).toBe('strong');
      },
      { choice: { minRuns: 3 } },
    );
  });

  it('moves a retry up one tier after an answer that failed its schema on a cheaper tier', async () => {
    // The fast model answers prose where JSON is asked; the balanced one answers well.
    server.respond = ({ body }) =>
      body.model === 'claude-haiku-4-5' ? { text: 'Sure! Here it is.' } : { text: '{"n":1}' };
    await withWorker(async (baton) => {
      const task = await baton.submit({
        type: 'llm',
        maxAttempts: 3,
        backoff: quickBackoff,
        payload: auto('Count to one', {
          complexity: 'low',
          output: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
        }),
      });
      const done = await waitTask(baton, task.id);
      expect(done.state).toBe('succeeded');
      expect(done.result).toEqual({ n: 1 });
      const attempts = await baton.attempts(task.id);
      expect(attempts.map((a) => [a.attempt, a.outcome, a.model?.tier, a.model?.reason])).toEqual([
        [1, 'failed', 'fast', 'low complexity (declared): fast'],
        [
          2,
          'succeeded',
          'balanced',
          'low complexity (declared): fast; the last attempt failed on fast: balanced',
        ],
      ]);
      expect(asked()).toEqual(['claude-haiku-4-5', 'claude-sonnet-4-5']);
      // Both outcomes count in the history of llm tasks of low complexity.
      expect(
        await baton.backend.modelHistory({
          taskType: 'llm',
          complexity: 'low',
          models: [TIERS.fast, TIERS.balanced],
        }),
      ).toEqual([
        { model: TIERS.fast, runs: 1, succeeded: 0 },
        { model: TIERS.balanced, runs: 1, succeeded: 1 },
      ]);
      const events = await eventsOf(baton, task.id, 'task.model_selected');
      expect(events.map((e) => [e.data.attempt, e.data.tier])).toEqual([
        [1, 'fast'],
        [2, 'balanced'],
      ]);
    });
  });

  it('shows each attempt’s model and reason in GET /v1/tasks/:id', async () => {
    const api = await startServer();
    await withWorker(
      async (baton) => {
        const created = await api.request('POST', '/v1/tasks', {
          body: { type: 'llm', payload: { model: 'auto', prompt: 'Hi', complexity: 'medium' } },
        });
        expect(created.status).toBe(201);
        await waitTask(baton, created.body.id as string);
        const got = await api.request('GET', `/v1/tasks/${created.body.id as string}`);
        expect(got.status).toBe(200);
        expect(got.body.attempts[0].model).toEqual({
          model: TIERS.balanced,
          tier: 'balanced',
          complexity: 'medium',
          reason: 'medium complexity (declared): balanced',
        });
      },
      {},
      api.baton,
    );
  });
});

describe('model: auto, bad input', () => {
  it('fails an auto task at once on a worker without tiers, saying what to do', async () => {
    const baton = await h.baton();
    const worker = await h.startWorker(baton, {
      handlers: {
        llm: llmHandler<TaskContext>({
          env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: server.url },
        }),
      },
    });
    try {
      const task = await baton.submit({ type: 'llm', payload: auto('Hi') });
      const done = await waitTask(baton, task.id);
      expect(done.state).toBe('failed');
      expect(done.attempts).toBe(1);
      expect(done.error!.message).toContain(
        "model 'auto' needs model tiers, which this worker does not have",
      );
      expect(server.requests).toEqual([]);
    } finally {
      await worker.stop();
    }
  });

  it('refuses tiers that are missing, unknown or not concrete model ids', () => {
    expect(() =>
      llmHandler({
        tiers: { strong: 'claude-opus-4-1', balanced: 'auto', fast: 'gemini:flash' },
      }),
    ).toThrow(
      "invalid llmHandler options: tiers.strong: model 'claude-opus-4-1' does not say its provider; did you mean 'anthropic:claude-opus-4-1'?; write it as anthropic:<model>, openai:<model>, openai-compatible:<name>:<model>, or auto; tiers.balanced: must be a concrete model id, not auto; tiers.fast: model 'gemini:flash' names an unknown provider 'gemini'; write it as anthropic:<model>, openai:<model>, openai-compatible:<name>:<model>, or auto",
    );
    expect(() =>
      llmHandler({ tiers: { strong: TIERS.strong, medium: TIERS.balanced } as never }),
    ).toThrow(/tiers: 'medium' is not a tier.*tiers\.balanced: is missing/);
  });

  it('refuses a complexity that is not low, medium or high before storing anything', async () => {
    const baton = await h.baton();
    const error = await baton
      .submit({ type: 'llm', payload: auto('Hi', { complexity: 'hard' }) })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toContain(
      "tasks[0].payload.complexity: must be one of low, medium, high (how hard the task is, for model: auto); got the string 'hard'",
    );
    expect((await baton.tasks({})).tasks).toEqual([]);
  });
});

describe('model: auto on Redis', () => {
  it('records choices and history in Redis: a retry moves up a tier, the next task learns from it', async () => {
    const namespace = `test-auto-${randomUUID()}`;
    const baton = await Baton.open(REDIS_URL, { namespace, logger: pino({ level: 'silent' }) });
    try {
      server.respond = ({ body }) =>
        body.model === 'claude-haiku-4-5' ? { text: 'Not JSON.' } : { text: '{"n":1}' };
      await withWorker(
        async (b) => {
          const output = {
            type: 'object',
            properties: { n: { type: 'integer' } },
            required: ['n'],
          };
          const task = await b.submit({
            type: 'llm',
            maxAttempts: 3,
            backoff: quickBackoff,
            payload: auto('Count', { complexity: 'low', output }),
          });
          expect((await waitTask(b, task.id)).state).toBe('succeeded');
          const attempts = await b.attempts(task.id);
          expect(attempts.map((a) => [a.outcome, a.model?.tier])).toEqual([
            ['failed', 'fast'],
            ['succeeded', 'balanced'],
          ]);
          expect((await eventsOf(b, task.id, 'task.model_selected')).length).toBe(2);
          // With minRuns 1, the fast tier's record on low work (0 of 1) sends the next low
          // task to balanced from its first attempt.
          const next = await b.submit({
            type: 'llm',
            payload: auto('Count again', { complexity: 'low', output }),
          });
          expect((await waitTask(b, next.id)).state).toBe('succeeded');
          expect((await b.attempts(next.id))[0]!.model).toMatchObject({
            tier: 'balanced',
            reason:
              "low complexity (declared): fast; fast succeeded only 0% of this type's runs: balanced",
          });
        },
        { choice: { minRuns: 1 } },
        baton,
      );
    } finally {
      await baton.close();
      await deleteNamespaces([namespace]);
    }
  });
});
