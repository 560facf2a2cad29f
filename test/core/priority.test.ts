import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import {
  compareReady,
  DEFAULT_PRIORITY,
  parsePriority,
  PRIORITY_NAMES,
} from '../../src/core/priority.ts';

describe('parsePriority', () => {
  it('maps the four names to 1..4', () => {
    expect(PRIORITY_NAMES).toEqual({ critical: 1, high: 2, medium: 3, low: 4 });
    expect(parsePriority('critical')).toBe(1);
    expect(parsePriority('high')).toBe(2);
    expect(parsePriority('medium')).toBe(3);
    expect(parsePriority('low')).toBe(4);
  });

  it('defaults to medium', () => {
    expect(DEFAULT_PRIORITY).toBe(3);
    expect(parsePriority(undefined)).toBe(3);
  });

  it('matches names case-insensitively', () => {
    expect(parsePriority('High' as 'high')).toBe(2);
    expect(parsePriority(' LOW ' as 'low')).toBe(4);
  });

  it('passes integers through, including 0 and negatives', () => {
    expect(parsePriority(0)).toBe(0);
    expect(parsePriority(7)).toBe(7);
    expect(parsePriority(-2)).toBe(-2);
  });

  it('refuses non-integers', () => {
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      expect(() => parsePriority(bad)).toThrow(ValidationError);
    }
  });

  it('refuses unknown names, naming the valid ones and the likely typo', () => {
    let caught: unknown;
    try {
      parsePriority('hihg' as 'high');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const error = caught as ValidationError;
    expect(error.code).toBe('BATON_VALIDATION');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.path).toBe('priority');
    expect(error.message).toContain("unknown priority 'hihg'");
    expect(error.message).toContain("did you mean 'high'");
    expect(error.message).toContain('critical (1)');
  });

  it('refuses other types', () => {
    expect(() => parsePriority(null as unknown as number)).toThrow(/got null/);
    expect(() => parsePriority('2' as 'high')).toThrow(ValidationError);
  });
});

describe('compareReady', () => {
  const key = (priority: number, criticalPath: number, seq: number) => ({
    priority,
    criticalPath,
    seq,
  });

  it('orders by priority number first', () => {
    expect(compareReady(key(1, 1, 9), key(2, 50, 0))).toBeLessThan(0);
    expect(compareReady(key(4, 50, 0), key(3, 1, 9))).toBeGreaterThan(0);
  });

  it('then by the longer critical path', () => {
    expect(compareReady(key(2, 5, 9), key(2, 3, 0))).toBeLessThan(0);
    expect(compareReady(key(2, 3, 0), key(2, 5, 9))).toBeGreaterThan(0);
  });

  it('then FIFO by seq', () => {
    expect(compareReady(key(2, 3, 1), key(2, 3, 2))).toBeLessThan(0);
    expect(compareReady(key(2, 3, 2), key(2, 3, 1))).toBeGreaterThan(0);
    expect(compareReady(key(2, 3, 2), key(2, 3, 2))).toBe(0);
  });

  it('sorts a mixed list into the documented order', () => {
    const tasks = [
      { id: 'a', ...key(3, 1, 1) },
      { id: 'b', ...key(1, 1, 2) },
      { id: 'c', ...key(3, 4, 3) },
      { id: 'd', ...key(3, 4, 0) },
      { id: 'e', ...key(2, 1, 4) },
    ];
    expect(tasks.sort(compareReady).map((t) => t.id)).toEqual(['b', 'e', 'd', 'c', 'a']);
  });

  it('is a consistent total order (antisymmetric and transitive)', () => {
    const arb = fc.record({
      priority: fc.integer({ min: 0, max: 5 }),
      criticalPath: fc.integer({ min: 1, max: 5 }),
      seq: fc.integer({ min: 0, max: 5 }),
    });
    fc.assert(
      fc.property(arb, arb, arb, (a, b, c) => {
        expect(Math.sign(compareReady(a, b))).toBe(-Math.sign(compareReady(b, a)) || 0);
        if (compareReady(a, b) <= 0 && compareReady(b, c) <= 0) {
          expect(compareReady(a, c)).toBeLessThanOrEqual(0);
        }
      }),
    );
  });
});
