/**
 * The `http` executor against a real agent service: a node:http server on a free port per
 * test, answering as the test says, and recording every request it got.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { CancelledError, DeferError, NonRetryableError } from '../../src/core/errors.ts';
import type { BatonEvent, DependencyOutcome, Json, TaskRecord } from '../../src/core/types.ts';
import {
  AgentHttpError,
  BusyError,
  checkHealth,
  httpHandler,
  parseHttpPayload,
  parseRetryAfter,
  type HttpHandlerContext,
} from '../../src/executors/http.ts';
import { useHarness } from '../runtime/harness.ts';

const h = useHarness();

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

type Route = (req: Received, res: ServerResponse, raw: IncomingMessage) => void;

interface Agent {
  /** The agent's base URL. */
  url: string;
  received: Received[];
  /** Resolves with the next request whose connection closes before it was answered. */
  nextAborted(): Promise<Received>;
  close(): Promise<void>;
}

const agents: Agent[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

/** A push-style agent service on 127.0.0.1, port 0; `route` answers each request. */
async function startAgent(route: Route, basePath = ''): Promise<Agent> {
  const received: Received[] = [];
  const abortWaiters: ((r: Received) => void)[] = [];
  const server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const req: Received = {
        method: raw.method ?? '',
        path: (raw.url ?? '').slice(basePath.length),
        headers: raw.headers,
        body: text === '' ? null : (JSON.parse(text) as unknown),
      };
      received.push(req);
      res.on('close', () => {
        if (!res.writableFinished) abortWaiters.shift()?.(req);
      });
      route(req, res, raw);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const agent: Agent = {
    url: `http://127.0.0.1:${port}${basePath}`,
    received,
    nextAborted: () => new Promise((resolve) => abortWaiters.push(resolve)),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
  agents.push(agent);
  return agent;
}

function json(res: ServerResponse, status: number, body: unknown, headers = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

/** A free port nobody listens on (bound, then released). */
async function deadUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return `http://127.0.0.1:${port}`;
}

function context(payload: Json, overrides: Partial<HttpHandlerContext> = {}): HttpHandlerContext {
  return {
    task: { id: 'tsk_test' },
    payload,
    attempt: 1,
    signal: new AbortController().signal,
    dependencies: {},
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

describe('httpHandler: the execute request', () => {
  it('posts { taskId, attempt, payload, dependencies } and returns a 200 result', async () => {
    const agent = await startAgent((req, res) => {
      json(res, 200, { result: { echoed: (req.body as { payload: Json }).payload } });
    }, '/agents/a');
    const handler = httpHandler({ headers: { authorization: 'Bearer x', 'x-both': 'handler' } });
    const dependencies: Record<string, DependencyOutcome> = {
      prep: {
        taskId: 'tsk_prep',
        key: 'prep',
        state: 'succeeded',
        soft: false,
        result: 1,
        error: null,
      },
    };
    const result = await handler(
      context(
        { url: agent.url, body: { prompt: 'hi' }, headers: { 'x-both': 'task' } },
        { attempt: 2, dependencies },
      ),
    );
    expect(result).toEqual({ echoed: { prompt: 'hi' } });
    expect(agent.received).toHaveLength(1);
    const [req] = agent.received;
    expect(req).toMatchObject({ method: 'POST', path: '/execute' });
    expect(req!.body).toEqual({
      taskId: 'tsk_test',
      attempt: 2,
      payload: { prompt: 'hi' },
      dependencies,
    });
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers.authorization).toBe('Bearer x');
    expect(req!.headers['x-both']).toBe('task');
  });

  it('sends payload null without a body, and a 200 without result gives null', async () => {
    const agent = await startAgent((_req, res) => json(res, 200, {}));
    expect(await httpHandler()(context({ url: agent.url }))).toBeNull();
    expect((agent.received[0]!.body as { payload: unknown }).payload).toBeNull();
  });

  it('fails retryably when a 200 answer is not a JSON object', async () => {
    const agent = await startAgent((_req, res) => {
      res.writeHead(200);
      res.end('ok!');
    });
    const error = await rejection(httpHandler()(context({ url: agent.url })));
    expect(error).toBeInstanceOf(AgentHttpError);
    expect(error).toMatchObject({ code: 'AGENT_PROTOCOL', retryable: true });
    expect(error.message).toContain('ok!');
  });

  it('polls an accepted (202) task until it succeeds', async () => {
    let polls = 0;
    const agent = await startAgent((req, res) => {
      if (req.method === 'POST') return json(res, 202, { statusUrl: '/jobs/7' });
      polls++;
      if (polls < 3) return json(res, 200, { state: 'running' });
      json(res, 200, { state: 'succeeded', result: { answer: 42 } });
    });
    const result = await httpHandler()(context({ url: agent.url, pollIntervalMs: 10 }));
    expect(result).toEqual({ answer: 42 });
    expect(agent.received.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /execute',
      'GET /jobs/7',
      'GET /jobs/7',
      'GET /jobs/7',
    ]);
  });

  it('a polled task that failed: retryable by default, not when the agent says so', async () => {
    let retryable = true;
    const agent = await startAgent((req, res) => {
      if (req.method === 'POST') return json(res, 202, { statusUrl: `${agent.url}/jobs/1` });
      json(res, 200, {
        state: 'failed',
        error: retryable ? 'model overloaded' : { message: 'prompt too long', retryable: false },
      });
    });
    const handler = httpHandler({ pollIntervalMs: 10 });
    const first = await rejection(handler(context({ url: agent.url })));
    expect(first).toBeInstanceOf(AgentHttpError);
    expect(first).toMatchObject({ retryable: true, code: 'AGENT_TASK_FAILED' });
    expect(first.message).toContain('model overloaded');
    retryable = false;
    const second = await rejection(handler(context({ url: agent.url })));
    expect(second).toBeInstanceOf(NonRetryableError);
    expect(second.message).toContain('prompt too long');
  });

  it('tolerates a failed poll or two, but not an agent that forgot the task', async () => {
    let polls = 0;
    const agent = await startAgent((req, res) => {
      if (req.method === 'POST') return json(res, 202, { statusUrl: '/jobs/1' });
      polls++;
      if (polls === 1) return json(res, 502, { error: 'proxy hiccup' });
      if (polls === 2) return json(res, 200, { state: 'running' });
      json(res, 404, { error: 'no such job' });
    });
    const error = await rejection(httpHandler({ pollIntervalMs: 10 })(context({ url: agent.url })));
    expect(polls).toBe(3);
    expect(error).toBeInstanceOf(AgentHttpError);
    expect(error).toMatchObject({ status: 404, retryable: true });
    expect(error.message).toContain('no such job');
  });

  it('answers 503 or 429 with a BusyError, a DeferError whose delay is Retry-After, else busyRetryMs ±20 %', async () => {
    let status = 503;
    let retryAfter: string | undefined = '7';
    const agent = await startAgent((_req, res) =>
      json(
        res,
        status,
        { error: 'all slots taken' },
        retryAfter === undefined ? {} : { 'retry-after': retryAfter },
      ),
    );
    const handler = httpHandler({ busyRetryMs: 1000 });
    const withHeader = await rejection(handler(context({ url: agent.url })));
    expect(withHeader).toBeInstanceOf(BusyError);
    expect(withHeader).toBeInstanceOf(DeferError);
    expect(withHeader).toMatchObject({
      name: 'BusyError',
      code: 'BATON_DEFERRED',
      delayMs: 7000,
      status: 503,
    });
    expect(withHeader.message).toContain('all slots taken');
    expect(withHeader.message).toContain('without counting an attempt');
    retryAfter = undefined;
    status = 429;
    const delays: number[] = [];
    for (let i = 0; i < 20; i++) {
      const without = (await rejection(handler(context({ url: agent.url })))) as BusyError;
      expect(without).toMatchObject({ status: 429, code: 'BATON_DEFERRED' });
      delays.push(without.delayMs);
    }
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(800);
      expect(delay).toBeLessThanOrEqual(1200);
      expect(Number.isInteger(delay)).toBe(true);
    }
    expect(new Set(delays).size, 'the delays are jittered').toBeGreaterThan(1);
  });

  it('a busy answer to a status poll is a failed poll (the agent has the task), not a deferral', async () => {
    let polls = 0;
    const agent = await startAgent((req, res) => {
      if (req.method === 'POST') return json(res, 202, { statusUrl: '/jobs/1' });
      polls++;
      json(res, 503, { error: 'overloaded' }, { 'retry-after': '1' });
    });
    const error = await rejection(
      httpHandler({ pollIntervalMs: 10, maxPollErrors: 2 })(context({ url: agent.url })),
    );
    expect(polls).toBe(2);
    expect(error).toBeInstanceOf(AgentHttpError);
    expect(error).not.toBeInstanceOf(DeferError);
    expect(error).toMatchObject({ status: 503, retryable: true });
    expect(error.message).toContain('overloaded');
  });

  it('a 4xx is non-retryable and quotes the agent; a 5xx is retryable', async () => {
    let status = 422;
    const agent = await startAgent((_req, res) =>
      json(res, status, { message: `field prompt is required (${status})` }),
    );
    const refused = await rejection(httpHandler()(context({ url: agent.url })));
    expect(refused).toBeInstanceOf(NonRetryableError);
    expect(refused.message).toContain('HTTP 422');
    expect(refused.message).toContain('field prompt is required');
    status = 500;
    const crashed = await rejection(httpHandler()(context({ url: agent.url })));
    expect(crashed).toBeInstanceOf(AgentHttpError);
    expect(crashed).toMatchObject({ status: 500, retryable: true });
  });

  it('an agent that cannot be reached, or does not answer in time, is retryable', async () => {
    const unreachable = await rejection(httpHandler()(context({ url: await deadUrl() })));
    expect(unreachable).toMatchObject({ code: 'AGENT_UNREACHABLE', retryable: true });
    expect(unreachable.message).toContain('ECONNREFUSED');

    const agent = await startAgent(() => undefined); // never answers
    const slow = await rejection(httpHandler({ timeoutMs: 100 })(context({ url: agent.url })));
    expect(slow).toMatchObject({ code: 'AGENT_TIMEOUT', retryable: true });
    expect(slow.message).toContain('within 100 ms');
  });

  it("the task's signal aborts the request in flight, with the signal's reason", async () => {
    const agent = await startAgent(() => undefined); // holds the request open
    const controller = new AbortController();
    const aborted = agent.nextAborted();
    const running = httpHandler()(context({ url: agent.url }, { signal: controller.signal }));
    while (agent.received.length === 0) await new Promise((r) => setTimeout(r, 5));
    const reason = new CancelledError('cancelled by a test');
    controller.abort(reason);
    expect(await rejection(running)).toBe(reason);
    expect((await aborted).path).toBe('/execute'); // the agent saw its connection go
  });

  it('aborting while polling stops the polling and tells the agent (DELETE statusUrl)', async () => {
    const controller = new AbortController();
    const agent = await startAgent((req, res) => {
      if (req.method === 'POST') return json(res, 202, { statusUrl: '/jobs/9' });
      if (req.method === 'DELETE') return json(res, 204, undefined);
      controller.abort(new CancelledError('stop'));
      json(res, 200, { state: 'running' });
    });
    const error = await rejection(
      httpHandler({ pollIntervalMs: 10 })(
        context({ url: agent.url }, { signal: controller.signal }),
      ),
    );
    expect(error).toBeInstanceOf(CancelledError);
    expect(agent.received.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /execute',
      'GET /jobs/9',
      'DELETE /jobs/9',
    ]);
  });
});

describe('parseHttpPayload', () => {
  it.each([
    [{}, 'url: '],
    [{ url: 'ftp://x' }, 'url: must be an absolute http:// or https:// URL'],
    [{ url: 'agent:8080' }, 'url: must be an absolute http'],
    [{ url: 'http://a', headers: { x: 1 } }, 'headers.x: '],
    [{ url: 'http://a', pollIntervalMs: 0 }, 'pollIntervalMs: '],
    [{ url: 'http://a', method: 'PUT' }, 'method'],
    ['http://a', 'payload: '],
  ])('rejects %j naming the field', (payload, field) => {
    let error: unknown;
    try {
      parseHttpPayload(payload);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NonRetryableError);
    expect((error as Error).message).toContain('malformed http payload');
    expect((error as Error).message).toContain(field);
  });

  it('keeps the fields given', () => {
    expect(parseHttpPayload({ url: 'https://a/b', body: [1], pollIntervalMs: 5 })).toEqual({
      url: 'https://a/b',
      body: [1],
      pollIntervalMs: 5,
    });
  });

  it('the handler fails a malformed payload without any request', async () => {
    await expect(httpHandler()(context({ body: 1 }))).rejects.toBeInstanceOf(NonRetryableError);
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates, and ignores the rest', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('checkHealth', () => {
  it('is ok on a 2xx from GET {url}/health, with the body', async () => {
    let status = 200;
    const agent = await startAgent((req, res) => json(res, status, { slots: 2, path: req.path }));
    expect(await checkHealth(agent.url)).toEqual({
      ok: true,
      status: 200,
      body: { slots: 2, path: '/health' },
    });
    status = 503;
    const busy = await checkHealth(`${agent.url}/`);
    expect(busy).toMatchObject({ ok: false, status: 503 });
    expect(busy.error).toContain('HTTP 503');
    expect(agent.received.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /health',
      'GET /health',
    ]);
  });

  it('is not ok, without throwing, when nothing answers', async () => {
    const result = await checkHealth(await deadUrl());
    expect(result).toMatchObject({ ok: false, status: null, body: null });
    expect(result.error).toContain('ECONNREFUSED');
    expect(await checkHealth('not a url')).toMatchObject({ ok: false, status: null });
  });
});

describe('http tasks on a worker', () => {
  /** Backoff so long that a failed attempt would not run again within the test. */
  const slowBackoff = { baseMs: 60_000, maxMs: 60_000, jitter: 'none' as const };

  async function eventsOf(taskId: string, type: BatonEvent['type']): Promise<BatonEvent[]> {
    const baton = await h.baton();
    const events: BatonEvent[] = [];
    for await (const event of baton.events({ follow: false })) {
      if (event.taskId === taskId && event.type === type) events.push(event);
    }
    return events;
  }

  it('a busy agent gets the task again after the delay, without spending an attempt', async () => {
    const busyAnswers = 3;
    let calls = 0;
    const agent = await startAgent((req, res) => {
      calls++;
      if (calls <= busyAnswers) return json(res, 503, { error: 'busy' });
      json(res, 200, { result: { attempt: (req.body as { attempt: number }).attempt } });
    });
    const baton = await h.baton();
    const worker = await h.startWorker(baton, {
      handlers: { http: httpHandler({ busyRetryMs: 50 }) },
    });
    const deferred: number[] = [];
    worker.on('task:deferred', ({ delayMs }) => deferred.push(delayMs));
    // maxAttempts 1: were a busy answer an attempt, the first one would fail the task.
    const { id } = await baton.submit({
      type: 'http',
      payload: { url: agent.url },
      maxAttempts: 1,
      backoff: slowBackoff,
    });
    let done: TaskRecord;
    try {
      done = (await baton.wait(id, { timeoutMs: 20_000 })) as TaskRecord;
    } finally {
      await worker.stop();
    }

    expect(done.state).toBe('succeeded');
    expect(done.result).toEqual({ attempt: 1 });
    expect(done.attempts).toBe(1);
    expect(calls).toBe(busyAnswers + 1);
    const attempts = await baton.attempts(id);
    expect(attempts.map((a) => [a.attempt, a.outcome, a.error])).toEqual([
      [1, 'released', null],
      [1, 'released', null],
      [1, 'released', null],
      [1, 'succeeded', null],
    ]);
    const released = await eventsOf(id, 'task.released');
    expect(released).toHaveLength(busyAnswers);
    for (const event of released) {
      expect(event.data.delayMs).toBeGreaterThanOrEqual(40);
      expect(event.data.delayMs).toBeLessThanOrEqual(60);
      expect(event.data.reason).toMatch(
        /^deferred: agent at http:\/\/127\.0\.0\.1:\d+\/execute is busy/,
      );
    }
    expect(deferred).toEqual(released.map((e) => e.data.delayMs));
    expect(await eventsOf(id, 'task.retrying'), 'no failed attempt').toEqual([]);
  });

  it('Retry-After sets the delay', async () => {
    let calls = 0;
    const agent = await startAgent((_req, res) => {
      calls++;
      if (calls === 1) return json(res, 503, undefined, { 'retry-after': '0' });
      json(res, 200, { result: 'done' });
    });
    const baton = await h.baton();
    const worker = await h.startWorker(baton, {
      handlers: { http: httpHandler({ busyRetryMs: 600_000 }) },
    });
    const { id } = await baton.submit({
      type: 'http',
      payload: { url: agent.url },
      backoff: slowBackoff,
    });
    let done: TaskRecord;
    try {
      done = (await baton.wait(id, { timeoutMs: 20_000 })) as TaskRecord;
    } finally {
      await worker.stop();
    }
    expect(done.state).toBe('succeeded');
    expect(done.attempts).toBe(1);
    expect((await eventsOf(id, 'task.released')).map((e) => e.data.delayMs)).toEqual([0]);
  });

  it('a 400 fails the task at once, with attempts left', async () => {
    const agent = await startAgent((_req, res) => json(res, 400, { error: 'unknown tool "grep"' }));
    const baton = await h.baton();
    const worker = await h.startWorker(baton, { handlers: { http: httpHandler() } });
    const { id } = await baton.submit({
      type: 'http',
      payload: { url: agent.url, body: { tool: 'grep' } },
      maxAttempts: 5,
    });
    let done: TaskRecord;
    try {
      done = (await baton.wait(id, { timeoutMs: 20_000 })) as TaskRecord;
    } finally {
      await worker.stop();
    }
    expect(done.state).toBe('failed');
    expect(done.attempts).toBe(1);
    expect(done.error).toMatchObject({ code: 'BATON_NON_RETRYABLE', retryable: false });
    expect(done.error?.message).toContain('unknown tool "grep"');
    expect(agent.received).toHaveLength(1);
  });
});
