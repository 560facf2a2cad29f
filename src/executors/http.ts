/**
 * The `http` executor: hands a task to a remote agent service that exposes a push interface.
 *
 * The protocol (also in docs/http-executor.md). `url` is the agent's base URL:
 *
 * - `POST {url}/execute` with JSON `{ taskId, attempt, payload, dependencies }` (`payload` is the
 *   task payload's `body`, or null). The agent answers:
 *   - `200 { result }` — done: `result` is the task's result (synchronous completion);
 *   - `202 { statusUrl }` — accepted: the executor polls `GET statusUrl` (absolute, or relative
 *     to the execute URL) every `pollIntervalMs` until it answers `{ state: 'succeeded', result }`
 *     or `{ state: 'failed', error }`; any other `state` means still working;
 *   - `503` (or `429`) — busy: the handler throws a {@link BusyError}, a `DeferError`: the worker
 *     gives the lease back without counting the attempt, and the task waits `delayMs` (the
 *     `Retry-After` header, else `busyRetryMs` ±20 %) before it is claimed again;
 *   - any other `4xx` — the request is wrong and will stay wrong: `NonRetryableError` quoting the
 *     agent's message;
 *   - `5xx`, no answer within `timeoutMs`, a connection error — retryable {@link AgentHttpError}.
 * - `GET {url}/health` — `2xx` when the agent is up ({@link checkHealth}).
 *
 * The task's AbortSignal (timeout, cancel, lost lease, shutdown) aborts the request in flight or
 * the polling; after a `202` the executor also sends a best-effort `DELETE statusUrl` so that
 * the agent can stop working on an attempt nobody waits for any more.
 *
 * A busy answer is not an attempt: it does not count towards the task's `maxAttempts`, so an
 * agent that stays busy keeps the task waiting (and asking again every `busyRetryMs` or
 * `Retry-After`) for as long as it says so. That is deliberate: the agent is alive and says it
 * will have room. The wait does not grow, since the executor cannot know how many busy answers
 * came before; the ±20 % jitter keeps many waiting tasks from asking again all at once. Cancel
 * the task to stop asking. A busy answer to a status poll (after a 202) is not a deferral: the
 * agent has the task, so it counts as a failed poll.
 */
import { z } from 'zod';

import { CancelledError, DeferError, NonRetryableError } from '../core/errors.ts';
import type { DependencyOutcome, Json } from '../core/types.ts';

/** The payload of a task of type `http`. */
export interface HttpPayload {
  /**
   * The agent's base URL (`http:` or `https:`); the executor posts to `{url}/execute`.
   * @example 'http://agent-7.internal:8080'
   */
  url: string;
  /** What the agent gets as `payload` in the execute request. @default null */
  body?: Json;
  /** Request headers for this task, over the handler's `headers`. @default {} */
  headers?: Record<string, string>;
  /** How often an accepted (202) task's status is polled, in ms. @default the handler's `pollIntervalMs` */
  pollIntervalMs?: number;
}

export interface HttpHandlerOptions {
  /** The fetch implementation (a proxy agent, a test double). @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * Longest wait for any one request (execute, each status poll, health), in ms. An agent whose
   * work takes longer should answer 202 and be polled. A request that runs out is retryable.
   * @default 30000
   */
  timeoutMs?: number;
  /**
   * Headers sent with every request (e.g. `authorization`); a task's payload `headers` win.
   * @default {}
   */
  headers?: Record<string, string>;
  /**
   * How long a task waits after a busy answer (503/429) that has no usable `Retry-After`, in ms,
   * ±20 % jitter. The wait does not count as an attempt.
   * @default 5000
   */
  busyRetryMs?: number;
  /** How often an accepted (202) task's status is polled when its payload does not say, in ms. @default 1000 */
  pollIntervalMs?: number;
  /**
   * Consecutive failed status polls (connection error, 5xx, timeout) tolerated before the
   * attempt fails (retryably): an agent restarting for a moment does not cost the attempt.
   * @default 5
   */
  maxPollErrors?: number;
}

/** The part of a worker's task context the `http` executor uses. */
export interface HttpHandlerContext {
  task: { id: string };
  payload: Json;
  attempt: number;
  signal: AbortSignal;
  dependencies: Record<string, DependencyOutcome>;
}

/** What {@link checkHealth} found. */
export interface HealthResult {
  /** The agent answered `GET {url}/health` with a 2xx status. */
  ok: boolean;
  /** The HTTP status, or null when there was no answer. */
  status: number | null;
  /** The answer's body: parsed JSON, the text when not JSON, null when empty or no answer. */
  body: Json | null;
  /** Why it is not ok (no answer, or the status and message); absent when ok. */
  error?: string;
}

export interface CheckHealthOptions {
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Longest wait for the answer, in ms. @default 5000 */
  timeoutMs?: number;
  /** @default {} */
  headers?: Record<string, string>;
  /** Aborting rejects with the signal's reason. */
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_BUSY_RETRY_MS = 5_000;
const DEFAULT_POLL_INTERVAL_MS = 1_000;
const DEFAULT_MAX_POLL_ERRORS = 5;
const DEFAULT_HEALTH_TIMEOUT_MS = 5_000;
/** The best-effort cancel after an abort must not hold the worker's slot for long. */
const CANCEL_TIMEOUT_MS = 2_000;
/** Characters of an agent's error body quoted in a message. */
const MESSAGE_LIMIT = 500;

/**
 * The agent answered 503 (or 429): it has no free slot. A {@link DeferError} (code
 * `BATON_DEFERRED`): the worker gives the lease back without counting the attempt, and the task
 * waits `delayMs` before it is claimed again.
 */
export class BusyError extends DeferError {
  readonly url: string;
  readonly status: number;

  constructor(url: string, status: number, delayMs: number, message: string) {
    super(
      `agent at ${url} is busy (HTTP ${status}${message ? `: ${message}` : ''}); the task will be offered again in ${Math.round(delayMs)} ms, without counting an attempt`,
      { delayMs },
    );
    this.url = url;
    this.status = status;
  }
}

/**
 * The agent could not be reached, did not answer in time, answered 5xx, reported a retryable
 * failure, or said something that is not this protocol. Retryable unless the agent said so.
 */
export class AgentHttpError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  /** The HTTP status, or null when there was no answer. */
  readonly status: number | null;
  readonly url: string;

  constructor(
    url: string,
    status: number | null,
    message: string,
    options: { code?: string; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AgentHttpError';
    this.url = url;
    this.status = status;
    this.code = options.code ?? 'AGENT_HTTP';
    this.retryable = options.retryable ?? true;
  }
}

const headersSchema = z.record(z.string(), z.string());

const payloadSchema = z.strictObject({
  url: z.string().refine(isHttpUrl, {
    message: 'must be an absolute http:// or https:// URL (the agent base URL)',
  }),
  body: z.unknown().optional(),
  headers: headersSchema.optional(),
  pollIntervalMs: z.number().int().positive().optional(),
});

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Check that a task payload is an {@link HttpPayload}.
 * @throws NonRetryableError naming each malformed field — no attempt could fix the payload.
 */
export function parseHttpPayload(payload: unknown): HttpPayload {
  const parsed = payloadSchema.safeParse(payload);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map(
        (issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'payload'}: ${issue.message}`,
      )
      .join('; ');
    throw new NonRetryableError(
      `malformed http payload (${problems}); expected { url: string, body?: JSON, headers?: { [name]: string }, pollIntervalMs?: positive integer }`,
    );
  }
  const value = parsed.data;
  const out: HttpPayload = { url: value.url };
  if (value.body !== undefined) out.body = value.body as Json;
  if (value.headers !== undefined) out.headers = value.headers;
  if (value.pollIntervalMs !== undefined) out.pollIntervalMs = value.pollIntervalMs;
  return out;
}

/** `{base}/{path}`, keeping any path the base URL has (`http://h/agents/a` + `execute`). */
function endpoint(base: string, path: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${path}`;
  return url.toString();
}

/**
 * The handler a worker registers for tasks of type `http`.
 *
 * Resolves with the agent's `result` (null when it sent none). Rejects with a {@link BusyError}
 * (a `DeferError`: no attempt counted) when the agent is busy, a retryable
 * {@link AgentHttpError} when it fails or cannot be reached, a `NonRetryableError` for a
 * malformed payload or a 4xx answer, and with the signal's reason when the attempt is aborted.
 */
export function httpHandler(
  options: HttpHandlerOptions = {},
): (ctx: HttpHandlerContext) => Promise<Json> {
  const settings = resolveOptions(options);
  return async (ctx) => {
    const payload = parseHttpPayload(ctx.payload);
    return await execute(payload, ctx, settings);
  };
}

interface Settings {
  fetch: typeof fetch;
  timeoutMs: number;
  headers: Record<string, string>;
  busyRetryMs: number;
  pollIntervalMs: number;
  maxPollErrors: number;
}

function resolveOptions(options: HttpHandlerOptions): Settings {
  const problems: string[] = [];
  const positive = (name: keyof HttpHandlerOptions, value: number | undefined): void => {
    if (value !== undefined && (!Number.isFinite(value) || value <= 0)) {
      problems.push(`${name} must be a number > 0, got ${String(value)}`);
    }
  };
  positive('timeoutMs', options.timeoutMs);
  positive('pollIntervalMs', options.pollIntervalMs);
  positive('maxPollErrors', options.maxPollErrors);
  if (
    options.busyRetryMs !== undefined &&
    (!Number.isFinite(options.busyRetryMs) || options.busyRetryMs < 0)
  ) {
    problems.push(`busyRetryMs must be a number ≥ 0, got ${String(options.busyRetryMs)}`);
  }
  if (options.headers !== undefined && !headersSchema.safeParse(options.headers).success) {
    problems.push('headers must be an object of header name → string value');
  }
  if (problems.length > 0) {
    throw new TypeError(`invalid httpHandler options: ${problems.join('; ')}`);
  }
  return {
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    headers: options.headers ?? {},
    busyRetryMs: options.busyRetryMs ?? DEFAULT_BUSY_RETRY_MS,
    pollIntervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    maxPollErrors: options.maxPollErrors ?? DEFAULT_MAX_POLL_ERRORS,
  };
}

/** One answer of the agent, its body read and parsed. */
interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON; the raw text when the body is not JSON; null when empty. */
  body: unknown;
  /** The body was not empty and not JSON. */
  notJson: boolean;
}

async function execute(
  payload: HttpPayload,
  ctx: HttpHandlerContext,
  settings: Settings,
): Promise<Json> {
  const { signal } = ctx;
  if (signal.aborted) throw abortReason(signal);
  const executeUrl = endpoint(payload.url, 'execute');
  const headers = { ...settings.headers, ...payload.headers };
  const answer = await request(settings, executeUrl, signal, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({
      taskId: ctx.task.id,
      attempt: ctx.attempt,
      payload: payload.body ?? null,
      dependencies: ctx.dependencies,
    }),
  });

  if (answer.status === 200) return resultOf(answer, executeUrl);
  if (answer.status === 202) {
    const statusUrl = statusUrlOf(answer, executeUrl);
    const interval = payload.pollIntervalMs ?? settings.pollIntervalMs;
    try {
      return await poll(settings, statusUrl, headers, interval, signal);
    } catch (error) {
      if (signal.aborted) await cancelRemote(settings, statusUrl, headers);
      throw error;
    }
  }
  throw statusError(answer, executeUrl, settings);
}

/** The task's result from a 200 answer: its `result` field (null when absent). */
function resultOf(answer: Answer, url: string): Json {
  const body = answer.body;
  if (answer.notJson || typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AgentHttpError(
      url,
      answer.status,
      `agent at ${url} answered ${answer.status} without a JSON object body (got ${quote(body)}); a completed task is answered with { "result": ... }`,
      { code: 'AGENT_PROTOCOL' },
    );
  }
  const result = (body as { result?: unknown }).result;
  return (result ?? null) as Json;
}

function statusUrlOf(answer: Answer, url: string): string {
  const statusUrl =
    typeof answer.body === 'object' && answer.body !== null
      ? (answer.body as { statusUrl?: unknown }).statusUrl
      : undefined;
  if (typeof statusUrl !== 'string' || statusUrl === '') {
    throw new AgentHttpError(
      url,
      202,
      `agent at ${url} accepted the task (202) but sent no statusUrl (got ${quote(answer.body)}); an accepted task is answered with { "statusUrl": "..." }`,
      { code: 'AGENT_PROTOCOL' },
    );
  }
  try {
    return new URL(statusUrl, url).toString();
  } catch (error) {
    throw new AgentHttpError(
      url,
      202,
      `agent at ${url} sent a statusUrl that is not a URL: ${JSON.stringify(statusUrl)}`,
      { code: 'AGENT_PROTOCOL', cause: error },
    );
  }
}

/** Poll `GET statusUrl` until the agent reports the task finished. */
async function poll(
  settings: Settings,
  statusUrl: string,
  headers: Record<string, string>,
  intervalMs: number,
  signal: AbortSignal,
): Promise<Json> {
  let errors = 0;
  for (;;) {
    await sleep(intervalMs, signal);
    let answer: Answer;
    try {
      answer = await request(settings, statusUrl, signal, { method: 'GET', headers });
      if (answer.status >= 500 || answer.status === 429 || answer.status === 408) {
        // The agent has the task: a busy status answer is a failed poll, not a deferral.
        throw new AgentHttpError(
          statusUrl,
          answer.status,
          `agent's status at ${statusUrl} answered HTTP ${answer.status}${detail(answer)}; the task will be retried`,
        );
      }
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      // A blip (the agent restarting, a proxy hiccup) must not cost the attempt at once.
      if (error instanceof NonRetryableError || ++errors >= settings.maxPollErrors) throw error;
      continue;
    }
    errors = 0;
    if (answer.status === 404 || answer.status === 410) {
      throw new AgentHttpError(
        statusUrl,
        answer.status,
        `agent no longer knows the accepted task at ${statusUrl} (HTTP ${answer.status}${detail(answer)}); it may have restarted — the task will be retried`,
      );
    }
    if (answer.status < 200 || answer.status >= 300) throw statusError(answer, statusUrl, settings);
    const body = answer.body;
    const state =
      typeof body === 'object' && body !== null ? (body as { state?: unknown }).state : undefined;
    if (state === 'succeeded') return ((body as { result?: unknown }).result ?? null) as Json;
    if (state === 'failed') throw remoteFailure(statusUrl, (body as { error?: unknown }).error);
    if (typeof state !== 'string') {
      throw new AgentHttpError(
        statusUrl,
        answer.status,
        `agent's status at ${statusUrl} has no state (got ${quote(body)}); expected { "state": "running" | "succeeded" | "failed", ... }`,
        { code: 'AGENT_PROTOCOL' },
      );
    }
  }
}

/** The agent reported the task failed: its `error` is a message or `{ message, code?, retryable? }`. */
function remoteFailure(url: string, error: unknown): Error {
  let message = 'the agent reported the task failed without a message';
  let code = 'AGENT_TASK_FAILED';
  let retryable = true;
  if (typeof error === 'string' && error !== '') message = error;
  else if (typeof error === 'object' && error !== null) {
    const e = error as { message?: unknown; code?: unknown; retryable?: unknown };
    if (typeof e.message === 'string' && e.message !== '') message = e.message;
    else message = `the agent reported the task failed: ${quote(error)}`;
    if (typeof e.code === 'string' && e.code !== '') code = e.code;
    if (e.retryable === false) retryable = false;
  }
  if (!retryable) return new NonRetryableError(`agent at ${url}: ${message}`);
  return new AgentHttpError(url, null, `agent at ${url}: ${message}`, { code });
}

/** The error for an answer that is neither success nor accepted. */
function statusError(answer: Answer, url: string, settings: Settings): Error {
  const { status } = answer;
  if (status === 503 || status === 429) {
    const delayMs =
      parseRetryAfter(answer.headers.get('retry-after')) ?? jittered(settings.busyRetryMs);
    return new BusyError(url, status, delayMs, messageOf(answer));
  }
  if (status >= 400 && status < 500 && status !== 408) {
    return new NonRetryableError(
      `agent at ${url} refused the request with HTTP ${status}${detail(answer)}; fix the task's payload or the agent, then submit it again`,
    );
  }
  return new AgentHttpError(
    url,
    status,
    `agent at ${url} answered HTTP ${status}${detail(answer)}; the task will be retried`,
  );
}

/** `ms` ±20 %, whole ms: tasks told "busy" together do not all ask again at the same moment. */
function jittered(ms: number): number {
  return Math.round(ms * (0.8 + 0.4 * Math.random()));
}

/**
 * Milliseconds from a `Retry-After` header: delay-seconds or an HTTP date. Undefined when absent
 * or unreadable. A date in the past is 0.
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** One request under both the task's signal and the per-request timeout; the body read in full. */
async function request(
  settings: Settings,
  url: string,
  signal: AbortSignal,
  init: { method: string; headers: Record<string, string>; body?: string },
): Promise<Answer> {
  const timeout = AbortSignal.timeout(settings.timeoutMs);
  const combined = AbortSignal.any([signal, timeout]);
  try {
    const response = await settings.fetch(url, { ...init, signal: combined, redirect: 'follow' });
    const text = await response.text();
    let body: unknown = null;
    let notJson = false;
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
        notJson = true;
      }
    }
    return { status: response.status, headers: response.headers, body, notJson };
  } catch (error) {
    if (signal.aborted) throw abortReason(signal);
    if (timeout.aborted) {
      throw new AgentHttpError(
        url,
        null,
        `agent at ${url} did not answer ${init.method} within ${settings.timeoutMs} ms; the task will be retried (an agent whose work takes longer should answer 202 and be polled)`,
        { code: 'AGENT_TIMEOUT', cause: error },
      );
    }
    throw new AgentHttpError(
      url,
      null,
      `could not reach agent at ${url} (${init.method}): ${describeNetworkError(error)}; check that it runs and the URL is right`,
      { code: 'AGENT_UNREACHABLE', cause: error },
    );
  }
}

/** Tell the agent nobody waits for the accepted task any more; failures are ignored. */
async function cancelRemote(
  settings: Settings,
  statusUrl: string,
  headers: Record<string, string>,
): Promise<void> {
  try {
    const response = await settings.fetch(statusUrl, {
      method: 'DELETE',
      headers,
      signal: AbortSignal.timeout(Math.min(settings.timeoutMs, CANCEL_TIMEOUT_MS)),
    });
    await response.body?.cancel();
  } catch {
    // Best effort: an agent that cannot be told finishes on its own and nobody reads the result.
  }
}

/** The network cause undici hides under "fetch failed": ECONNREFUSED, ENOTFOUND… */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${cause.message})` : cause.message;
  }
  return error.message;
}

/** The agent's own words from an error answer: `{ error }`, `{ message }`, or the text. */
function messageOf(answer: Answer): string {
  const body = answer.body;
  let text = '';
  if (typeof body === 'string') text = body;
  else if (typeof body === 'object' && body !== null) {
    const b = body as { error?: unknown; message?: unknown };
    const inner =
      typeof b.error === 'object' && b.error !== null
        ? (b.error as { message?: unknown }).message
        : undefined;
    if (typeof b.message === 'string') text = b.message;
    else if (typeof b.error === 'string') text = b.error;
    else if (typeof inner === 'string') text = inner;
    else text = JSON.stringify(body);
  }
  text = text.trim();
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT)}…` : text;
}

function detail(answer: Answer): string {
  const message = messageOf(answer);
  return message ? `: ${message}` : '';
}

function quote(value: unknown): string {
  if (value === null || value === undefined) return 'an empty body';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT)}…` : text;
}

/** Wait `ms`, rejecting with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The signal's reason, which a worker sets to a TimeoutError or CancelledError. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new CancelledError(typeof reason === 'string' ? reason : 'aborted');
}

/**
 * Ask an agent whether it is up: `GET {url}/health`. Never throws for the agent's sake (no
 * answer, an error status): the result says what was found. Rejects only when `signal` aborts.
 */
export async function checkHealth(
  url: string,
  options: CheckHealthOptions = {},
): Promise<HealthResult> {
  const signal = options.signal ?? new AbortController().signal;
  if (!isHttpUrl(url)) {
    return {
      ok: false,
      status: null,
      body: null,
      error: `not an absolute http:// or https:// URL: ${JSON.stringify(url)}`,
    };
  }
  const healthUrl = endpoint(url, 'health');
  const settings: Settings = {
    ...resolveOptions({}),
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS,
  };
  try {
    const answer = await request(settings, healthUrl, signal, {
      method: 'GET',
      headers: options.headers ?? {},
    });
    const body = (answer.body ?? null) as Json | null;
    if (answer.status >= 200 && answer.status < 300)
      return { ok: true, status: answer.status, body };
    return {
      ok: false,
      status: answer.status,
      body,
      error: `agent at ${healthUrl} answered HTTP ${answer.status}${detail(answer)}`,
    };
  } catch (error) {
    if (signal.aborted) throw abortReason(signal);
    return {
      ok: false,
      status: null,
      body: null,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}
