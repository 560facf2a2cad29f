import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BatonError,
  CycleError,
  PayloadTooLargeError,
  ValidationError,
} from '../../src/core/errors.ts';
import {
  checkJson,
  jsonByteLength,
  LIMITS,
  normalizeRun,
  normalizeTasks,
} from '../../src/core/validate.ts';

const now = Date.parse('2030-01-01T00:00:00Z');

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  const error = catchError(fn);
  expect(error).toBeInstanceOf(ValidationError);
  return (error as ValidationError).issues;
}

function issueAt(issues: { path: string; message: string }[], path: string): string {
  const found = issues.filter((i) => i.path === path).map((i) => i.message);
  expect(found, `no issue at ${path}; got ${JSON.stringify(issues)}`).not.toHaveLength(0);
  return found.join('\n');
}

describe('normalizeTasks: defaults and normalisation', () => {
  it('applies every default to a minimal task', () => {
    expect(normalizeTasks([{ type: 'shell' }], { now })).toEqual([
      {
        type: 'shell',
        payload: null,
        key: null,
        title: null,
        epic: null,
        requires: [],
        priority: 3,
        maxAttempts: 3,
        timeoutMs: null,
        backoff: { baseMs: 1000, maxMs: 60000, factor: 2, jitter: 'equal' },
        idempotencyKey: null,
        runAfter: null,
        dependsOn: [],
        affinity: [],
        criticalPath: 1,
        level: 0,
      },
    ]);
  });

  it('returns an empty list for an empty batch', () => {
    expect(normalizeTasks([], { now })).toEqual([]);
  });

  it('keeps every field that was set', () => {
    const [task] = normalizeTasks(
      [
        {
          type: 'summarise',
          payload: { prompt: 'hi', n: [1, 2.5, null, true] },
          key: 'summarise.v2:part-1',
          title: 'Summarise',
          epic: 'docs',
          requires: ['gpu', 'python', 'gpu'],
          priority: 'critical',
          maxAttempts: 5,
          timeoutMs: 30_000,
          backoff: { baseMs: 200, jitter: 'full' },
          idempotencyKey: 'order-42',
          runAfter: now + 5000,
        },
      ],
      { now },
    );
    expect(task).toMatchObject({
      type: 'summarise',
      payload: { prompt: 'hi', n: [1, 2.5, null, true] },
      key: 'summarise.v2:part-1',
      title: 'Summarise',
      epic: 'docs',
      requires: ['gpu', 'python'],
      priority: 1,
      maxAttempts: 5,
      timeoutMs: 30_000,
      backoff: { baseMs: 200, maxMs: 60000, factor: 2, jitter: 'full' },
      idempotencyKey: 'order-42',
      runAfter: now + 5000,
    });
  });

  it('trims, sorts and deduplicates requires', () => {
    const [task] = normalizeTasks([{ type: 't', requires: ['z', 'a', 'm', 'a', ' z '] }], { now });
    expect(task?.requires).toEqual(['a', 'm', 'z']);
  });

  it('accepts numeric and named priorities', () => {
    const tasks = normalizeTasks(
      [
        { type: 't', priority: 'low' },
        { type: 't', priority: 'high' },
        { type: 't', priority: 0 },
        { type: 't', priority: 9 },
      ],
      { now },
    );
    expect(tasks.map((t) => t.priority)).toEqual([4, 2, 0, 9]);
  });

  it('treats null optional fields as unset', () => {
    const [task] = normalizeTasks(
      [
        {
          type: 't',
          key: null,
          title: null,
          timeoutMs: null,
          runAfter: null,
          backoff: { baseMs: null },
        },
      ],
      { now },
    );
    expect(task).toMatchObject({ key: null, title: null, timeoutMs: null, runAfter: null });
    expect(task?.backoff.baseMs).toBe(1000);
  });

  it('parses runAfter from epoch ms and ISO dates, and drops times already reached', () => {
    const tasks = normalizeTasks(
      [
        { type: 't', runAfter: '2030-01-02T00:00:00Z' },
        { type: 't', runAfter: '2030-01-01T02:00:00+01:00' },
        { type: 't', runAfter: '2030-01-03' },
        { type: 't', runAfter: now + 1 },
        { type: 't', runAfter: now },
        { type: 't', runAfter: '2020-01-01T00:00:00.000Z' },
      ],
      { now },
    );
    expect(tasks.map((t) => t.runAfter)).toEqual([
      now + 86_400_000,
      now + 3_600_000,
      now + 2 * 86_400_000,
      now + 1,
      null,
      null,
    ]);
  });

  it('collapses duplicate dependsOn entries; hard wins over soft', () => {
    const tasks = normalizeTasks(
      [
        { type: 't', key: 'a' },
        { type: 't', key: 'b' },
        {
          type: 't',
          key: 'c',
          dependsOn: [
            'a',
            { key: 'a', soft: true },
            { key: 'b', soft: true },
            { key: 'b', soft: true },
          ],
        },
      ],
      { now },
    );
    expect(tasks[2]?.dependsOn).toEqual([
      { key: 'a', soft: false },
      { key: 'b', soft: true },
    ]);
  });

  it('fills in level and criticalPath from the graph', () => {
    const tasks = normalizeTasks(
      [
        { type: 't', key: 'build' },
        { type: 't', key: 'test', dependsOn: ['build'] },
        { type: 't', key: 'package', dependsOn: ['test'] },
        { type: 't', key: 'lint' },
      ],
      { now },
    );
    expect(tasks.map((t) => [t.key, t.level, t.criticalPath])).toEqual([
      ['build', 0, 3],
      ['test', 1, 2],
      ['package', 2, 1],
      ['lint', 0, 1],
    ]);
  });

  it('lets a task without a key depend on others, but nothing can depend on it', () => {
    const tasks = normalizeTasks(
      [
        { type: 't', key: 'a' },
        { type: 't', dependsOn: ['a'] },
      ],
      { now },
    );
    expect(tasks[1]).toMatchObject({ key: null, level: 1, dependsOn: [{ key: 'a', soft: false }] });
    expect(tasks[0]?.criticalPath).toBe(2);

    const issues = issuesOf(() =>
      normalizeTasks([{ type: 't' }, { type: 't', key: 'b', dependsOn: ['#0'] }], { now }),
    );
    expect(issueAt(issues, 'tasks[1].dependsOn[0]')).toContain("unknown task key '#0'");
  });

  it('joins tasks to an existing run through existingKeys', () => {
    const tasks = normalizeTasks(
      [
        { type: 't', key: 'join', dependsOn: ['part1', 'part2'] },
        { type: 't', key: 'report', dependsOn: ['join'] },
      ],
      { now, existingKeys: new Set(['part1', 'part2']) },
    );
    expect(tasks.map((t) => [t.level, t.criticalPath])).toEqual([
      [0, 2],
      [1, 1],
    ]);
    const issues = issuesOf(() =>
      normalizeTasks([{ type: 't', key: 'part1' }], { now, existingKeys: new Set(['part1']) }),
    );
    expect(issueAt(issues, 'tasks[0].key')).toContain("duplicate key 'part1'");
  });

  it('does not modify its input', () => {
    const input = [{ type: 't', requires: ['b', 'a'], dependsOn: [] as string[] }];
    const copy = structuredClone(input);
    normalizeTasks(input, { now });
    expect(input).toEqual(copy);
  });
});

describe('normalizeTasks: refusals', () => {
  it('refuses a non-array', () => {
    expect(
      issueAt(
        issuesOf(() => normalizeTasks({ type: 't' }, { now })),
        'tasks',
      ),
    ).toContain('must be an array of tasks');
  });

  it('refuses non-object tasks', () => {
    const issues = issuesOf(() => normalizeTasks(['x', null, 3, []], { now }));
    expect(issueAt(issues, 'tasks[0]')).toContain('must be an object');
    expect(issueAt(issues, 'tasks[1]')).toContain('got null');
    expect(issueAt(issues, 'tasks[3]')).toContain('got an array');
  });

  it('names unknown fields and suggests the field meant', () => {
    const tasks = [{ type: 't' }, { type: 't' }, { type: 't' }, { type: 't', dependson: ['a'] }];
    const issues = issuesOf(() => normalizeTasks(tasks, { now }));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('tasks[3]');
    expect(issues[0]?.message).toContain("unknown field 'dependson' (did you mean 'dependsOn'?)");
    const error = catchError(() => normalizeTasks(tasks, { now })) as ValidationError;
    expect(error.message).toContain(
      "tasks[3]: unknown field 'dependson' (did you mean 'dependsOn'?)",
    );
  });

  it('names unknown fields in backoff and dependsOn objects too', () => {
    const issues = issuesOf(() =>
      normalizeTasks(
        [
          { type: 't', key: 'a' },
          { type: 't', backoff: { jiter: 'full' }, dependsOn: [{ key: 'a', sfot: true }], wat: 1 },
        ],
        { now },
      ),
    );
    expect(issueAt(issues, 'tasks[1].backoff')).toContain(
      "unknown field 'jiter' (did you mean 'jitter'?)",
    );
    expect(issueAt(issues, 'tasks[1].dependsOn[0]')).toContain(
      "unknown field 'sfot' (did you mean 'soft'?)",
    );
    expect(issueAt(issues, 'tasks[1]')).toMatch(
      /unknown field 'wat'; allowed fields: type, payload/,
    );
  });

  it('requires a non-empty type', () => {
    let issues = issuesOf(() => normalizeTasks([{}], { now }));
    expect(issueAt(issues, 'tasks[0].type')).toBe('is required');
    issues = issuesOf(() => normalizeTasks([{ type: '  ' }], { now }));
    expect(issueAt(issues, 'tasks[0].type')).toBe('must not be empty');
    issues = issuesOf(() => normalizeTasks([{ type: 7 }], { now }));
    expect(issueAt(issues, 'tasks[0].type')).toBe('must be a string; got the number 7');
    issues = issuesOf(() =>
      normalizeTasks([{ type: 'x'.repeat(LIMITS.maxTypeLength + 1) }], { now }),
    );
    expect(issueAt(issues, 'tasks[0].type')).toContain('at most 100 characters');
  });

  it('checks the key format and length', () => {
    for (const bad of ['has space', '-leading', '', 'a/b', '#1', 'é']) {
      const issues = issuesOf(() => normalizeTasks([{ type: 't', key: bad }], { now }));
      expect(issueAt(issues, 'tasks[0].key')).toMatch(/not a valid key|must not be empty/);
    }
    const long = 'k'.repeat(LIMITS.maxKeyLength + 1);
    expect(
      issueAt(
        issuesOf(() => normalizeTasks([{ type: 't', key: long }], { now })),
        'tasks[0].key',
      ),
    ).toContain('at most 200 characters');
    expect(() => normalizeTasks([{ type: 't', key: 'k'.repeat(200) }], { now })).not.toThrow();
    expect(() => normalizeTasks([{ type: 't', key: 'A1._:-z' }], { now })).not.toThrow();
  });

  it('checks priority, maxAttempts, timeoutMs and backoff', () => {
    const issues = issuesOf(() =>
      normalizeTasks(
        [
          {
            type: 't',
            priority: 'urgent',
            maxAttempts: 0,
            timeoutMs: 0,
            backoff: { baseMs: -1, maxMs: 1.5, factor: 0.5, jitter: 'some' },
          },
          { type: 't', priority: 1.5, maxAttempts: 1001, timeoutMs: LIMITS.maxTimerMs + 1 },
          { type: 't', maxAttempts: '3' },
        ],
        { now },
      ),
    );
    expect(issueAt(issues, 'tasks[0].priority')).toContain("unknown priority 'urgent'");
    expect(issueAt(issues, 'tasks[0].maxAttempts')).toContain('at least 1');
    expect(issueAt(issues, 'tasks[0].timeoutMs')).toContain('at least 1');
    expect(issueAt(issues, 'tasks[0].backoff.baseMs')).toContain('at least 0');
    expect(issueAt(issues, 'tasks[0].backoff.maxMs')).toContain('integer');
    expect(issueAt(issues, 'tasks[0].backoff.factor')).toContain('at least 1');
    expect(issueAt(issues, 'tasks[0].backoff.jitter')).toContain(
      "must be one of 'full', 'equal', 'none'",
    );
    expect(issueAt(issues, 'tasks[1].priority')).toContain('must be an integer');
    expect(issueAt(issues, 'tasks[1].maxAttempts')).toContain('at most 1000');
    expect(issueAt(issues, 'tasks[1].timeoutMs')).toContain(`at most ${LIMITS.maxTimerMs}`);
    expect(issueAt(issues, 'tasks[2].maxAttempts')).toContain("got the string '3'");
  });

  it('checks requires', () => {
    const issues = issuesOf(() =>
      normalizeTasks(
        [
          { type: 't', requires: 'gpu' },
          { type: 't', requires: ['gpu', ''] },
          { type: 't', requires: Array.from({ length: 65 }, (_, i) => `cap${i}`) },
        ],
        { now },
      ),
    );
    expect(issueAt(issues, 'tasks[0].requires')).toContain('must be an array');
    expect(issueAt(issues, 'tasks[1].requires[1]')).toBe('must not be empty');
    expect(issueAt(issues, 'tasks[2].requires')).toContain(
      '65 distinct capabilities, over the limit of 64',
    );
    // 64 distinct after deduplication is fine
    const dup = [...Array.from({ length: 64 }, (_, i) => `cap${i}`), 'cap0'];
    expect(normalizeTasks([{ type: 't', requires: dup }], { now })[0]?.requires).toHaveLength(64);
  });

  it('checks runAfter', () => {
    const issues = issuesOf(() =>
      normalizeTasks(
        [
          { type: 't', runAfter: 'tomorrow' },
          { type: 't', runAfter: '2030-01-01T10:00:00' },
          { type: 't', runAfter: -1 },
          { type: 't', runAfter: true },
          { type: 't', runAfter: '2030-13-45T00:00:00Z' },
        ],
        { now },
      ),
    );
    expect(issueAt(issues, 'tasks[0].runAfter')).toContain("'tomorrow' is not an ISO 8601 date");
    expect(issueAt(issues, 'tasks[1].runAfter')).toContain("no time zone: add 'Z'");
    expect(issueAt(issues, 'tasks[2].runAfter')).toContain('epoch milliseconds');
    expect(issueAt(issues, 'tasks[3].runAfter')).toContain('got true');
    expect(issueAt(issues, 'tasks[4].runAfter')).toContain('not an ISO 8601 date');
  });

  it('checks dependsOn entries', () => {
    const issues = issuesOf(() =>
      normalizeTasks(
        [
          { type: 't', key: 'a' },
          { type: 't', key: 'b', dependsOn: [3, '', { soft: true }, { key: 'a', soft: 'yes' }] },
          { type: 't', key: 'c', dependsOn: 'a' },
        ],
        { now },
      ),
    );
    expect(issueAt(issues, 'tasks[1].dependsOn[0]')).toContain(
      'must be a task key or { key, soft }',
    );
    expect(issueAt(issues, 'tasks[1].dependsOn[1]')).toBe('must not be empty');
    expect(issueAt(issues, 'tasks[1].dependsOn[2].key')).toBe('is required');
    expect(issueAt(issues, 'tasks[1].dependsOn[3].soft')).toContain('must be true or false');
    expect(issueAt(issues, 'tasks[2].dependsOn')).toContain('must be an array');
  });

  it('collects every issue of every task into one error', () => {
    const issues = issuesOf(() =>
      normalizeTasks(
        [
          { type: '', key: 'a' },
          { type: 't', key: 'a', priority: 'x' },
          { type: 't', key: 'c', dependsOn: ['missing'] },
        ],
        { now },
      ),
    );
    expect(issues.map((i) => i.path)).toEqual([
      'tasks[0].type',
      'tasks[1].priority',
      'tasks[1].key',
      'tasks[2].dependsOn[0]',
    ]);
  });

  it('names unknown dependencies and suggests known keys', () => {
    const issues = issuesOf(() =>
      normalizeTasks(
        [
          { type: 't', key: 'build' },
          { type: 't', key: 'test', dependsOn: ['Build'] },
          { type: 't', key: 'ship', dependsOn: ['tset'] },
        ],
        { now },
      ),
    );
    expect(issueAt(issues, 'tasks[1].dependsOn[0]')).toContain(
      "unknown task key 'Build' (did you mean 'build'?) (known keys: build, test, ship)",
    );
    expect(issueAt(issues, 'tasks[2].dependsOn[0]')).toContain("did you mean 'test'?");
  });

  it('does not call a dependency unknown when its key is merely invalid', () => {
    const issues = issuesOf(() =>
      normalizeTasks(
        [
          { type: 't', key: 'bad key' },
          { type: 't', key: 'b', dependsOn: ['bad key'] },
        ],
        { now },
      ),
    );
    expect(issues.map((i) => i.path)).toEqual(['tasks[0].key']);
  });

  it('reports self-dependencies and duplicate keys', () => {
    const issues = issuesOf(() =>
      normalizeTasks(
        [
          { type: 't', key: 'a', dependsOn: ['a'] },
          { type: 't', key: 'a' },
        ],
        { now },
      ),
    );
    expect(issueAt(issues, 'tasks[0].dependsOn[0]')).toContain('depends on itself');
    expect(issueAt(issues, 'tasks[1].key')).toContain("duplicate key 'a'");
  });

  it('throws CycleError when a cycle is the only problem', () => {
    const error = catchError(() =>
      normalizeTasks(
        [
          { type: 't', key: 'build', dependsOn: ['package'] },
          { type: 't', key: 'test', dependsOn: ['build'] },
          { type: 't', key: 'package', dependsOn: ['test'] },
        ],
        { now },
      ),
    ) as CycleError;
    expect(error).toBeInstanceOf(CycleError);
    expect(error.cycle).toEqual(['build', 'test', 'package', 'build']);
  });

  it('reports a cycle among other issues in the same ValidationError', () => {
    const issues = issuesOf(() =>
      normalizeTasks(
        [
          { type: 't', key: 'a', dependsOn: ['b'], priority: 'nope' },
          { type: 't', key: 'b', dependsOn: ['a'] },
        ],
        { now },
      ),
    );
    expect(issueAt(issues, 'tasks[0].priority')).toContain('nope');
    expect(issueAt(issues, 'tasks')).toContain('dependency cycle: a -> b -> a');
  });

  it('uses pathPrefix in every issue path', () => {
    const issues = issuesOf(() =>
      normalizeTasks([{ type: '' }, { type: 't', dependsOn: ['x'] }], {
        now,
        pathPrefix: 'plan.steps',
      }),
    );
    expect(issues.map((i) => i.path)).toEqual(['plan.steps[0].type', 'plan.steps[1].dependsOn[0]']);
  });

  it('refuses more than maxTasksPerRun tasks', () => {
    const tasks = Array.from({ length: LIMITS.maxTasksPerRun + 1 }, () => ({ type: 't' }));
    expect(
      issueAt(
        issuesOf(() => normalizeTasks(tasks, { now })),
        'tasks',
      ),
    ).toContain('over the limit of 100000');
  });
});

describe('payloads', () => {
  it('throws PayloadTooLargeError naming the path when that is the only problem', () => {
    const error = catchError(() =>
      normalizeTasks([{ type: 't' }, { type: 't', payload: { text: 'x'.repeat(100) } }], {
        now,
        maxPayloadBytes: 64,
      }),
    ) as PayloadTooLargeError;
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.code).toBe('BATON_PAYLOAD_TOO_LARGE');
    expect(error.message).toContain('tasks[1].payload is 111 bytes, over the limit of 64 bytes');
    expect(error.details).toMatchObject({ where: 'tasks[1].payload', bytes: 111, limit: 64 });
  });

  it('uses the 1 MiB default limit', () => {
    const big = 'x'.repeat(LIMITS.maxPayloadBytes); // plus two quote characters
    expect(() => normalizeTasks([{ type: 't', payload: big }], { now })).toThrow(
      PayloadTooLargeError,
    );
    const fits = 'x'.repeat(LIMITS.maxPayloadBytes - 2);
    expect(normalizeTasks([{ type: 't', payload: fits }], { now })[0]?.payload).toBe(fits);
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(jsonByteLength('€')).toBe(5); // 3 bytes + 2 quotes
    expect(jsonByteLength('😀')).toBe(6); // a surrogate pair is 4 bytes
    expect(jsonByteLength({ a: 'é' })).toBe(10);
    expect(() =>
      normalizeTasks([{ type: 't', payload: '€€€' }], { now, maxPayloadBytes: 10 }),
    ).toThrow(PayloadTooLargeError);
    expect(() =>
      normalizeTasks([{ type: 't', payload: '€€€' }], { now, maxPayloadBytes: 11 }),
    ).not.toThrow();
  });

  it('reports an oversized payload as an issue when there are other problems too', () => {
    const issues = issuesOf(() =>
      normalizeTasks([{ type: '', payload: 'x'.repeat(100) }], { now, maxPayloadBytes: 10 }),
    );
    expect(issueAt(issues, 'tasks[0].type')).toBe('must not be empty');
    expect(issueAt(issues, 'tasks[0].payload')).toContain('102 bytes, over the limit of 10 bytes');
  });

  it('refuses values JSON cannot represent, pointing inside the payload', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const cases: [unknown, string, RegExp][] = [
      [{ when: new Date(0) }, 'tasks[0].payload.when', /is a Date, not plain JSON/],
      [{ n: [1, Number.NaN] }, 'tasks[0].payload.n[1]', /NaN/],
      [{ f: () => 1 }, 'tasks[0].payload.f', /function/],
      [{ b: 1n }, 'tasks[0].payload.b', /bigint/],
      [{ m: new Map() }, 'tasks[0].payload.m', /Map/],
      [{ 'odd key': [undefined] }, 'tasks[0].payload["odd key"][0]', /undefined/],
      [cyclic, 'tasks[0].payload.self', /cycle/],
      [[1, , 3], 'tasks[0].payload[1]', /sparse/],
      [Number.POSITIVE_INFINITY, 'tasks[0].payload', /Infinity/],
    ];
    for (const [payload, path, message] of cases) {
      const issues = issuesOf(() => normalizeTasks([{ type: 't', payload }], { now }));
      expect(issueAt(issues, path)).toMatch(message);
    }
  });

  it('allows the same object twice, null prototypes, and undefined properties', () => {
    const shared = { x: 1 };
    const bare = Object.assign(Object.create(null) as object, { y: 2 });
    const [task] = normalizeTasks(
      [{ type: 't', payload: { a: shared, b: [shared, shared], bare, u: undefined } }],
      {
        now,
      },
    );
    expect(JSON.parse(JSON.stringify(task?.payload))).toEqual({
      a: { x: 1 },
      b: [{ x: 1 }, { x: 1 }],
      bare: { y: 2 },
    });
  });

  it('refuses payloads nested deeper than the limit without overflowing the stack', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const issues = issuesOf(() => normalizeTasks([{ type: 't', payload: deep }], { now }));
    expect(issues[0]?.message).toContain(`deeper than ${LIMITS.maxDepth} levels`);
    let ok: unknown = 'leaf';
    for (let i = 0; i < LIMITS.maxDepth; i++) ok = { a: ok };
    expect(() => normalizeTasks([{ type: 't', payload: ok }], { now })).not.toThrow();
  });

  it('checkJson validates results the same way', () => {
    expect(checkJson({ ok: true }, 'result')).toBe(11);
    expect(() => checkJson({ d: new Date() }, 'result')).toThrow(/result\.d: is a Date/);
    expect(() => checkJson('x'.repeat(20), 'result of task 1', 10)).toThrow(PayloadTooLargeError);
    expect(() => checkJson('x'.repeat(20), 'result of task 1', 10)).toThrow(
      /result of task 1 is 22 bytes/,
    );
  });
});

describe('normalizeRun', () => {
  it('normalises a run and reports its width', () => {
    const run = normalizeRun(
      {
        name: 'release',
        tasks: [
          { type: 't', key: 'a' },
          { type: 't', key: 'b' },
          { type: 't', key: 'c' },
          { type: 't', key: 'd', dependsOn: ['a', 'b', 'c'] },
        ],
      },
      { now },
    );
    expect(run.name).toBe('release');
    expect(run.width).toBe(3);
    expect(run.tasks.map((t) => t.level)).toEqual([0, 0, 0, 1]);
  });

  it("defaults the name to 'run'", () => {
    expect(normalizeRun({ tasks: [{ type: 't' }] }, { now }).name).toBe('run');
  });

  it('refuses a run with zero tasks', () => {
    expect(
      issueAt(
        issuesOf(() => normalizeRun({ tasks: [] }, { now })),
        'tasks',
      ),
    ).toBe('a run needs at least one task');
  });

  it('refuses malformed runs, naming what is wrong', () => {
    expect(
      issueAt(
        issuesOf(() => normalizeRun(null, { now })),
        '',
      ),
    ).toContain('must be an object');
    expect(
      issueAt(
        issuesOf(() => normalizeRun([{ type: 't' }], { now })),
        '',
      ),
    ).toContain('got an array');
    expect(
      issueAt(
        issuesOf(() => normalizeRun({}, { now })),
        'tasks',
      ),
    ).toBe('is required');
    expect(
      issueAt(
        issuesOf(() => normalizeRun({ tasks: {} }, { now })),
        'tasks',
      ),
    ).toContain('must be an array');
    const issues = issuesOf(() =>
      normalizeRun({ nmae: 'x', name: '', tasks: [{ type: '' }] }, { now }),
    );
    expect(issueAt(issues, '')).toContain("unknown field 'nmae' (did you mean 'name'?)");
    expect(issueAt(issues, 'name')).toBe('must not be empty');
    expect(issueAt(issues, 'tasks[0].type')).toBe('must not be empty');
  });

  it('prefixes paths with pathPrefix', () => {
    const issues = issuesOf(() =>
      normalizeRun({ name: '', tasks: [{ type: '' }] }, { now, pathPrefix: 'run' }),
    );
    expect(issues.map((i) => i.path)).toEqual(['run.name', 'run.tasks[0].type']);
  });

  it('reports an oversized payload alongside run-level issues', () => {
    const issues = issuesOf(() =>
      normalizeRun(
        { extra: 1, tasks: [{ type: 't', payload: 'x'.repeat(50) }] },
        { now, maxPayloadBytes: 10 },
      ),
    );
    expect(issueAt(issues, '')).toContain("unknown field 'extra'");
    expect(issueAt(issues, 'tasks[0].payload')).toContain('over the limit of 10 bytes');
  });

  it('handles a 10,000-task chain', () => {
    const n = 10_000;
    const tasks = Array.from({ length: n }, (_, i) => ({
      type: 't',
      key: `step-${i}`,
      ...(i > 0 ? { dependsOn: [`step-${i - 1}`] } : {}),
    }));
    const run = normalizeRun({ tasks }, { now });
    expect(run.width).toBe(1);
    expect(run.tasks[0]?.criticalPath).toBe(n);
    expect(run.tasks[n - 1]?.level).toBe(n - 1);
  });
});

describe('robustness (property)', () => {
  it('either returns normalised tasks or throws a named Baton error, for any input', () => {
    const task = fc.record(
      {
        type: fc.oneof(fc.string(), fc.anything()),
        key: fc.oneof(fc.constantFrom('a', 'b', 'c', 'bad key'), fc.anything()),
        dependsOn: fc.oneof(fc.array(fc.constantFrom('a', 'b', 'c', 'd')), fc.anything()),
        priority: fc.oneof(fc.constantFrom('high', 'low', 2), fc.anything()),
        payload: fc.anything(),
        runAfter: fc.oneof(fc.integer(), fc.string(), fc.anything()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.array(task, { maxLength: 6 }), fc.anything()), (input) => {
        let result: unknown;
        try {
          result = normalizeTasks(input, { now });
        } catch (error) {
          expect(error).toBeInstanceOf(BatonError);
          if (error instanceof ValidationError) {
            expect(error.issues.length).toBeGreaterThan(0);
            for (const issue of error.issues) expect(issue.message.length).toBeGreaterThan(0);
          }
          return;
        }
        expect(Array.isArray(result)).toBe(true);
        for (const t of result as { type: unknown; priority: unknown }[]) {
          expect(typeof t.type).toBe('string');
          expect(Number.isInteger(t.priority)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('accepts every valid random DAG and agrees with it on levels (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: 1, maxLength: 40 }),
        (picks) => {
          const specs = picks.map((deps, i) => ({
            type: 't',
            key: `k${i}`,
            dependsOn: i === 0 ? [] : deps.map((d) => `k${d % i}`),
          }));
          const tasks = normalizeTasks(specs, { now });
          for (const t of tasks) {
            const depLevels = t.dependsOn.map((d) => tasks[Number(d.key.slice(1))]!.level);
            expect(t.level).toBe(depLevels.length === 0 ? 0 : 1 + Math.max(...depLevels));
          }
        },
      ),
    );
  });
});
