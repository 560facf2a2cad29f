/**
 * The named errors of src/core/errors.ts that check their own input: `DeferError` ("not now", a
 * handler asking to be run again later without using up an attempt).
 */
import { describe, expect, it } from 'vitest';

import { BatonError, DeferError, ValidationError } from '../../src/core/errors.ts';

describe('DeferError', () => {
  it('carries its delay, the BATON_DEFERRED code and its cause, and is retryable', () => {
    const cause = new Error('503 from the model server');
    const error = new DeferError('model server busy', { delayMs: 5_000, cause });
    expect(error).toBeInstanceOf(BatonError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'DeferError',
      code: 'BATON_DEFERRED',
      message: 'model server busy',
      retryable: true,
      delayMs: 5_000,
      details: { delayMs: 5_000 },
    });
    expect(error.cause).toBe(cause);
    expect(new DeferError('now', { delayMs: 0 }).delayMs, '0: claimable again at once').toBe(0);
    expect('cause' in new DeferError('no cause', { delayMs: 1 })).toBe(false);
  });

  it('rounds the delay to whole ms', () => {
    expect(new DeferError('x', { delayMs: 1.4 }).delayMs).toBe(1);
    expect(new DeferError('x', { delayMs: 1.5 }).delayMs).toBe(2);
    expect(new DeferError('x', { delayMs: 0.2 }).details).toEqual({ delayMs: 0 });
  });

  it.each([
    ['a negative delay', -1, '-1'],
    ['NaN', Number.NaN, 'NaN'],
    ['Infinity', Number.POSITIVE_INFINITY, 'Infinity'],
    ['a string', '5000', '5000'],
    ['null', null, 'null'],
    ['no delay at all', undefined, 'undefined'],
  ])('refuses %s with a ValidationError that says what it must be', (_what, delayMs, shown) => {
    let thrown: unknown;
    try {
      new DeferError('busy', { delayMs: delayMs as number });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    const error = thrown as ValidationError;
    expect(error.code).toBe('BATON_VALIDATION');
    expect(error.issues).toEqual([
      {
        path: 'DeferError.delayMs',
        message: `must be a finite number of ms >= 0; got ${shown}`,
      },
    ]);
    expect(error.message).toBe(
      `DeferError.delayMs: must be a finite number of ms >= 0; got ${shown}`,
    );
  });

  it('refuses missing options the same way, rather than failing on a property read', () => {
    expect(() => new DeferError('busy', undefined as unknown as { delayMs: number })).toThrow(
      /DeferError\.delayMs: must be a finite number of ms >= 0; got undefined/,
    );
  });
});
