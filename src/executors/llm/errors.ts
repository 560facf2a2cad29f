/**
 * What a failed model call means for the task, in Baton's retry model:
 *
 * | the provider said                                   | error                   | the task                         |
 * | --------------------------------------------------- | ----------------------- | -------------------------------- |
 * | 429 rate limit, 529 / 503 overloaded                | {@link ModelBusyError}  | waits Retry-After, no attempt    |
 * | 500, 502, 504, a broken or malformed stream, no net | {@link ModelCallError}  | retried after its backoff        |
 * | 400 (prompt too long, bad request), 401/403, 404    | {@link ModelCallError}  | fails at once (`retryable: false`) |
 * | 429 `insufficient_quota` (OpenAI: no credit)        | {@link ModelCallError}  | fails at once                    |
 *
 * Every message is scrubbed of the handler's API keys (a provider may quote the key it refused),
 * and no error keeps the library's error as `cause`: that one carries response bodies and
 * headers, which are not ours to store.
 */
import { APICallError, InvalidResponseDataError, JSONParseError, TypeValidationError } from 'ai';

import { DeferError } from '../../core/errors.ts';
import { truncate } from '../../core/text.ts';
import { parseRetryAfter } from '../http.ts';

/** Characters of a provider's message quoted in an error. */
const MESSAGE_LIMIT = 500;

/** Codes on {@link ModelCallError}, stored with the task's error. */
export type ModelErrorCode =
  /** 401/403: the key was refused. */
  | 'LLM_AUTH'
  /** 400/404/413/422: the request is wrong (unknown model, bad parameter) and will stay wrong. */
  | 'LLM_BAD_REQUEST'
  /** The prompt does not fit the model's context window. */
  | 'LLM_PROMPT_TOO_LONG'
  /** No credit left on the account. */
  | 'LLM_QUOTA'
  /** 5xx (but 503/529), or an error event in the stream. */
  | 'LLM_SERVER'
  /** The stream broke off or held something that is not the provider's format. */
  | 'LLM_STREAM'
  /** The provider could not be reached. */
  | 'LLM_UNREACHABLE'
  /** The answer is not JSON, or not valid against the task's `output` schema. */
  | 'LLM_OUTPUT_INVALID'
  /** Anything else the library threw. */
  | 'LLM_CALL';

/** A model call failed; `retryable` says whether another attempt could succeed. */
export class ModelCallError extends Error {
  readonly code: ModelErrorCode;
  readonly retryable: boolean;
  /** The provider's HTTP status, or null when there was none. */
  readonly status: number | null;
  /** Wait before the next attempt that the provider asked for (its `Retry-After`), in ms. */
  readonly retryAfterMs?: number;

  constructor(
    code: ModelErrorCode,
    message: string,
    options: { retryable: boolean; status?: number | null; retryAfterMs?: number | undefined },
  ) {
    super(message);
    this.name = 'ModelCallError';
    this.code = code;
    this.retryable = options.retryable;
    this.status = options.status ?? null;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The provider is rate limiting or overloaded (429, 529, 503): a {@link DeferError}, so the
 * worker gives the lease back without counting an attempt, and the task waits the provider's
 * `Retry-After` (else the handler's `busyRetryMs` ±20 %).
 */
export class ModelBusyError extends DeferError {
  readonly provider: string;
  /** The HTTP status, or null for an `overloaded_error` event inside a stream. */
  readonly status: number | null;

  constructor(provider: string, status: number | null, delayMs: number, message: string) {
    super(message, { delayMs });
    this.provider = provider;
    this.status = status;
  }
}

/** What {@link mapModelError} needs to know about the call. */
export interface CallDescription {
  /** `anthropic`, `openai`, or the OpenAI-compatible server's name. */
  provider: string;
  /** The model id as the task gave it, e.g. `anthropic:claude-sonnet-4-5`. */
  modelId: string;
  /** Where the key came from (an environment variable's name), for a refused key. */
  keySource: string;
  /** Keys to scrub from every message. */
  secrets: readonly string[];
  /** The wait after a busy answer without a usable Retry-After, before jitter, in ms. */
  busyRetryMs: number;
}

/** Turn whatever the AI SDK threw, or put in the stream as an error, into Baton's terms. */
export function mapModelError(error: unknown, call: CallDescription): Error {
  const scrub = (text: string): string =>
    truncate(redact(text, call.secrets).trim(), MESSAGE_LIMIT);
  const who = `${call.modelId}`;

  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    const said = scrub(providerMessage(error));
    const headers = error.responseHeaders ?? {};
    const retryAfterMs = retryAfterOf(headers);
    if (status === undefined || status === 200) {
      // No answer at all, or a 200 whose stream broke off before it was complete.
      return status === undefined
        ? new ModelCallError(
            'LLM_UNREACHABLE',
            `could not reach the provider for ${who} (${scrub(networkCause(error))}); the task will be retried`,
            { retryable: true },
          )
        : new ModelCallError(
            'LLM_STREAM',
            `the answer from ${who} broke off before it was complete (${scrub(networkCause(error))}); the task will be retried`,
            { retryable: true, status },
          );
    }
    const detail = `HTTP ${status}${said ? `: ${said}` : ''}`;
    if (status === 429 && errorCodeOf(error) === 'insufficient_quota') {
      return new ModelCallError(
        'LLM_QUOTA',
        `${who}: the account has no quota left (${detail}); add credit or use another key, then retry the task`,
        { retryable: false, status },
      );
    }
    if (status === 429 || status === 529 || status === 503) {
      const kind = status === 429 ? 'rate limited' : 'overloaded';
      const delayMs = retryAfterMs ?? jittered(call.busyRetryMs);
      return new ModelBusyError(
        call.provider,
        status,
        delayMs,
        `${who} is ${kind} (${detail}); the task will be offered again in ${delayMs} ms, without counting an attempt`,
      );
    }
    if (status === 401 || status === 403) {
      return new ModelCallError(
        'LLM_AUTH',
        `${who}: the provider refused the API key from ${call.keySource} (${detail}); check the key and its permissions, then retry the task`,
        { retryable: false, status },
      );
    }
    if (status >= 400 && status < 500 && status !== 408 && status !== 409) {
      if (isPromptTooLong(error, said)) {
        return new ModelCallError(
          'LLM_PROMPT_TOO_LONG',
          `${who}: the prompt is too long for the model (${detail}); shorten the prompt or its inserted results, or use a model with a larger context`,
          { retryable: false, status },
        );
      }
      return new ModelCallError(
        'LLM_BAD_REQUEST',
        `${who}: the provider refused the request (${detail}); ${status === 404 ? 'check the model name' : 'fix the task'} and submit it again`,
        { retryable: false, status },
      );
    }
    return new ModelCallError(
      'LLM_SERVER',
      `${who}: the provider failed (${detail}); the task will be retried`,
      { retryable: true, status, retryAfterMs },
    );
  }

  if (JSONParseError.isInstance(error) || TypeValidationError.isInstance(error)) {
    return new ModelCallError(
      'LLM_STREAM',
      `the answer from ${who} held a part that is not the provider's format (${scrub(firstLine(error.message))}); the task will be retried`,
      { retryable: true },
    );
  }
  if (InvalidResponseDataError.isInstance(error)) {
    return new ModelCallError(
      'LLM_STREAM',
      `the answer from ${who} was not what the provider sends (${scrub(error.message)}); the task will be retried`,
      { retryable: true },
    );
  }

  // An error event inside an Anthropic stream: `{ type: 'overloaded_error', message }`.
  const event = streamErrorEvent(error);
  if (event !== null) {
    const said = scrub(event.message);
    if (event.type === 'overloaded_error' || event.type === 'rate_limit_error') {
      const delayMs = jittered(call.busyRetryMs);
      return new ModelBusyError(
        call.provider,
        null,
        delayMs,
        `${who} is ${event.type === 'overloaded_error' ? 'overloaded' : 'rate limited'} (${event.type} in the stream: ${said}); the task will be offered again in ${delayMs} ms, without counting an attempt`,
      );
    }
    if (event.type === 'invalid_request_error') {
      return new ModelCallError(
        'LLM_BAD_REQUEST',
        `${who}: the provider refused the request (${event.type}: ${said}); fix the task and submit it again`,
        { retryable: false },
      );
    }
    return new ModelCallError(
      'LLM_SERVER',
      `${who}: the provider failed mid-answer (${event.type}: ${said}); the task will be retried`,
      { retryable: true },
    );
  }

  const message = error instanceof Error ? error.message : String(error);
  return new ModelCallError(
    'LLM_CALL',
    `${who}: the model call failed (${scrub(message)}); the task will be retried`,
    { retryable: true },
  );
}

/** `text` with every secret replaced by `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('[redacted]');
  }
  return out;
}

/** The provider's own words: its error message, else the library's. */
function providerMessage(error: APICallError): string {
  return error.message === '' ? (error.responseBody ?? '') : error.message;
}

/** OpenAI's `error.code` (`insufficient_quota`, `context_length_exceeded`), when it sent one. */
function errorCodeOf(error: APICallError): string | undefined {
  const fromData = (error.data as { error?: { code?: unknown } } | undefined)?.error?.code;
  if (typeof fromData === 'string') return fromData;
  try {
    const body = JSON.parse(error.responseBody ?? '') as { error?: { code?: unknown } };
    return typeof body.error?.code === 'string' ? body.error.code : undefined;
  } catch {
    return undefined;
  }
}

function isPromptTooLong(error: APICallError, said: string): boolean {
  if (errorCodeOf(error) === 'context_length_exceeded') return true;
  return /prompt is too long|maximum context length|context window|too many (input )?tokens/i.test(
    said,
  );
}

/**
 * The provider's wait: `retry-after-ms` (OpenAI's, in ms), else `retry-after` (seconds or an
 * HTTP date). Undefined when neither is usable.
 */
export function retryAfterOf(headers: Record<string, string>): number | undefined {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  const ms = lower['retry-after-ms'];
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  return parseRetryAfter(lower['retry-after'] ?? null);
}

function streamErrorEvent(error: unknown): { type: string; message: string } | null {
  if (typeof error !== 'object' || error === null || error instanceof Error) return null;
  const e = error as { type?: unknown; message?: unknown };
  if (typeof e.type !== 'string') return null;
  return { type: e.type, message: typeof e.message === 'string' ? e.message : e.type };
}

/** undici hides the network cause under "fetch failed": ECONNREFUSED, ENOTFOUND… */
function networkCause(error: Error): string {
  let current: unknown = error.cause;
  while (current instanceof Error) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return `${code}: ${current.message}`;
    if (!(current.cause instanceof Error)) return current.message;
    current = current.cause;
  }
  return error.message;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** `ms` ±20 %, whole ms: calls told "busy" together do not all come back at the same moment. */
function jittered(ms: number): number {
  return Math.round(ms * (0.8 + 0.4 * Math.random()));
}
