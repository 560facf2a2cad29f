/**
 * Tasks of type `llm` end to end: a real worker on a SQLite file claims them and calls the fake
 * model service (real provider libraries over loopback HTTP); the task succeeds, is deferred,
 * retried or failed as Baton's retry model says, and a key never reaches the store.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ValidationError } from '../../src/core/errors.ts';
import type { BatonEvent, RunRecord, TaskRecord } from '../../src/core/types.ts';
import {
  llmHandler,
  type LlmHandlerOptions,
  type LlmUsage,
} from '../../src/executors/llm/index.ts';
import type { TaskContext } from '../../src/runtime/worker.ts';
import { startFakeLlm, type FakeLlmServer } from '../helpers/fake-llm.ts';
import { useHarness } from '../runtime/harness.ts';
import { closeAll, startServer } from '../server/harness.ts';

const h = useHarness();

const ANTHROPIC_KEY = 'sk-ant-worker-test-key-5f3a9c';
const OPENAI_KEY = 'sk-openai-worker-test-key-8d2e1b';
const SONNET = 'anthropic:claude-sonnet-4-5';
const MINI = 'openai:gpt-4.1-mini';
/** Backoff so long that a failed attempt would not run again within a test. */
const slowBackoff = { baseMs: 60_000, maxMs: 60_000, jitter: 'none' as const };
const quickBackoff = { baseMs: 10, maxMs: 10, jitter: 'none' as const };

let server: FakeLlmServer;

beforeEach(async () => {
  server = await startFakeLlm({ keys: [ANTHROPIC_KEY, OPENAI_KEY] });
});

afterEach(async () => {
  await closeAll();
  await server.close();
});

interface Recorded {
  usage: { taskId: string; attempt: number; usage: LlmUsage }[];
  text: Map<string, string>;
}

/** A worker whose llm handler talks to the fake server and records what it streams and spends. */
async function startWorker(
  options: LlmHandlerOptions<TaskContext> = {},
): Promise<{ recorded: Recorded; stop: () => Promise<void> }> {
  const recorded: Recorded = { usage: [], text: new Map() };
  const baton = await h.baton();
  const worker = await h.startWorker(baton, {
    concurrency: 4,
    handlers: {
      llm: llmHandler<TaskContext>({
        env: {
          ANTHROPIC_API_KEY: ANTHROPIC_KEY,
          ANTHROPIC_BASE_URL: server.url,
          OPENAI_API_KEY: OPENAI_KEY,
          OPENAI_BASE_URL: server.baseUrl,
        },
        busyRetryMs: 20,
        onText: (chunk, ctx) => {
          recorded.text.set(ctx.task.id, (recorded.text.get(ctx.task.id) ?? '') + chunk);
        },
        onUsage: (usage, ctx) => {
          recorded.usage.push({ taskId: ctx.task.id, attempt: ctx.attempt, usage });
        },
        ...options,
      }),
    },
  });
  return { recorded, stop: () => worker.stop() };
}

async function waitTask(id: string): Promise<TaskRecord> {
  const baton = await h.baton();
  return (await baton.wait(id, { timeoutMs: 20_000 })) as TaskRecord;
}

async function eventsOf(taskId: string, type: BatonEvent['type']): Promise<BatonEvent[]> {
  const baton = await h.baton();
  const events: BatonEvent[] = [];
  for await (const event of baton.events({ follow: false })) {
    if (event.taskId === taskId && event.type === type) events.push(event);
  }
  return events;
}

describe('llm tasks on a worker', () => {
  it('a run of llm tasks: the second is prompted with the first result and answers JSON', async () => {
    server.answers.push(
      { chunks: ['Bees ', 'communicate ', 'by dancing.'], usage: { input: 20, output: 6 } },
      { text: '{"headline":"Dancing bees","words":2}', usage: { input: 40, output: 12 } },
    );
    const { recorded, stop } = await startWorker();
    const baton = await h.baton();
    const submitted = await baton.submitRun({
      name: 'bees',
      tasks: [
        {
          key: 'research',
          type: 'llm',
          payload: { model: SONNET, prompt: 'How do {{ payload.animal }} talk?', animal: 'bees' },
        },
        {
          key: 'headline',
          type: 'llm',
          dependsOn: ['research'],
          payload: {
            model: MINI,
            system: 'You write headlines.',
            prompt: 'Headline for: {{ deps.research.result }}',
            output: {
              type: 'object',
              properties: { headline: { type: 'string' }, words: { type: 'integer' } },
              required: ['headline', 'words'],
              additionalProperties: false,
            },
          },
        },
      ],
    });
    let run: RunRecord;
    try {
      run = (await baton.wait(submitted.runId, { timeoutMs: 20_000 })) as RunRecord;
    } finally {
      await stop();
    }
    expect(run.state).toBe('succeeded');
    const [research, headline] = await Promise.all(
      submitted.tasks.map(async (t) => (await baton.get(t.id))!),
    );
    expect(research!.result).toBe('Bees communicate by dancing.');
    expect(headline!.result).toEqual({ headline: 'Dancing bees', words: 2 });
    expect(recorded.text.get(research!.id)).toBe('Bees communicate by dancing.');

    // The requests the providers got: the template filled from the payload and the dependency.
    expect(server.requests.map((r) => r.provider)).toEqual(['anthropic', 'openai']);
    expect(server.requests[0]!.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'How do bees talk?' }] },
    ]);
    expect(server.requests[1]!.body.messages).toEqual([
      { role: 'system', content: 'You write headlines.' },
      { role: 'user', content: 'Headline for: Bees communicate by dancing.' },
    ]);

    // One usage record per call, with the task and attempt it belongs to.
    expect(recorded.usage).toEqual([
      {
        taskId: research!.id,
        attempt: 1,
        usage: expect.objectContaining({
          provider: 'anthropic',
          inputTokens: 20,
          outputTokens: 6,
        }) as unknown,
      },
      {
        taskId: headline!.id,
        attempt: 1,
        usage: expect.objectContaining({
          provider: 'openai',
          inputTokens: 40,
          outputTokens: 12,
        }) as unknown,
      },
    ]);
  });

  it('a rate limit with Retry-After gives the task back without spending an attempt', async () => {
    server.answers.push(
      { kind: 'error', status: 429, headers: { 'retry-after': '0' } },
      { kind: 'error', status: 529, message: 'Overloaded' },
      { text: 'finally' },
    );
    const { stop } = await startWorker();
    const baton = await h.baton();
    // maxAttempts 1: were a rate limit an attempt, the first one would fail the task.
    const { id } = await baton.submit({
      type: 'llm',
      payload: { model: SONNET, prompt: 'p' },
      maxAttempts: 1,
      backoff: slowBackoff,
    });
    let done: TaskRecord;
    try {
      done = await waitTask(id);
    } finally {
      await stop();
    }
    expect(done.state).toBe('succeeded');
    expect(done.result).toBe('finally');
    expect(done.attempts).toBe(1);
    const attempts = await baton.attempts(id);
    expect(attempts.map((a) => a.outcome)).toEqual(['released', 'released', 'succeeded']);
    const released = await eventsOf(id, 'task.released');
    expect(released.map((e) => e.data.delayMs)[0]).toBe(0); // the provider's Retry-After
    expect(released[0]!.data.reason as string).toMatch(/is rate limited \(HTTP 429/);
    expect(released[1]!.data.reason as string).toMatch(/is overloaded \(HTTP 529: Overloaded\)/);
  });

  it('a 500 and a malformed stream are failed attempts, retried with the backoff', async () => {
    server.answers.push(
      { kind: 'error', status: 500, message: 'upstream exploded' },
      { kind: 'malformed' },
      { text: 'third time lucky' },
    );
    const { stop } = await startWorker();
    const baton = await h.baton();
    const { id } = await baton.submit({
      type: 'llm',
      payload: { model: MINI, prompt: 'p' },
      maxAttempts: 3,
      backoff: quickBackoff,
    });
    let done: TaskRecord;
    try {
      done = await waitTask(id);
    } finally {
      await stop();
    }
    expect(done.state).toBe('succeeded');
    expect(done.result).toBe('third time lucky');
    expect(done.attempts).toBe(3);
    const attempts = await baton.attempts(id);
    expect(attempts.map((a) => [a.outcome, a.error?.code ?? null])).toEqual([
      ['failed', 'LLM_SERVER'],
      ['failed', 'LLM_STREAM'],
      ['succeeded', null],
    ]);
  });

  it('a structured answer that is not JSON fails the task with a clear error', async () => {
    server.fallback = { text: 'I would rather write prose.' };
    const { recorded, stop } = await startWorker();
    const baton = await h.baton();
    const { id } = await baton.submit({
      type: 'llm',
      payload: {
        model: SONNET,
        prompt: 'p',
        output: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
      },
      maxAttempts: 2,
      backoff: quickBackoff,
    });
    let done: TaskRecord;
    try {
      done = await waitTask(id);
    } finally {
      await stop();
    }
    expect(done.state).toBe('failed');
    expect(done.attempts).toBe(2); // a fresh answer might have been JSON
    expect(done.error).toMatchObject({ code: 'LLM_OUTPUT_INVALID', retryable: true });
    expect(done.error?.message).toMatch(
      /^the answer from anthropic:claude-sonnet-4-5 is not JSON \(.*\), though the task's output schema asks for it; .* It began: "I would rather write prose\."$/,
    );
    // Both calls were paid for, and both were reported.
    expect(recorded.usage.map((u) => u.attempt)).toEqual([1, 2]);
  });

  it('a prompt too long fails at once, with attempts left', async () => {
    server.answers.push({
      kind: 'error',
      status: 400,
      message: 'prompt is too long: 210000 tokens > 200000 maximum',
    });
    const { stop } = await startWorker();
    const baton = await h.baton();
    const { id } = await baton.submit({
      type: 'llm',
      payload: { model: SONNET, prompt: 'p' },
      maxAttempts: 5,
    });
    let done: TaskRecord;
    try {
      done = await waitTask(id);
    } finally {
      await stop();
    }
    expect(done.state).toBe('failed');
    expect(done.attempts).toBe(1);
    expect(done.error).toMatchObject({ code: 'LLM_PROMPT_TOO_LONG', retryable: false });
    expect(server.requests).toHaveLength(1);
  });

  it('a missing key fails the task at once, naming the variable', async () => {
    const { stop } = await startWorker({ env: { ANTHROPIC_BASE_URL: server.url } });
    const baton = await h.baton();
    const { id } = await baton.submit({
      type: 'llm',
      payload: { model: SONNET, prompt: 'p' },
      maxAttempts: 3,
    });
    let done: TaskRecord;
    try {
      done = await waitTask(id);
    } finally {
      await stop();
    }
    expect(done.state).toBe('failed');
    expect(done.attempts).toBe(1);
    expect(done.error).toMatchObject({ code: 'BATON_NON_RETRYABLE', retryable: false });
    expect(done.error?.message).toMatch(
      /^ANTHROPIC_API_KEY is not set: model anthropic:claude-sonnet-4-5/,
    );
    expect(server.requests).toEqual([]);
  });

  it('a refused key fails the task at once, and no key is anywhere in the store', async () => {
    const wrong = 'sk-ant-WRONG-must-never-be-stored-71c0';
    const { stop } = await startWorker({
      env: {
        ANTHROPIC_API_KEY: wrong,
        ANTHROPIC_BASE_URL: server.url,
        OPENAI_API_KEY: OPENAI_KEY,
        OPENAI_BASE_URL: server.baseUrl,
      },
    });
    server.answers.push(
      { kind: 'error', status: 429, message: `slow down ${OPENAI_KEY}` },
      { text: 'ok' },
    );
    const baton = await h.baton();
    const refused = await baton.submit({ type: 'llm', payload: { model: SONNET, prompt: 'p' } });
    const deferred = await baton.submit({ type: 'llm', payload: { model: MINI, prompt: 'p' } });
    let done: TaskRecord;
    try {
      done = await waitTask(refused.id);
      await waitTask(deferred.id);
    } finally {
      await stop();
    }
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ code: 'LLM_AUTH', retryable: false });
    expect(done.error?.message).toContain(
      'the provider refused the API key from ANTHROPIC_API_KEY',
    );
    expect(done.error?.message).toContain('[redacted]'); // the fake server quoted the key back

    // Not in the task, its attempts or the events…
    const everything = JSON.stringify([
      await baton.get(refused.id),
      await baton.get(deferred.id),
      await baton.attempts(refused.id),
      await baton.attempts(deferred.id),
      await eventsOf(refused.id, 'task.failed'),
      await eventsOf(deferred.id, 'task.released'),
    ]);
    expect(everything).toContain('slow down [redacted]');
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(OPENAI_KEY);
    // …nor anywhere in the database's files.
    await baton.close();
    for (const file of ['baton.db', 'baton.db-wal']) {
      const bytes = await readFile(join(h.dir, file)).catch(() => Buffer.alloc(0));
      expect(bytes.includes(wrong), file).toBe(false);
      expect(bytes.includes(OPENAI_KEY), file).toBe(false);
    }
  });

  it('cancelling a task mid-answer closes the connection to the provider', async () => {
    server.answers.push({ kind: 'hang', text: 'Once upon a time' });
    const { recorded, stop } = await startWorker();
    const baton = await h.baton();
    const { id } = await baton.submit({ type: 'llm', payload: { model: SONNET, prompt: 'p' } });
    const closed = server.nextClosed();
    let done: TaskRecord;
    try {
      await waitFor(() => (recorded.text.get(id) ?? '').length > 0);
      await baton.cancel(id, 'changed my mind');
      expect((await closed).provider).toBe('anthropic');
      done = await waitTask(id);
    } finally {
      await stop();
    }
    expect(done.state).toBe('cancelled');
    expect(server.closed).toHaveLength(1);
  });

  it('a timeout mid-answer closes the connection and fails the attempt', async () => {
    server.answers.push({ kind: 'hang', text: 'Thinking very hard' });
    const { stop } = await startWorker();
    const baton = await h.baton();
    const closed = server.nextClosed();
    const { id } = await baton.submit({
      type: 'llm',
      payload: { model: MINI, prompt: 'p' },
      timeoutMs: 300,
      maxAttempts: 1,
    });
    let done: TaskRecord;
    try {
      expect((await closed).provider).toBe('openai');
      done = await waitTask(id);
    } finally {
      await stop();
    }
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ code: 'BATON_TIMEOUT' });
    expect((await baton.attempts(id)).map((a) => a.outcome)).toEqual(['timed_out']);
  });

  it('a template naming a path the dependency result lacks fails the task at once', async () => {
    const { stop } = await startWorker();
    const baton = await h.baton();
    server.answers.push({ text: 'just text' });
    const submitted = await baton.submitRun({
      tasks: [
        { key: 'a', type: 'llm', payload: { model: MINI, prompt: 'p' } },
        {
          key: 'b',
          type: 'llm',
          dependsOn: ['a'],
          payload: { model: MINI, prompt: '{{ deps.a.result.summary }}' },
          maxAttempts: 3,
        },
      ],
    });
    let b: TaskRecord;
    try {
      b = await waitTask(submitted.tasks[1]!.id);
    } finally {
      await stop();
    }
    expect(b.state).toBe('failed');
    expect(b.attempts).toBe(1);
    expect(b.error?.message).toBe(
      "cannot fill the llm task's prompt: {{ deps.a.result.summary }}: the result of 'a' has no 'summary'; it is a string",
    );
    expect(server.requests).toHaveLength(1);
  });
});

describe('submitting a bad llm task', () => {
  it('the SDK refuses it and stores nothing', async () => {
    const baton = await h.baton();
    const error = await baton
      .submit({
        type: 'llm',
        payload: {
          model: 'openai:gpt-4.1-mini',
          prompt: 'Use {{ deps.research.result }}',
          output: { type: 'object', properties: { n: { type: 'numbr' } } },
        },
      })
      .then(
        () => null,
        (e: unknown) => e as Error,
      );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path)).toEqual([
      'tasks[0].payload.prompt',
      'tasks[0].payload.output',
    ]);
    expect((await baton.tasks({})).tasks).toEqual([]);
  });

  it('the HTTP API answers 400 naming the fields, and stores nothing', async () => {
    const api = await startServer();
    const refused = await api.request('POST', '/v1/tasks', {
      body: { type: 'llm', payload: { model: 'gemini:pro', prompt: 'hi' } },
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain("names an unknown provider 'gemini'");
    expect((await api.baton.tasks({})).tasks).toEqual([]);
  });
});

describe('llm tasks submitted over HTTP', () => {
  it('POST /v1/tasks with type llm runs on a worker with the llm handler', async () => {
    server.answers.push({ text: 'from the model' });
    const api = await startServer();
    const baton = api.baton;
    const worker = await h.startWorker(baton, {
      handlers: {
        llm: llmHandler({
          env: { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: server.baseUrl },
        }),
      },
    });
    let done: TaskRecord;
    try {
      const created = await api.request('POST', '/v1/tasks', {
        body: {
          type: 'llm',
          payload: { model: MINI, prompt: 'Greet {{ payload.who }}', who: 'the reader' },
        },
      });
      expect(created.status).toBe(201);
      done = (await baton.wait(created.body.id as string, { timeoutMs: 20_000 })) as TaskRecord;
    } finally {
      await worker.stop();
    }
    expect(done.state).toBe('succeeded');
    expect(done.result).toBe('from the model');
    const got = await api.request('GET', `/v1/tasks/${done.id}`);
    expect(got.body.task.result).toBe('from the model');
    expect(server.requests[0]!.body.messages).toEqual([
      { role: 'user', content: 'Greet the reader' },
    ]);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error('condition not met in time');
}
