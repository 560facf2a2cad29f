import { describe, expect, it } from 'vitest';

import {
  DOCUMENT_DEPTH_MARGIN,
  MAX_DEPTH,
  MAX_DOCUMENT_DEPTH,
  jsonTextTooDeep,
} from '../../src/core/nesting.ts';
import { PayloadTooLargeError, ValidationError } from '../../src/core/errors.ts';
import { LIMITS, checkJson, normalizeTasks } from '../../src/core/validate.ts';

const nested = (depth: number, open = '[', close = ']'): string =>
  open.repeat(depth) + close.repeat(depth);

describe('the nesting limit', () => {
  it('is one number for values, and a fixed margin more for the documents that carry them', () => {
    expect(LIMITS.maxDepth).toBe(MAX_DEPTH);
    expect(LIMITS.maxDocumentDepth).toBe(MAX_DOCUMENT_DEPTH);
    expect(MAX_DOCUMENT_DEPTH).toBe(MAX_DEPTH + DOCUMENT_DEPTH_MARGIN);
  });
});

describe('jsonTextTooDeep', () => {
  it('accepts text nested exactly to the limit and refuses one level more, at its bracket', () => {
    expect(jsonTextTooDeep(nested(10), 10)).toBeNull();
    expect(jsonTextTooDeep(nested(11), 10)).toEqual({
      path: '[0][0][0][0][0][0][0][0]…',
      line: 1,
      column: 11,
      limit: 10,
    });
    expect(jsonTextTooDeep(nested(MAX_DOCUMENT_DEPTH))).toBeNull();
    expect(jsonTextTooDeep(nested(MAX_DOCUMENT_DEPTH + 1))?.limit).toBe(MAX_DOCUMENT_DEPTH);
  });

  it('counts depth, not brackets: siblings do not add up', () => {
    const wide = `[${Array.from({ length: 1000 }, () => nested(5)).join(',')}]`;
    expect(jsonTextTooDeep(wide, 6)).toBeNull();
    expect(jsonTextTooDeep(wide, 5)).not.toBeNull();
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ a: '[[[[[[[[[[[[', b: 'quote \\" [[[[[[[[[[[', c: [[1]] });
    expect(jsonTextTooDeep(text, 3)).toBeNull();
    expect(jsonTextTooDeep(text, 2)).toMatchObject({ path: 'c[0]' });
  });

  it('names the path to the container that is too deep, and its line', () => {
    const text = `{\n  "tasks": [\n    {"key": "a", "payload": {"x y": [${nested(20, '{"k":', '}').replace(/}$/, '1}')}]}}]\n}`;
    const deep = jsonTextTooDeep(text, 10);
    expect(deep).toMatchObject({ line: 3 });
    expect(deep?.path).toMatch(/^tasks\[0\]\.payload\["x y"\]\[0\]\.k\.k\.k…$/);
  });

  it('scans 100,000 levels without recursion, stopping at the limit', () => {
    const text = `{"type":"t","payload":${nested(100_000)}}`;
    const deep = jsonTextTooDeep(text);
    expect(deep).toMatchObject({ line: 1, column: 23 + MAX_DOCUMENT_DEPTH - 1 });
  });
});

describe('values from the SDK', () => {
  it('refuses a result or event data nested too deep, naming where, without recursing', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    let error: unknown;
    try {
      checkJson(deep, 'result of task t1');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const issue = (error as ValidationError).issues[0];
    expect(issue?.path).toBe('result of task t1.a.a.a.a.a.a.a.a…');
    expect(issue?.message).toContain(`deeper than ${MAX_DEPTH} levels`);

    let ok: unknown = 1;
    for (let i = 0; i < MAX_DEPTH; i++) ok = [ok];
    expect(checkJson(ok, 'result')).toBeGreaterThan(0);
    expect(() => checkJson([ok], 'result')).toThrow(ValidationError);
    expect(() => checkJson('x'.repeat(100), 'result', 10)).toThrow(PayloadTooLargeError);
  });

  it('refuses a payload nested too deep in a task spec before anything else walks it', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    let error: unknown;
    try {
      normalizeTasks([{ type: 't', payload: deep, title: deep }], { now: 0 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path)).toEqual([
      'tasks[0].title',
      'tasks[0].payload[0][0][0][0][0][0][0][0]…',
    ]);
  });
});
