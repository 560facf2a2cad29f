/**
 * The `llm` handler against a fake model service on loopback that speaks Anthropic's Messages
 * SSE and OpenAI's Chat Completions stream (test/helpers/fake-llm.ts): the real AI SDK provider
 * libraries make real HTTP requests to it.
 */
import { inspect } from 'node:util';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import {
  CancelledError,
  DeferError,
  NonRetryableError,
  TimeoutError,
} from '../../src/core/errors.ts';
import type { DependencyOutcome, Json } from '../../src/core/types.ts';
import {
  ModelBusyError,
  ModelCallError,
  llmHandler,
  retryAfterOf,
  type LlmHandlerContext,
  type LlmHandlerOptions,
  type LlmUsage,
} from '../../src/executors/llm/index.ts';
import { startFakeLlm, type FakeLlmServer } from '../helpers/fake-llm.ts';

const ANTHROPIC_KEY = 'sk-ant-test-0123456789abcdef';
const OPENAI_KEY = 'sk-openai-test-fedcba9876543210';

let server: FakeLlmServer;

beforeEach(async () => {
  server = await startFakeLlm({ keys: [ANTHROPIC_KEY, OPENAI_KEY] });
});

afterEach(async () => {
  await server.close();
});

/** The environment a worker would have: keys and base URLs as the official SDKs read them. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ANTHROPIC_API_KEY: ANTHROPIC_KEY,
    ANTHROPIC_BASE_URL: server.url, // the server root, as the official Anthropic SDK takes it
    OPENAI_API_KEY: OPENAI_KEY,
    OPENAI_BASE_URL: server.baseUrl, // …/v1, as the official OpenAI SDK takes it
    ...extra,
  };
}

function context(payload: Json, overrides: Partial<LlmHandlerContext> = {}): LlmHandlerContext {
  return {
    task: { id: 'tsk_test' },
    payload,
    attempt: 1,
    signal: new AbortController().signal,
    dependencies: {},
    ...overrides,
  };
}

function dependency(key: string, result: Json): DependencyOutcome {
  return { taskId: `tsk_${key}`, key, state: 'succeeded', soft: false, result, error: null };
}

/** A handler on the fake server that records streamed text and usage. */
function handler(options: LlmHandlerOptions = {}): {
  run: (ctx: LlmHandlerContext) => Promise<Json>;
  text: string[];
  usage: LlmUsage[];
} {
  const text: string[] = [];
  const usage: LlmUsage[] = [];
  const run = llmHandler({
    env: env(),
    busyRetryMs: 1_000,
    onText: (chunk) => text.push(chunk),
    onUsage: (u) => {
      usage.push(u);
    },
    ...options,
  });
  return { run, text, usage };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

const SONNET = 'anthropic:claude-sonnet-4-5';
const MINI = 'openai:gpt-4.1-mini';

const schema = {
  type: 'object',
  properties: { title: { type: 'string' }, score: { type: 'number' } },
  required: ['title', 'score'],
  additionalProperties: false,
};

describe('llmHandler: Anthropic', () => {
  it('streams the answer chunk by chunk, returns its text, and reports usage with cache tokens', async () => {
    server.answers.push({
      chunks: ['Bees ', 'dance ', 'to talk.'],
      usage: { input: 120, output: 9, cacheRead: 300, cacheWrite: 40 },
    });
    const h = handler();
    const result = await h.run(
      context(
        {
          model: SONNET,
          system: 'You write about {{ payload.topic }}.',
          prompt: 'Explain {{ payload.topic }} using {{ deps.research.result.facts.0 }}.',
          maxTokens: 300,
          temperature: 0.3,
          topic: 'bees',
        },
        { dependencies: { research: dependency('research', { facts: ['waggle dance'] }) } },
      ),
    );

    expect(result).toBe('Bees dance to talk.');
    expect(h.text).toEqual(['Bees ', 'dance ', 'to talk.']);
    expect(h.usage).toEqual([
      {
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        inputTokens: 460, // 120 uncached + 300 read from the cache + 40 written to it
        outputTokens: 9,
        cacheReadTokens: 300,
        cacheWriteTokens: 40,
        reasoningTokens: 0,
      },
    ]);
    const [request] = server.requests;
    expect(request!.provider).toBe('anthropic');
    expect(request!.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(request!.body).toMatchObject({
      model: 'claude-sonnet-4-5',
      max_tokens: 300,
      temperature: 0.3,
      stream: true,
      system: [{ type: 'text', text: 'You write about bees.' }],
      messages: [
        {
          role: 'user',
          content: [{ type: 'text', text: 'Explain bees using waggle dance.' }],
        },
      ],
    });
  });

  it('defaults maxTokens to the handler setting', async () => {
    const h = handler({ maxTokens: 123 });
    await h.run(context({ model: SONNET, prompt: 'hi' }));
    expect(server.requests[0]!.body.max_tokens).toBe(123);
    expect(server.requests[0]!.body).not.toHaveProperty('temperature');
  });

  it('returns the parsed JSON of a structured answer (native output format)', async () => {
    server.answers.push({ text: '{"title": "Bees", "score": 0.9}' });
    const h = handler();
    const result = await h.run(context({ model: SONNET, prompt: 'Rate bees', output: schema }));
    expect(result).toEqual({ title: 'Bees', score: 0.9 });
    expect(server.requests[0]!.body.output_config).toEqual({
      format: { type: 'json_schema', schema },
    });
    expect(h.text.join('')).toBe('{"title": "Bees", "score": 0.9}');
  });

  it('returns the parsed JSON of a structured answer given as the json tool', async () => {
    // An open object (additionalProperties: true), which Anthropic's native format does not
    // take, goes through the forced `json` tool: its answer is a tool_use block.
    const open = {
      type: 'object',
      properties: { title: { type: 'string' } },
      required: ['title'],
      additionalProperties: true,
    };
    server.answers.push({ text: '{"title": "Bees"}' });
    const h = handler();
    const result = await h.run(context({ model: SONNET, prompt: 'Name it', output: open }));
    expect(result).toEqual({ title: 'Bees' });
    const body = server.requests[0]!.body;
    expect(body.tools).toEqual([expect.objectContaining({ name: 'json', input_schema: open })]);
    expect(body).not.toHaveProperty('output_config');
  });

  it('reads ANTHROPIC_BASE_URL as the server root, or with /v1; providers.anthropic wins over the environment', async () => {
    await handler({ env: env({ ANTHROPIC_BASE_URL: `${server.url}/v1/` }) }).run(
      context({ model: SONNET, prompt: 'a' }),
    );
    await handler({
      env: env({ ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/nowhere', ANTHROPIC_API_KEY: 'wrong' }),
      providers: { anthropic: { baseUrl: server.url, apiKey: ANTHROPIC_KEY } },
    }).run(context({ model: SONNET, prompt: 'b' }));
    expect(server.requests.map((r) => [r.path, r.headers['x-api-key']])).toEqual([
      ['/v1/messages', ANTHROPIC_KEY],
      ['/v1/messages', ANTHROPIC_KEY],
    ]);
  });
});

describe('llmHandler: OpenAI and OpenAI-compatible servers', () => {
  it('streams Chat Completions with include_usage, and reports cached and reasoning tokens', async () => {
    server.answers.push({
      chunks: ['Hel', 'lo'],
      usage: { input: 50, cacheRead: 1000, output: 30, reasoning: 12 },
    });
    const h = handler();
    const result = await h.run(context({ model: MINI, prompt: 'Say hello', system: 'Be kind.' }));
    expect(result).toBe('Hello');
    expect(h.text).toEqual(['Hel', 'lo']);
    expect(h.usage).toEqual([
      {
        provider: 'openai',
        model: 'gpt-4.1-mini',
        inputTokens: 1050,
        outputTokens: 30,
        cacheReadTokens: 1000,
        cacheWriteTokens: 0,
        reasoningTokens: 12,
      },
    ]);
    const [request] = server.requests;
    expect(request!.path).toBe('/v1/chat/completions');
    expect(request!.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(request!.body).toMatchObject({
      model: 'gpt-4.1-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: 'system', content: 'Be kind.' },
        { role: 'user', content: 'Say hello' },
      ],
    });
  });

  it('asks for a JSON schema response and parses the answer', async () => {
    server.answers.push({ text: '{"title":"x","score":1}' });
    const result = await handler().run(context({ model: MINI, prompt: 'p', output: schema }));
    expect(result).toEqual({ title: 'x', score: 1 });
    expect(server.requests[0]!.body.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { schema, strict: true },
    });
  });

  it('calls a configured OpenAI-compatible server, with the cost it reports', async () => {
    server.keys.add('gw-key-123');
    server.answers.push({ text: 'local', usage: { input: 7, output: 2, cost: 0.00042 } });
    const h = handler({
      providers: { compatible: { gateway: { baseUrl: server.baseUrl, apiKey: 'gw-key-123' } } },
    });
    const result = await h.run(
      context({ model: 'openai-compatible:gateway:meta/llama-3.1:8b', prompt: 'p' }),
    );
    expect(result).toBe('local');
    expect(h.usage).toEqual([
      {
        provider: 'gateway',
        model: 'meta/llama-3.1:8b',
        inputTokens: 7,
        outputTokens: 2,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
        costUsd: 0.00042,
      },
    ]);
    expect(server.requests[0]!.headers.authorization).toBe('Bearer gw-key-123');
    expect(server.requests[0]!.body).toMatchObject({
      model: 'meta/llama-3.1:8b',
      stream_options: { include_usage: true },
    });
  });

  it('finds an OpenAI-compatible server in the environment, and names how to configure a missing one', async () => {
    server.keys.clear(); // a local server wants no key
    const h = handler({
      env: env({ BATON_OPENAI_COMPATIBLE_LM_STUDIO_BASE_URL: server.baseUrl }),
    });
    expect(await h.run(context({ model: 'openai-compatible:lm-studio:qwen', prompt: 'p' }))).toBe(
      'ok',
    );
    expect(server.requests[0]!.headers.authorization).toBeUndefined();

    const error = await rejection(
      h.run(context({ model: 'openai-compatible:ollama:llama3.1', prompt: 'p' })),
    );
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toBe(
      "no OpenAI-compatible server named 'ollama' is configured: pass providers.compatible.ollama = { baseUrl } to llmHandler, or set BATON_OPENAI_COMPATIBLE_OLLAMA_BASE_URL (and BATON_OPENAI_COMPATIBLE_OLLAMA_API_KEY if it wants a key) in the worker's environment",
    );
    expect(server.requests).toHaveLength(1);
  });
});

describe('llmHandler: structured answers that do not fit', () => {
  it('an answer that is not JSON fails retryably, quoting it; its usage is still reported', async () => {
    server.answers.push({ text: 'Sure! Here is the JSON you asked for.', usage: { output: 11 } });
    const h = handler();
    const error = await rejection(h.run(context({ model: MINI, prompt: 'p', output: schema })));
    expect(error).toBeInstanceOf(ModelCallError);
    expect(error).toMatchObject({ code: 'LLM_OUTPUT_INVALID', retryable: true });
    expect(error.message).toMatch(
      /^the answer from openai:gpt-4\.1-mini is not JSON \(.*\), though the task's output schema asks for it; .* It began: "Sure! Here is the JSON you asked for\."$/,
    );
    expect(h.usage.map((u) => u.outputTokens)).toEqual([11]);
  });

  it('JSON that does not match the schema fails retryably, saying where', async () => {
    server.answers.push({ text: '{"title": 3}' });
    const error = await rejection(
      handler().run(context({ model: SONNET, prompt: 'p', output: schema })),
    );
    expect(error).toMatchObject({ code: 'LLM_OUTPUT_INVALID', retryable: true });
    expect(error.message).toContain(
      "does not match the task's output schema: the answer must have required property 'score'; the answer at /title must be string",
    );
  });

  it('an answer cut off at maxTokens fails for good: another attempt would be cut off too', async () => {
    server.answers.push({ text: '{"title": "Bees are', cutOff: true });
    const error = await rejection(
      handler().run(context({ model: MINI, prompt: 'p', maxTokens: 5, output: schema })),
    );
    expect(error).toMatchObject({ code: 'LLM_OUTPUT_INVALID', retryable: false });
    expect(error.message).toContain('it was cut off at maxTokens (5); raise maxTokens');
  });
});

describe('llmHandler: errors map onto the retry model', () => {
  it('429 with Retry-After defers for that long without counting an attempt (Anthropic)', async () => {
    server.answers.push({
      kind: 'error',
      status: 429,
      message: 'Number of request tokens has exceeded your per-minute rate limit',
      headers: { 'retry-after': '7' },
    });
    const error = await rejection(handler().run(context({ model: SONNET, prompt: 'p' })));
    expect(error).toBeInstanceOf(ModelBusyError);
    expect(error).toBeInstanceOf(DeferError);
    expect(error).toMatchObject({ code: 'BATON_DEFERRED', delayMs: 7000, status: 429 });
    expect(error.message).toBe(
      'anthropic:claude-sonnet-4-5 is rate limited (HTTP 429: Number of request tokens has exceeded your per-minute rate limit); the task will be offered again in 7000 ms, without counting an attempt',
    );
  });

  it("429 with OpenAI's retry-after-ms; without any, busyRetryMs ±20 %", async () => {
    server.answers.push(
      {
        kind: 'error',
        status: 429,
        code: 'rate_limit_exceeded',
        headers: { 'retry-after-ms': '1500' },
      },
      { kind: 'error', status: 429, code: 'rate_limit_exceeded' },
    );
    const h = handler({ busyRetryMs: 10_000 });
    expect(await rejection(h.run(context({ model: MINI, prompt: 'p' })))).toMatchObject({
      delayMs: 1500,
    });
    const second = (await rejection(
      h.run(context({ model: MINI, prompt: 'p' })),
    )) as ModelBusyError;
    expect(second).toBeInstanceOf(ModelBusyError);
    expect(second.delayMs).toBeGreaterThanOrEqual(8_000);
    expect(second.delayMs).toBeLessThanOrEqual(12_000);
  });

  it('529 overloaded and 503 defer; an overloaded_error inside the stream too', async () => {
    server.answers.push(
      { kind: 'error', status: 529, message: 'Overloaded', headers: { 'retry-after': '2' } },
      { kind: 'error', status: 503, message: 'The engine is currently overloaded' },
      {
        kind: 'stream-error',
        type: 'overloaded_error',
        message: 'Overloaded',
        text: 'Half an ans',
      },
    );
    const h = handler();
    const overloaded = await rejection(h.run(context({ model: SONNET, prompt: 'p' })));
    expect(overloaded).toMatchObject({ code: 'BATON_DEFERRED', delayMs: 2000, status: 529 });
    expect(overloaded.message).toContain('is overloaded (HTTP 529: Overloaded)');
    expect(await rejection(h.run(context({ model: MINI, prompt: 'p' })))).toBeInstanceOf(
      ModelBusyError,
    );
    const midStream = await rejection(h.run(context({ model: SONNET, prompt: 'p' })));
    expect(midStream).toBeInstanceOf(ModelBusyError);
    expect(midStream.message).toContain('overloaded_error in the stream: Overloaded');
  });

  it('500 is retryable and counted, keeping a Retry-After as the wait', async () => {
    server.answers.push(
      { kind: 'error', status: 500, message: 'Internal server error' },
      { kind: 'error', status: 502, headers: { 'retry-after': '3' } },
    );
    const h = handler();
    const first = await rejection(h.run(context({ model: SONNET, prompt: 'p' })));
    expect(first).toBeInstanceOf(ModelCallError);
    expect(first).not.toBeInstanceOf(DeferError);
    expect(first).toMatchObject({ code: 'LLM_SERVER', retryable: true, status: 500 });
    expect(first.message).toBe(
      'anthropic:claude-sonnet-4-5: the provider failed (HTTP 500: Internal server error); the task will be retried',
    );
    expect(await rejection(h.run(context({ model: MINI, prompt: 'p' })))).toMatchObject({
      code: 'LLM_SERVER',
      retryAfterMs: 3000,
    });
  });

  it('a prompt too long for the model is not retried, on either provider', async () => {
    server.answers.push(
      {
        kind: 'error',
        status: 400,
        message: 'prompt is too long: 215000 tokens > 200000 maximum',
      },
      {
        kind: 'error',
        status: 400,
        code: 'context_length_exceeded',
        message: "This model's maximum context length is 1047576 tokens.",
      },
    );
    const h = handler();
    for (const model of [SONNET, MINI]) {
      const error = await rejection(h.run(context({ model, prompt: 'p' })));
      expect(error).toMatchObject({ code: 'LLM_PROMPT_TOO_LONG', retryable: false, status: 400 });
      expect(error.message).toMatch(
        /the prompt is too long for the model \(HTTP 400: .+\); shorten/,
      );
    }
  });

  it('a bad request and an unknown model are not retried', async () => {
    server.answers.push(
      { kind: 'error', status: 400, message: 'temperature: range: 0..1' },
      { kind: 'error', status: 404, type: 'not_found_error', message: 'model: claude-nope' },
    );
    const h = handler();
    expect(await rejection(h.run(context({ model: SONNET, prompt: 'p' })))).toMatchObject({
      code: 'LLM_BAD_REQUEST',
      retryable: false,
    });
    const missing = await rejection(
      h.run(context({ model: 'anthropic:claude-nope', prompt: 'p' })),
    );
    expect(missing).toMatchObject({ code: 'LLM_BAD_REQUEST', retryable: false, status: 404 });
    expect(missing.message).toContain('check the model name');
  });

  it('an account without quota is not retried', async () => {
    server.answers.push({
      kind: 'error',
      status: 429,
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      message: 'You exceeded your current quota, please check your plan and billing details.',
    });
    const error = await rejection(handler().run(context({ model: MINI, prompt: 'p' })));
    expect(error).toMatchObject({ code: 'LLM_QUOTA', retryable: false });
    expect(error).not.toBeInstanceOf(DeferError);
  });

  it('a malformed stream fails retryably, even though the stream then finished', async () => {
    for (const model of [SONNET, MINI]) {
      server.answers.push({ kind: 'malformed', text: 'aaaaaaaabbbbbbbbcccccccc' });
      const error = await rejection(handler().run(context({ model, prompt: 'p' })));
      expect(error).toMatchObject({ code: 'LLM_STREAM', retryable: true });
      expect(error.message).toContain("held a part that is not the provider's format");
    }
  });

  it('a stream cut off mid-answer fails retryably', async () => {
    for (const model of [SONNET, MINI]) {
      server.answers.push({ kind: 'truncated', text: 'aaaaaaaabbbbbbbbcccccccc' });
      const error = await rejection(handler().run(context({ model, prompt: 'p' })));
      expect(error).toMatchObject({ code: 'LLM_STREAM', retryable: true });
      expect(error.message).toContain('broke off before it was complete');
    }
  });

  it('a stream that ends cleanly but before the end of the answer fails retryably', async () => {
    for (const model of [SONNET, MINI]) {
      server.answers.push({ kind: 'ended', text: 'aaaaaaaabbbbbbbbcccccccc' });
      const error = await rejection(handler().run(context({ model, prompt: 'p' })));
      expect(error).toMatchObject({ code: 'LLM_STREAM', retryable: true });
      expect(error.message).toBe(
        `the answer from ${model} ended before the provider said it was complete (no stop reason); the task will be retried`,
      );
    }
  });

  it('a provider that cannot be reached is retryable', async () => {
    const down = server.url;
    await server.close();
    const error = await rejection(
      handler({ env: env({ OPENAI_BASE_URL: `${down}/v1` }) }).run(
        context({ model: MINI, prompt: 'p' }),
      ),
    );
    expect(error).toMatchObject({ code: 'LLM_UNREACHABLE', retryable: true });
    expect(error.message).toMatch(
      /could not reach the provider for openai:gpt-4\.1-mini \(.*ECONNREFUSED/,
    );
    server = await startFakeLlm(); // for afterEach
  });
});

describe('llmHandler: keys', () => {
  it('a missing key fails for good, naming the variable, and sends nothing', async () => {
    const h = handler({ env: { ANTHROPIC_BASE_URL: server.url } });
    const error = await rejection(h.run(context({ model: SONNET, prompt: 'p' })));
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toBe(
      "ANTHROPIC_API_KEY is not set: model anthropic:claude-sonnet-4-5 needs an Anthropic API key. Set ANTHROPIC_API_KEY in the worker's environment (or pass providers.anthropic.apiKey to llmHandler), then retry the task",
    );
    const openai = await rejection(
      handler({ env: { OPENAI_API_KEY: '' } }).run(context({ model: MINI, prompt: 'p' })),
    );
    expect(openai.message).toMatch(/^OPENAI_API_KEY is not set/);
    expect(server.requests).toEqual([]);
  });

  it('a refused key fails for good; the key never appears in the error, even when the provider quotes it', async () => {
    const wrongAnthropic = 'sk-ant-WRONG-key-that-must-not-leak';
    const wrongOpenAI = 'sk-WRONG-openai-key-that-must-not-leak';
    const h = handler({
      env: env({ ANTHROPIC_API_KEY: wrongAnthropic, OPENAI_API_KEY: wrongOpenAI }),
    });
    for (const [model, key, source] of [
      [SONNET, wrongAnthropic, 'ANTHROPIC_API_KEY'],
      [MINI, wrongOpenAI, 'OPENAI_API_KEY'],
    ] as const) {
      const error = await rejection(h.run(context({ model, prompt: 'p' })));
      expect(error).toMatchObject({ code: 'LLM_AUTH', retryable: false, status: 401 });
      expect(error.message).toContain(`the provider refused the API key from ${source}`);
      expect(error.message).toContain('[redacted]'); // the fake server quoted the key back
      expectNoSecret(error, [key, wrongAnthropic, wrongOpenAI]);
    }
    // The server really did see the wrong keys (and quoted them).
    expect(server.requests.map((r) => r.headers['x-api-key'] ?? r.headers.authorization)).toEqual([
      wrongAnthropic,
      `Bearer ${wrongOpenAI}`,
    ]);
  });

  it('no key appears in any other error either', async () => {
    server.answers.push(
      { kind: 'error', status: 400, message: `bad request from ${ANTHROPIC_KEY}` },
      { kind: 'malformed' },
      { kind: 'error', status: 429, message: `slow down, ${OPENAI_KEY}` },
    );
    const h = handler();
    for (const model of [SONNET, SONNET, MINI]) {
      const error = await rejection(h.run(context({ model, prompt: 'p' })));
      expectNoSecret(error, [ANTHROPIC_KEY, OPENAI_KEY]);
    }
  });
});

/** Not in the message, the stack, the JSON form or anything `inspect` can reach (causes too). */
function expectNoSecret(error: Error, secrets: readonly string[]): void {
  const forms = [
    error.message,
    error.stack ?? '',
    JSON.stringify(error),
    inspect(error, { depth: 20, showHidden: true, getters: true }),
  ];
  for (const secret of secrets) {
    for (const form of forms) expect(form).not.toContain(secret);
  }
}

describe('llmHandler: aborting', () => {
  it('a cancel mid-stream closes the connection and rejects with the reason', async () => {
    server.answers.push({ kind: 'hang', text: 'I am in the middle of' });
    const controller = new AbortController();
    const text: string[] = [];
    const run = llmHandler({
      env: env(),
      onText: (chunk) => {
        text.push(chunk);
        if (text.length === 1) controller.abort(new CancelledError('cancelled by test'));
      },
    });
    const closed = server.nextClosed();
    const error = await rejection(
      run(context({ model: SONNET, prompt: 'p' }, { signal: controller.signal })),
    );
    expect(error).toBeInstanceOf(CancelledError);
    expect(error.message).toBe('cancelled by test');
    expect((await closed).provider).toBe('anthropic');
  });

  it('a timeout mid-stream closes the connection too (OpenAI)', async () => {
    server.answers.push({ kind: 'hang', text: 'thinking' });
    const controller = new AbortController();
    const closed = server.nextClosed();
    const h = handler();
    const pending = h.run(context({ model: MINI, prompt: 'p' }, { signal: controller.signal }));
    // Abort once the answer has started to stream: the server holds an open response.
    await waitFor(() => h.text.length > 0);
    controller.abort(new TimeoutError(100));
    const error = await rejection(pending);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((await closed).provider).toBe('openai');
  });

  it('an already aborted signal sends nothing', async () => {
    const controller = new AbortController();
    controller.abort(new CancelledError('gone'));
    const error = await rejection(
      handler().run(context({ model: SONNET, prompt: 'p' }, { signal: controller.signal })),
    );
    expect(error.message).toBe('gone');
    expect(server.requests).toEqual([]);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error('condition not met in time');
}

describe('llmHandler: payloads, templates and auto', () => {
  it('a malformed payload fails for good, naming each field, and sends nothing', async () => {
    const error = await rejection(
      handler().run(
        context({ model: 'claude-sonnet-4-5', prompt: '{{ payload.missing }}', temperature: 9 }),
      ),
    );
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toBe(
      "malformed llm payload: model: model 'claude-sonnet-4-5' does not say its provider; did you mean 'anthropic:claude-sonnet-4-5'?; write it as anthropic:<model>, openai:<model>, openai-compatible:<name>:<model>, or auto; prompt: {{ payload.missing }}: the payload has no 'missing'; it has model, prompt, temperature; temperature: must be a number from 0 to 2; got the number 9",
    );
    expect(server.requests).toEqual([]);
  });

  it('a template naming a dependency the task does not have fails for good', async () => {
    const error = await rejection(
      handler().run(context({ model: SONNET, prompt: '{{ deps.research.result }}' })),
    );
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toContain("'research' is not a dependency of this task");
  });

  it('a path the dependency result lacks fails for good, saying what it has', async () => {
    const error = await rejection(
      handler().run(
        context(
          { model: SONNET, prompt: '{{ deps.research.result.summary }}' },
          { dependencies: { research: dependency('research', { notes: 'x' }) } },
        ),
      ),
    );
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toBe(
      "cannot fill the llm task's prompt: {{ deps.research.result.summary }}: the result of 'research' has no 'summary'; it has notes",
    );
    expect(server.requests).toEqual([]);
  });

  it('an output that is not valid JSON Schema fails for good', async () => {
    const error = await rejection(
      handler().run(
        context({ model: SONNET, prompt: 'p', output: { type: 'object', required: 'a' } }),
      ),
    );
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toMatch(/^malformed llm payload: output: is not a valid JSON Schema: /);
  });

  it("model 'auto' without tiers or a resolver fails for good, saying what to do", async () => {
    const error = await rejection(handler().run(context({ model: 'auto', prompt: 'p' })));
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toBe(
      "model 'auto' needs model tiers, which this worker does not have: give the task a concrete model (e.g. anthropic:claude-sonnet-4-5), or configure the tiers (llmHandler's tiers option; BATON_MODEL_TIERS for the CLI's agents)",
    );
  });

  it("model 'auto' calls the model the resolver chooses; a choice that is not a model id fails", async () => {
    const seen: string[] = [];
    const h = handler({
      resolveModel: (payload, ctx) => {
        seen.push(`${ctx.task.id}:${payload.prompt}`);
        return payload.prompt === 'cheap' ? MINI : 'auto';
      },
    });
    expect(await h.run(context({ model: 'auto', prompt: 'cheap' }))).toBe('ok');
    expect(h.usage.map((u) => `${u.provider}:${u.model}`)).toEqual([MINI]);
    const error = await rejection(h.run(context({ model: 'auto', prompt: 'loop' })));
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toContain("the model resolver chose 'auto'");
    expect(seen).toEqual(['tsk_test:cheap', 'tsk_test:loop']);
  });

  it("passes the SDK's warnings to onWarning, and keeps them off the console", async () => {
    const printed: unknown[][] = [];
    const spies = (['warn', 'info', 'log'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        printed.push(args);
      }),
    );
    const warnings: string[] = [];
    try {
      // A reasoning model takes no temperature: the SDK drops it and says so.
      await handler({ onWarning: (warning) => warnings.push(warning) }).run(
        context({ model: 'openai:o3-mini', prompt: 'p', temperature: 0.5 }),
      );
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(warnings).toEqual([
      expect.stringMatching(/^openai:o3-mini: temperature is not supported/) as unknown,
    ]);
    expect(printed).toEqual([]);
    expect(server.requests[0]!.body).not.toHaveProperty('temperature');
  });

  it('refuses bad handler options', () => {
    expect(() => llmHandler({ maxTokens: 0 })).toThrow(/maxTokens must be a whole number ≥ 1/);
    expect(() =>
      llmHandler({ providers: { compatible: { 'no good': { baseUrl: 'x' } } } }),
    ).toThrow(/'no good' is not a usable name.*baseUrl must be an http/);
  });
});

describe('retryAfterOf', () => {
  it('reads retry-after-ms first, then retry-after in seconds or as a date', () => {
    expect(retryAfterOf({ 'retry-after-ms': '250', 'retry-after': '9' })).toBe(250);
    expect(retryAfterOf({ 'Retry-After': '1.5' })).toBe(1500);
    expect(retryAfterOf({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfterOf({})).toBeUndefined();
  });
});
