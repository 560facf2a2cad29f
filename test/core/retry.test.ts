import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY_POLICY, resolveRetryPolicy } from '../../src/core/retry.ts';
import type { RetryPolicy } from '../../src/core/types.ts';

const policy = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({
  ...DEFAULT_RETRY_POLICY,
  ...over,
});

describe('resolveRetryPolicy', () => {
  it('gives the documented defaults', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({
      baseMs: 1000,
      maxMs: 60000,
      factor: 2,
      jitter: 'equal',
    });
    expect(resolveRetryPolicy()).toEqual(DEFAULT_RETRY_POLICY);
    expect(resolveRetryPolicy({})).toEqual(DEFAULT_RETRY_POLICY);
  });

  it('keeps the fields that are set', () => {
    expect(resolveRetryPolicy({ baseMs: 10, jitter: 'none' })).toEqual({
      baseMs: 10,
      maxMs: 60000,
      factor: 2,
      jitter: 'none',
    });
  });

  it('returns a fresh object, so callers cannot corrupt the defaults', () => {
    const resolved = resolveRetryPolicy();
    resolved.baseMs = 5;
    expect(DEFAULT_RETRY_POLICY.baseMs).toBe(1000);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially without jitter', () => {
    const p = policy({ jitter: 'none' });
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(p, n))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000,
    ]);
  });

  it('applies full jitter as random * d', () => {
    const p = policy({ jitter: 'full' });
    expect(backoffDelay(p, 3, () => 0)).toBe(0);
    expect(backoffDelay(p, 3, () => 0.5)).toBe(2000);
    expect(backoffDelay(p, 3, () => 0.999999)).toBe(4000);
  });

  it('applies equal jitter as d/2 + random * d/2', () => {
    const p = policy({ jitter: 'equal' });
    expect(backoffDelay(p, 3, () => 0)).toBe(2000);
    expect(backoffDelay(p, 3, () => 0.5)).toBe(3000);
    expect(backoffDelay(p, 3, () => 0.25)).toBe(2500);
  });

  it('uses Math.random by default and stays within the equal-jitter band', () => {
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(DEFAULT_RETRY_POLICY, 2);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });

  it('never overflows for huge attempt numbers', () => {
    const p = policy({ jitter: 'none' });
    expect(backoffDelay(p, 10_000)).toBe(60000);
    expect(backoffDelay(p, Number.MAX_SAFE_INTEGER)).toBe(60000);
    expect(backoffDelay(policy({ factor: 100, jitter: 'none' }), 1e9)).toBe(60000);
  });

  it('treats attempt numbers below 1 as the first failure', () => {
    const p = policy({ jitter: 'none' });
    expect(backoffDelay(p, 0)).toBe(1000);
    expect(backoffDelay(p, -5)).toBe(1000);
    expect(backoffDelay(p, Number.NaN)).toBe(1000);
  });

  it('is zero when there is no base or no cap', () => {
    expect(backoffDelay(policy({ baseMs: 0 }), 5)).toBe(0);
    expect(backoffDelay(policy({ maxMs: 0 }), 5)).toBe(0);
  });

  it('survives a broken random source', () => {
    const p = policy({ jitter: 'full' });
    expect(backoffDelay(p, 2, () => 5)).toBe(2000);
    expect(backoffDelay(p, 2, () => -1)).toBe(0);
    expect(backoffDelay(p, 2, () => Number.NaN)).toBe(0);
  });

  it('is an integer in [0, maxMs] for any policy, attempt and random value (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          baseMs: fc.integer({ min: 0, max: 10_000_000 }),
          maxMs: fc.integer({ min: 0, max: 2_147_483_647 }),
          factor: fc.double({ min: 1, max: 100, noNaN: true }),
          jitter: fc.constantFrom('full' as const, 'equal' as const, 'none' as const),
        }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (p, attempt, r) => {
          const d = backoffDelay(p, attempt, () => r);
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(p.maxMs);
        },
      ),
    );
  });

  it('never shrinks from one attempt to the next without jitter (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.integer({ min: 1, max: 2000 }),
        (baseMs, maxMs, factor, attempt) => {
          const p = policy({ baseMs, maxMs, factor, jitter: 'none' });
          expect(backoffDelay(p, attempt + 1)).toBeGreaterThanOrEqual(backoffDelay(p, attempt));
        },
      ),
    );
  });

  it('keeps equal jitter within [d/2, d] (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const d = backoffDelay(policy({ jitter: 'none' }), attempt);
          const jittered = backoffDelay(policy({ jitter: 'equal' }), attempt, () => r);
          expect(jittered).toBeGreaterThanOrEqual(Math.floor(d / 2));
          expect(jittered).toBeLessThanOrEqual(d);
        },
      ),
    );
  });
});
