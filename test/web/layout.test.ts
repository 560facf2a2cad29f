/**
 * The run graph's layout and ETA (web/src/layout.ts), pure: a lane per epic, a row per level,
 * collapsed epics as one card per level, the critical path's edges marked; expected durations
 * from the p50 of past run times with a plain default; the remaining critical path.
 */
import { describe, expect, it } from 'vitest';

import {
  DEFAULT_EXPECTED_MS,
  expectedDurations,
  layoutRun,
  p50,
  remainingMs,
  type EtaTask,
} from '../../web/src/layout.ts';

const task = (
  id: string,
  epic: string | null,
  deps: string[] = [],
  extra: Partial<EtaTask> = {},
): EtaTask => ({
  id,
  key: id,
  epic,
  state: 'blocked',
  dependsOn: deps.map((key) => ({ key, soft: false })),
  type: 'shell',
  startedAt: null,
  payload: {},
  ...extra,
});

describe('layoutRun', () => {
  const tasks = [task('a', 'x'), task('b', 'x', ['a']), task('c', 'y', ['a']), task('d', 'y')];
  const levels = [
    ['a', 'd'],
    ['b', 'c'],
  ];

  it('puts each epic in its own column and each level in its own row', () => {
    const layout = layoutRun(tasks, levels, ['a', 'b'], new Set());
    const at = Object.fromEntries(
      layout.nodes.map((n) => [n.id, { x: n.x, y: n.y, critical: n.critical }]),
    );
    expect(layout.lanes.map((l) => l.epic)).toEqual(['x', 'y']);
    expect(at['a']!.x).toBe(at['b']!.x);
    expect(at['c']!.x).toBe(at['d']!.x);
    expect(at['a']!.x).toBeLessThan(at['c']!.x);
    expect(at['a']!.y).toBe(at['d']!.y);
    expect(at['b']!.y).toBe(at['c']!.y);
    expect(at['a']!.y).toBeLessThan(at['b']!.y);
    expect([at['a']!.critical, at['b']!.critical, at['c']!.critical]).toEqual([true, true, false]);
    expect(layout.edges.map((e) => [e.id, e.critical]).sort()).toEqual([
      ['a->b', true],
      ['a->c', false],
    ]);
  });

  it('shows a collapsed epic as one summary card per level, with edges between cells', () => {
    const layout = layoutRun(tasks, levels, ['a', 'b'], new Set(['y']));
    const summaries = layout.nodes.filter((n) => n.kind === 'summary');
    expect(summaries.map((n) => [n.id, n.kind === 'summary' ? n.taskIds : []])).toEqual([
      ['summary:y:0', ['d']],
      ['summary:y:1', ['c']],
    ]);
    expect(layout.edges.map((e) => e.id).sort()).toEqual(['a->b', 'a->summary:y:1']);
  });

  it('lays out 2,000 tasks in 10 collapsed epics as at most one card per epic and level', () => {
    const many: EtaTask[] = [];
    const lv: string[][] = Array.from({ length: 20 }, () => []);
    for (let i = 0; i < 2000; i++) {
      const level = i % 20;
      many.push(task(`t${i}`, `e${i % 10}`, level === 0 ? [] : [`t${i - 1}`]));
      lv[level]!.push(`t${i}`);
    }
    const epics = new Set(many.map((t) => t.epic!));
    expect(layoutRun(many, lv, [], epics).nodes.length).toBeLessThanOrEqual(200);
    expect(layoutRun(many, lv, [], new Set()).nodes.length).toBe(2000);
  });
});

describe('the ETA', () => {
  it('takes the p50 of the type and model, else of the type, else the default', () => {
    const tasks = [
      task('m', null, [], { type: 'llm', payload: { model: 'a:1' } }),
      task('n', null, [], { type: 'llm', payload: { model: 'b:2' } }),
      task('s', null, [], { type: 'script' }),
    ];
    const { byTask, sources } = expectedDurations(tasks, [
      { type: 'llm', model: 'a:1', runMs: 100 },
      { type: 'llm', model: 'a:1', runMs: 300 },
      { type: 'llm', model: 'a:1', runMs: 200 },
      { type: 'llm', model: 'c:3', runMs: 1000 },
    ]);
    expect(Object.fromEntries(byTask)).toEqual({ m: 200, n: 250, s: DEFAULT_EXPECTED_MS });
    expect(Object.fromEntries(sources)).toEqual({ m: 'model', n: 'type', s: 'default' });
    expect(p50([])).toBeNull();
  });

  it('is the longest chain of unfinished work, a running task counting what is left of it', () => {
    const tasks = [
      task('a', null, [], { state: 'succeeded' }),
      task('b', null, ['a'], { state: 'running', startedAt: 1000 }),
      task('c', null, ['b']),
      task('d', null, ['a']),
    ];
    const expected = new Map([
      ['a', 500],
      ['b', 400],
      ['c', 300],
      ['d', 600],
    ]);
    // b has 100 ms left at 1300; b then c: 400 ms; d alone: 600 ms.
    expect(remainingMs(tasks, [['a'], ['b', 'd'], ['c']], expected, 1300)).toBe(600);
    expect(
      remainingMs(tasks, [['a'], ['b', 'd'], ['c']], new Map([...expected, ['d', 10]]), 1300),
    ).toBe(400);
  });
});
