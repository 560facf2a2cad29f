/**
 * Backoff between attempts of a failing task: exponential with a cap, and jitter so that many
 * tasks that failed together (a rate limit, an outage) do not all retry in the same instant.
 */
import type { RetryPolicy } from './types.ts';

/** The policy of a task that does not set `backoff`: 1 s, 2 s, 4 s … capped at 60 s, equal jitter. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  baseMs: 1000,
  maxMs: 60_000,
  factor: 2,
  jitter: 'equal',
});

/**
 * Fill the fields a task left out from {@link DEFAULT_RETRY_POLICY}. Fields explicitly set to
 * `undefined` count as left out. The input is not validated here: `normalizeTasks` does that.
 */
export function resolveRetryPolicy(p?: Partial<RetryPolicy>): RetryPolicy {
  return {
    baseMs: p?.baseMs ?? DEFAULT_RETRY_POLICY.baseMs,
    maxMs: p?.maxMs ?? DEFAULT_RETRY_POLICY.maxMs,
    factor: p?.factor ?? DEFAULT_RETRY_POLICY.factor,
    jitter: p?.jitter ?? DEFAULT_RETRY_POLICY.jitter,
  };
}

/**
 * The delay in integer ms before the next attempt, after attempt number `failedAttempt`
 * (1-based) failed: `d = min(maxMs, baseMs * factor^(failedAttempt - 1))`, then
 * `full` jitter gives uniform [0, d], `equal` gives d/2 + uniform [0, d/2], `none` gives d.
 *
 * Total: never negative, never above `maxMs`, never NaN — even for attempt 10 000 (where the
 * exponential overflows to Infinity), a `random` outside [0, 1), or a nonsensical policy.
 *
 * @param random a source of uniform numbers in [0, 1); tests pass a fixed one. @default Math.random
 * @example backoffDelay({ baseMs: 1000, maxMs: 60000, factor: 2, jitter: 'none' }, 3) // 4000
 */
export function backoffDelay(
  policy: RetryPolicy,
  failedAttempt: number,
  random: () => number = Math.random,
): number {
  // NaN means "no delay"; an infinite cap means "no cap" but must still yield a usable number.
  const cap = Number.isNaN(policy.maxMs) ? 0 : Math.min(policy.maxMs, Number.MAX_SAFE_INTEGER);
  const base = Number.isNaN(policy.baseMs) ? 0 : policy.baseMs;
  if (cap <= 0 || base <= 0) return 0;

  // An attempt number below 1 (or not a number) is treated as the first failure.
  const exponent = Number.isFinite(failedAttempt) ? Math.max(0, Math.floor(failedAttempt) - 1) : 0;
  const factor = Number.isNaN(policy.factor) ? 1 : policy.factor;
  // base > 0 and factor^exponent >= 0, so the product is finite, +Infinity when it overflows
  // (the cap turns that into maxMs), or NaN for Infinity * 0 (treated the same way).
  const grown = base * Math.pow(Math.max(factor, 0), exponent);
  const d = Number.isNaN(grown) ? cap : Math.min(cap, grown);

  let delay: number;
  switch (policy.jitter) {
    case 'none':
      delay = d;
      break;
    case 'full':
      delay = unit(random) * d;
      break;
    case 'equal':
    default:
      delay = d / 2 + (unit(random) * d) / 2;
      break;
  }
  return Math.max(0, Math.min(Math.round(delay), Math.floor(cap)));
}

/** `random()` clamped into [0, 1], so a broken source cannot push the delay out of bounds. */
function unit(random: () => number): number {
  const r = random();
  if (!Number.isFinite(r) || r < 0) return 0;
  return r > 1 ? 1 : r;
}
