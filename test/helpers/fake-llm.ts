/**
 * A fake model service on loopback that speaks the providers' real wire formats, so the real AI
 * SDK provider libraries talk to it over HTTP (no mock of any library):
 *
 * - Anthropic Messages, `POST /v1/messages` (auth `x-api-key`): a JSON answer, or with
 *   `stream: true` the SSE stream `message_start` (the input usage, cache tokens included) →
 *   `content_block_start` → `ping` → `content_block_delta`… → `content_block_stop` →
 *   `message_delta` (the output usage) → `message_stop`. A structured answer comes as a text
 *   block when the request asks for `output_config.format`, or as a `tool_use` block of the
 *   forced `json` tool (`input_json_delta`s) when it asks through `tools`. Errors are
 *   `{ type: 'error', error: { type, message } }` with the status Anthropic uses (429
 *   `rate_limit_error`, 529 `overloaded_error`, 500 `api_error`, 401 `authentication_error` …).
 * - OpenAI Chat Completions, `POST /v1/chat/completions` (auth `Authorization: Bearer`): with
 *   `stream: true`, `chat.completion.chunk`s of `delta.content`, a chunk with `finish_reason`,
 *   then — when `stream_options.include_usage` is set — a final chunk with empty `choices` and the
 *   `usage` (`prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`),
 *   then `data: [DONE]`. Errors are `{ error: { message, type, param, code } }`.
 *
 * Each request takes the next scripted {@link FakeAnswer} (`server.answers`, first in first out),
 * else `server.fallback` — unless `server.respond` (the scripted-answer mode) chooses its answer
 * from what it asks ({@link promptOf}, {@link asksForJson}), for requests whose order is not known
 * (concurrent tasks, a child process). Every request is recorded, and a request whose connection closed
 * before its answer was complete is reported by {@link FakeLlmServer.nextClosed}.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Token counts in each provider's own terms (see the field docs). */
export interface FakeUsage {
  /**
   * Input tokens not read from or written to the cache. Anthropic sends it as `input_tokens`;
   * OpenAI's `prompt_tokens` is this plus `cacheRead` (its cached tokens are part of the prompt).
   */
  input?: number;
  /** Output tokens, reasoning included (`output_tokens`, `completion_tokens`). */
  output?: number;
  /** `cache_read_input_tokens` (Anthropic), `prompt_tokens_details.cached_tokens` (OpenAI). */
  cacheRead?: number;
  /** `cache_creation_input_tokens` (Anthropic only). */
  cacheWrite?: number;
  /** `completion_tokens_details.reasoning_tokens` (OpenAI only). */
  reasoning?: number;
  /** `usage.cost` in USD, as some OpenAI-compatible gateways report it (OpenAI format only). */
  cost?: number;
}

export type FakeAnswer =
  /** A successful answer: `text` in `chunks` (default: split into pieces of about 8 characters). */
  | {
      kind?: 'text';
      /** The answer; or give `chunks`, the pieces it streams in. */
      text?: string;
      chunks?: string[];
      usage?: FakeUsage;
      /** Wait before the status line, in ms. */
      delayMs?: number;
      /** Wait between two stream events, in ms. */
      chunkDelayMs?: number;
      /** Extra response headers. */
      headers?: Record<string, string>;
      /** Stopped at `max_tokens` (Anthropic) / `length` (OpenAI) instead of the natural end. */
      cutOff?: boolean;
    }
  /** An error answer in the provider's format. */
  | {
      kind: 'error';
      status: number;
      /** Anthropic's `error.type`, OpenAI's `error.type`. @default from the status */
      type?: string;
      /** OpenAI's `error.code`. */
      code?: string;
      message?: string;
      headers?: Record<string, string>;
    }
  /** Starts a good stream, sends a `data:` line that is not JSON, then finishes the stream normally. */
  | { kind: 'malformed'; text?: string }
  /** Starts a good stream and the first deltas, then closes the connection mid-stream. */
  | { kind: 'truncated'; text?: string }
  /**
   * Starts a good stream and the first deltas, then ends the response properly (as a proxy that
   * gave up might): no end-of-answer event, no usage, but no broken connection either.
   */
  | { kind: 'ended'; text?: string }
  /** Starts a good stream (`text` as the first deltas), then sends nothing more, ever. */
  | { kind: 'hang'; text?: string }
  /** Anthropic: a good start, then an `error` event in the stream (e.g. `overloaded_error`). */
  | { kind: 'stream-error'; type: string; message?: string; text?: string };

export interface FakeRequest {
  provider: 'anthropic' | 'openai';
  path: string;
  headers: IncomingMessage['headers'];
  /** The request body, parsed. */
  body: Record<string, unknown>;
  /** The answer it was given. */
  answer: FakeAnswer;
}

export interface FakeLlmServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The base URL both providers' libraries take (`<url>/v1`). */
  readonly baseUrl: string;
  /** Answers for the next requests, first in first out. */
  readonly answers: FakeAnswer[];
  /** The answer when `answers` is empty. @default { text: 'ok' } */
  fallback: FakeAnswer;
  /**
   * Chooses the answer of a request from what it asks (its model, its prompt), before
   * `answers` and `fallback` are looked at; undefined leaves the request to them.
   * @default none
   */
  respond:
    | ((request: {
        provider: 'anthropic' | 'openai';
        body: Record<string, unknown>;
      }) => FakeAnswer | undefined)
    | null;
  /** Every request received, in order. */
  readonly requests: FakeRequest[];
  /**
   * The API keys accepted (`x-api-key` for Anthropic, the bearer token for OpenAI). Any other key
   * gets a 401 whose message quotes the key it got, so a test can check it never leaks further.
   * Empty: any key is accepted.
   */
  readonly keys: Set<string>;
  /** Resolves with the next request whose connection closed before its answer was complete. */
  nextClosed(): Promise<FakeRequest>;
  /** Requests whose connection closed before their answer was complete. */
  readonly closed: FakeRequest[];
  close(): Promise<void>;
}

/** Start a fake model service on 127.0.0.1, on a free port. */
export async function startFakeLlm(
  options: { keys?: string[]; fallback?: FakeAnswer } = {},
): Promise<FakeLlmServer> {
  const requests: FakeRequest[] = [];
  const closed: FakeRequest[] = [];
  const closeWaiters: ((request: FakeRequest) => void)[] = [];
  const answers: FakeAnswer[] = [];
  const keys = new Set(options.keys ?? []);
  const state: { fallback: FakeAnswer; respond: FakeLlmServer['respond'] } = {
    fallback: options.fallback ?? { text: 'ok' },
    respond: null,
  };
  let sequence = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const provider =
        path === '/v1/messages' ? 'anthropic' : path === '/v1/chat/completions' ? 'openai' : null;
      if (req.method !== 'POST' || provider === null) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `no route ${req.method ?? ''} ${path}` }));
        return;
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'request body is not JSON' }));
        return;
      }
      const key =
        provider === 'anthropic'
          ? headerValue(req.headers['x-api-key'])
          : headerValue(req.headers.authorization).replace(/^Bearer /, '');
      // A refused key is answered before any scripted answer is taken, as a real API would.
      const refused = keys.size > 0 && !keys.has(key);
      const answer = refused
        ? badKey(provider, key)
        : (state.respond?.({ provider, body }) ?? answers.shift() ?? state.fallback);
      const request: FakeRequest = { provider, path, headers: req.headers, body, answer };
      requests.push(request);
      res.on('close', () => {
        if (res.writableFinished) return;
        closed.push(request);
        closeWaiters.shift()?.(request);
      });
      void serve(provider, ++sequence, body, answer, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    baseUrl: `${url}/v1`,
    answers,
    get fallback() {
      return state.fallback;
    },
    set fallback(answer: FakeAnswer) {
      state.fallback = answer;
    },
    get respond() {
      return state.respond;
    },
    set respond(fn: FakeLlmServer['respond']) {
      state.respond = fn;
    },
    requests,
    keys,
    closed,
    nextClosed: () => new Promise((resolve) => closeWaiters.push(resolve)),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}

/** The text of a request's messages (system prompt included), joined: what a script matches on. */
export function promptOf(body: Record<string, unknown>): string {
  const parts: string[] = [];
  const collect = (content: unknown): void => {
    if (typeof content === 'string') parts.push(content);
    else if (Array.isArray(content)) {
      for (const block of content) {
        const text = (block as { text?: unknown } | null)?.text;
        if (typeof text === 'string') parts.push(text);
      }
    }
  };
  collect(body['system']);
  for (const message of (body['messages'] as { content?: unknown }[] | undefined) ?? []) {
    collect(message.content);
  }
  return parts.join('\n');
}

/** Whether a request asks for structured output (a JSON Schema), in either provider's terms. */
export function asksForJson(body: Record<string, unknown>): boolean {
  return (
    body['response_format'] !== undefined ||
    body['output_config'] !== undefined ||
    (Array.isArray(body['tools']) && body['tools'].length > 0)
  );
}

function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/** The 401 each provider sends for a wrong key; it quotes the key, as a careless server might. */
function badKey(provider: 'anthropic' | 'openai', key: string): FakeAnswer {
  return provider === 'anthropic'
    ? {
        kind: 'error',
        status: 401,
        type: 'authentication_error',
        message: `invalid x-api-key: ${key}`,
      }
    : {
        kind: 'error',
        status: 401,
        type: 'invalid_request_error',
        code: 'invalid_api_key',
        message: `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      };
}

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

const OPENAI_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'invalid_request_error',
  404: 'invalid_request_error',
  429: 'requests',
  500: 'server_error',
  503: 'server_error',
};

async function serve(
  provider: 'anthropic' | 'openai',
  id: number,
  body: Record<string, unknown>,
  answer: FakeAnswer,
  res: ServerResponse,
): Promise<void> {
  if (answer.kind === 'error') {
    const message = answer.message ?? `fake error ${answer.status}`;
    const payload =
      provider === 'anthropic'
        ? {
            type: 'error',
            error: {
              type: answer.type ?? ANTHROPIC_ERROR_TYPES[answer.status] ?? 'api_error',
              message,
            },
            request_id: `req_fake${id}`,
          }
        : {
            error: {
              message,
              type: answer.type ?? OPENAI_ERROR_TYPES[answer.status] ?? 'server_error',
              param: null,
              code: answer.code ?? null,
            },
          };
    res.writeHead(answer.status, {
      'content-type': 'application/json',
      ...(provider === 'anthropic' ? { 'request-id': `req_fake${id}` } : {}),
      ...answer.headers,
    });
    res.end(JSON.stringify(payload));
    return;
  }
  if (answer.kind === undefined || answer.kind === 'text') {
    if (answer.delayMs !== undefined) await sleep(answer.delayMs);
  }
  const stream = body.stream === true;
  const writer =
    provider === 'anthropic' ? new AnthropicWriter(id, body, res) : new OpenAIWriter(id, body, res);
  if (!stream) {
    writer.whole(answer);
    return;
  }
  await writer.stream(answer);
}

interface Writer {
  whole(answer: FakeAnswer): void;
  stream(answer: FakeAnswer): Promise<void>;
}

/** The text of a successful answer, cut into pieces as a model streams it. */
function piecesOf(answer: FakeAnswer): string[] {
  if (answer.kind === undefined || answer.kind === 'text') {
    if (answer.chunks !== undefined) return answer.chunks;
    return split(answer.text ?? '');
  }
  if (answer.kind === 'error') return [];
  return split(answer.text ?? 'partial answer');
}

function split(text: string): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += 8) pieces.push(text.slice(i, i + 8));
  return pieces.length > 0 ? pieces : [''];
}

function usageOf(answer: FakeAnswer): Required<Omit<FakeUsage, 'cost'>> & { cost?: number } {
  const usage = answer.kind === undefined || answer.kind === 'text' ? (answer.usage ?? {}) : {};
  return {
    input: usage.input ?? 10,
    output: usage.output ?? 5,
    cacheRead: usage.cacheRead ?? 0,
    cacheWrite: usage.cacheWrite ?? 0,
    reasoning: usage.reasoning ?? 0,
    ...(usage.cost !== undefined ? { cost: usage.cost } : {}),
  };
}

function cutOff(answer: FakeAnswer): boolean {
  return (answer.kind === undefined || answer.kind === 'text') && answer.cutOff === true;
}

function chunkDelayOf(answer: FakeAnswer): number {
  return answer.kind === undefined || answer.kind === 'text' ? (answer.chunkDelayMs ?? 0) : 0;
}

function extraHeaders(answer: FakeAnswer): Record<string, string> {
  return answer.kind === undefined || answer.kind === 'text' ? (answer.headers ?? {}) : {};
}

class AnthropicWriter implements Writer {
  readonly #id: number;
  readonly #body: Record<string, unknown>;
  readonly #res: ServerResponse;
  /** The request forces the `json` tool: the answer is that tool's input. */
  readonly #jsonTool: boolean;

  constructor(id: number, body: Record<string, unknown>, res: ServerResponse) {
    this.#id = id;
    this.#body = body;
    this.#res = res;
    const tools = Array.isArray(body.tools) ? (body.tools as { name?: unknown }[]) : [];
    this.#jsonTool = tools.some((t) => t.name === 'json');
  }

  get #model(): string {
    return typeof this.#body.model === 'string' ? this.#body.model : 'claude-fake';
  }

  #stopReason(answer: FakeAnswer): string {
    return cutOff(answer) ? 'max_tokens' : this.#jsonTool ? 'tool_use' : 'end_turn';
  }

  whole(answer: FakeAnswer): void {
    const usage = usageOf(answer);
    const text = piecesOf(answer).join('');
    const content = this.#jsonTool
      ? [{ type: 'tool_use', id: `toolu_fake${this.#id}`, name: 'json', input: JSON.parse(text) }]
      : [{ type: 'text', text }];
    this.#res.writeHead(200, {
      'content-type': 'application/json',
      'request-id': `req_fake${this.#id}`,
      ...extraHeaders(answer),
    });
    this.#res.end(
      JSON.stringify({
        id: `msg_fake${this.#id}`,
        type: 'message',
        role: 'assistant',
        model: this.#model,
        content,
        stop_reason: this.#stopReason(answer),
        stop_sequence: null,
        usage: {
          input_tokens: usage.input,
          cache_creation_input_tokens: usage.cacheWrite,
          cache_read_input_tokens: usage.cacheRead,
          output_tokens: usage.output,
        },
      }),
    );
  }

  async stream(answer: FakeAnswer): Promise<void> {
    const res = this.#res;
    const usage = usageOf(answer);
    const delay = chunkDelayOf(answer);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': `req_fake${this.#id}`,
      ...extraHeaders(answer),
    });
    const send = async (type: string, data: unknown, raw?: string): Promise<void> => {
      if (res.destroyed) return;
      res.write(
        `event: ${type}\ndata: ${raw ?? JSON.stringify({ type, ...(data as object) })}\n\n`,
      );
      if (delay > 0) await sleep(delay);
    };
    await send('message_start', {
      message: {
        id: `msg_fake${this.#id}`,
        type: 'message',
        role: 'assistant',
        model: this.#model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: usage.input,
          cache_creation_input_tokens: usage.cacheWrite,
          cache_read_input_tokens: usage.cacheRead,
          output_tokens: 1,
        },
      },
    });
    const block = this.#jsonTool
      ? { type: 'tool_use', id: `toolu_fake${this.#id}`, name: 'json', input: {} }
      : { type: 'text', text: '' };
    await send('content_block_start', { index: 0, content_block: block });
    await send('ping', {});
    const pieces = piecesOf(answer);
    const delta = (piece: string): object =>
      this.#jsonTool
        ? { type: 'input_json_delta', partial_json: piece }
        : { type: 'text_delta', text: piece };
    const kind = answer.kind ?? 'text';
    const half = Math.max(1, Math.ceil(pieces.length / 2));
    for (const [i, piece] of pieces.entries()) {
      await send('content_block_delta', { index: 0, delta: delta(piece) });
      if (i + 1 === half && kind === 'malformed') {
        await send(
          'content_block_delta',
          null,
          '{"type":"content_block_delta","index":0,"delta":{',
        );
      }
    }
    if (kind === 'hang') return; // the connection stays open until the client closes it
    if (kind === 'truncated') {
      res.destroy();
      return;
    }
    if (kind === 'ended') {
      res.end();
      return;
    }
    if (answer.kind === 'stream-error') {
      await send('error', {
        error: { type: answer.type, message: answer.message ?? answer.type },
      });
      res.end();
      return;
    }
    await send('content_block_stop', { index: 0 });
    await send('message_delta', {
      delta: { stop_reason: this.#stopReason(answer), stop_sequence: null },
      usage: { output_tokens: usage.output },
    });
    await send('message_stop', {});
    res.end();
  }
}

class OpenAIWriter implements Writer {
  readonly #id: number;
  readonly #body: Record<string, unknown>;
  readonly #res: ServerResponse;
  readonly #created = Math.floor(Date.now() / 1000);

  constructor(id: number, body: Record<string, unknown>, res: ServerResponse) {
    this.#id = id;
    this.#body = body;
    this.#res = res;
  }

  get #model(): string {
    return typeof this.#body.model === 'string' ? this.#body.model : 'gpt-fake';
  }

  #usage(answer: FakeAnswer): object {
    const usage = usageOf(answer);
    return {
      prompt_tokens: usage.input + usage.cacheRead,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.cacheRead + usage.output,
      prompt_tokens_details: { cached_tokens: usage.cacheRead, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: usage.reasoning,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
      ...(usage.cost !== undefined ? { cost: usage.cost } : {}),
    };
  }

  whole(answer: FakeAnswer): void {
    this.#res.writeHead(200, { 'content-type': 'application/json', ...extraHeaders(answer) });
    this.#res.end(
      JSON.stringify({
        id: `chatcmpl-fake${this.#id}`,
        object: 'chat.completion',
        created: this.#created,
        model: this.#model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: piecesOf(answer).join(''), refusal: null },
            logprobs: null,
            finish_reason: cutOff(answer) ? 'length' : 'stop',
          },
        ],
        usage: this.#usage(answer),
        system_fingerprint: 'fp_fake',
      }),
    );
  }

  async stream(answer: FakeAnswer): Promise<void> {
    const res = this.#res;
    const delay = chunkDelayOf(answer);
    const includeUsage =
      typeof this.#body.stream_options === 'object' &&
      this.#body.stream_options !== null &&
      (this.#body.stream_options as { include_usage?: unknown }).include_usage === true;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      ...extraHeaders(answer),
    });
    const send = async (data: unknown, raw?: string): Promise<void> => {
      if (res.destroyed) return;
      res.write(`data: ${raw ?? JSON.stringify(data)}\n\n`);
      if (delay > 0) await sleep(delay);
    };
    const chunk = (choices: unknown[], usage: unknown = null): object => ({
      id: `chatcmpl-fake${this.#id}`,
      object: 'chat.completion.chunk',
      created: this.#created,
      model: this.#model,
      system_fingerprint: 'fp_fake',
      choices,
      ...(includeUsage ? { usage } : {}),
    });
    await send(
      chunk([
        {
          index: 0,
          delta: { role: 'assistant', content: '', refusal: null },
          logprobs: null,
          finish_reason: null,
        },
      ]),
    );
    const pieces = piecesOf(answer);
    const kind = answer.kind ?? 'text';
    const half = Math.max(1, Math.ceil(pieces.length / 2));
    for (const [i, piece] of pieces.entries()) {
      await send(
        chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]),
      );
      if (i + 1 === half && kind === 'malformed') {
        await send(null, '{"id":"chatcmpl-broken","choices":[{"index":0,"delta":{"content":');
      }
    }
    if (kind === 'hang') return;
    if (kind === 'truncated' || kind === 'stream-error') {
      res.destroy();
      return;
    }
    if (kind === 'ended') {
      res.end();
      return;
    }
    await send(
      chunk([
        { index: 0, delta: {}, logprobs: null, finish_reason: cutOff(answer) ? 'length' : 'stop' },
      ]),
    );
    if (includeUsage) await send(chunk([], this.#usage(answer)));
    await send(null, '[DONE]');
    res.end();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
