/**
 * Turning whatever a handler threw into the {@link TaskError} stored with the attempt.
 */
import type { TaskError } from '../core/types.ts';

/**
 * Describe a thrown value as a {@link TaskError}. `retryable` is false when the error says so
 * (`NonRetryableError`, or any error carrying `retryable === false`), true otherwise: a handler
 * that throws a plain `Error` gets another attempt, as BullMQ and Temporal do.
 */
export function toTaskError(thrown: unknown): TaskError {
  if (thrown instanceof Error) {
    const carrier = thrown as Error & { code?: unknown; retryable?: unknown };
    const error: TaskError = {
      message: thrown.message || thrown.name || 'handler failed without a message',
      name: thrown.name,
      retryable: carrier.retryable !== false,
    };
    if (typeof carrier.code === 'string' || typeof carrier.code === 'number') {
      error.code = String(carrier.code);
    }
    if (thrown.stack !== undefined) error.stack = thrown.stack;
    return error;
  }
  if (typeof thrown === 'object' && thrown !== null) {
    const carrier = thrown as { message?: unknown; code?: unknown; retryable?: unknown };
    const error: TaskError = {
      message: typeof carrier.message === 'string' ? carrier.message : safeStringify(thrown),
      retryable: carrier.retryable !== false,
    };
    if (typeof carrier.code === 'string') error.code = carrier.code;
    return error;
  }
  return { message: `handler threw a non-error value: ${safeStringify(thrown)}`, retryable: true };
}

/**
 * The wait before the next attempt that a thrown error asks for, from its `retryAfterMs` (a
 * failure that knows when trying again makes sense: a quota that resets at a known time, an
 * upstream outage with a `Retry-After`), or undefined to apply the task's backoff. The attempt
 * still counts against `maxAttempts`; for "not now, the agent is busy", which should not use up
 * an attempt, a handler throws a `DeferError` instead. Only a finite number ≥ 0 counts; it is
 * rounded to whole milliseconds.
 */
export function retryDelayOf(thrown: unknown): number | undefined {
  if (typeof thrown !== 'object' || thrown === null) return undefined;
  const delay = (thrown as { retryAfterMs?: unknown }).retryAfterMs;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) return undefined;
  return Math.round(delay);
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
