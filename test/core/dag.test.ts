import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzeDag, longestPath, type DagNode } from '../../src/core/dag.ts';
import { CycleError, ValidationError } from '../../src/core/errors.ts';

/** `node('c', 'a', 'b')`: c depends (hard) on a and b. */
function node(key: string, ...deps: string[]): DagNode {
  return { key, dependsOn: deps.map((d) => ({ key: d, soft: false })) };
}

/** Soft or hard does not matter for cycles; vary it anyway. */
function step0(steps: number[]): boolean {
  return (steps[0] ?? 0) % 2 === 1;
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** Random DAGs: node i may only depend on nodes with a lower index, keys shuffled in input. */
const dagArb = fc
  .integer({ min: 1, max: 60 })
  .chain((n) =>
    fc.tuple(
      fc.constant(n),
      fc.array(fc.array(fc.nat(), { maxLength: 4 }), { minLength: n, maxLength: n }),
      fc.shuffledSubarray(
        Array.from({ length: n }, (_, i) => i),
        { minLength: n, maxLength: n },
      ),
    ),
  )
  .map(([n, picks, permutation]) => {
    const nodes: DagNode[] = [];
    for (let i = 0; i < n; i++) {
      const deps = i === 0 ? [] : (picks[i] ?? []).map((p) => `k${p % i}`);
      nodes.push(node(`k${i}`, ...deps));
    }
    return permutation.map((i) => nodes[i]!);
  });

describe('analyzeDag: analysis', () => {
  it('computes order, levels, critical paths and width of a diamond', () => {
    const result = analyzeDag([
      node('build'),
      node('lint'),
      node('test', 'build'),
      node('docs', 'build'),
      node('package', 'test', 'docs', 'lint'),
    ]);
    expect(result.order).toEqual(['build', 'lint', 'test', 'docs', 'package']);
    expect(Object.fromEntries(result.levels)).toEqual({
      build: 0,
      lint: 0,
      test: 1,
      docs: 1,
      package: 2,
    });
    expect(Object.fromEntries(result.criticalPath)).toEqual({
      build: 3,
      lint: 2,
      test: 2,
      docs: 2,
      package: 1,
    });
    expect(result.width).toBe(2);
  });

  it('handles an empty graph', () => {
    const result = analyzeDag([]);
    expect(result).toEqual({ order: [], levels: new Map(), criticalPath: new Map(), width: 0 });
  });

  it('counts a wide fan-out in width', () => {
    const nodes = [node('root'), ...Array.from({ length: 7 }, (_, i) => node(`leaf${i}`, 'root'))];
    expect(analyzeDag(nodes).width).toBe(7);
  });

  it('treats duplicate dependency entries as one edge', () => {
    const result = analyzeDag([node('a'), node('b', 'a', 'a')]);
    expect(result.order).toEqual(['a', 'b']);
    expect(result.criticalPath.get('a')).toBe(2);
  });

  it('accepts dependencies on external keys without making them edges', () => {
    const result = analyzeDag([node('join', 'old1', 'old2'), node('after', 'join', 'old1')], {
      externalKeys: new Set(['old1', 'old2']),
    });
    expect(result.levels.get('join')).toBe(0);
    expect(result.levels.get('after')).toBe(1);
    expect(result.criticalPath.get('join')).toBe(2);
  });

  it('handles a 10,000-node chain without overflowing the stack', () => {
    const n = 10_000;
    const nodes = Array.from({ length: n }, (_, i) =>
      i === 0 ? node('t0') : node(`t${i}`, `t${i - 1}`),
    );
    nodes.reverse(); // worst case for input-order traversal
    const result = analyzeDag(nodes);
    expect(result.order[0]).toBe('t0');
    expect(result.order[n - 1]).toBe(`t${n - 1}`);
    expect(result.levels.get(`t${n - 1}`)).toBe(n - 1);
    expect(result.criticalPath.get('t0')).toBe(n);
    expect(result.width).toBe(1);
  });

  it('finds the cycle in a 10,000-node ring without overflowing the stack', () => {
    const n = 10_000;
    const nodes = Array.from({ length: n }, (_, i) => node(`t${i}`, `t${(i + n - 1) % n}`));
    const error = catchError(() => analyzeDag(nodes)) as CycleError;
    expect(error).toBeInstanceOf(CycleError);
    expect(error.cycle).toHaveLength(n + 1);
    expect(error.cycle.slice(0, 3)).toEqual(['t0', 't1', 't2']);
    expect(error.cycle.at(-1)).toBe('t0');
  });

  it('handles 20,000 tasks with 60,000 edges', () => {
    const n = 20_000;
    const nodes = Array.from({ length: n }, (_, i) =>
      node(`t${i}`, ...(i < 3 ? [] : [`t${i - 1}`, `t${i - 2}`, `t${Math.floor(i / 2)}`])),
    );
    const result = analyzeDag(nodes);
    expect(result.order).toHaveLength(n);
    expect(result.criticalPath.get('t0')).toBe(1); // no task depends on t0
    expect(result.criticalPath.get('t2')).toBe(n - 2);
  });

  it('satisfies the DAG invariants on random graphs (property)', () => {
    fc.assert(
      fc.property(dagArb, (nodes) => {
        const result = analyzeDag(nodes);
        const position = new Map(result.order.map((k, i) => [k, i]));
        expect(position.size).toBe(nodes.length);
        const dependents = new Map<string, string[]>(nodes.map((n) => [n.key, []]));
        const perLevel = new Map<number, number>();
        for (const n of nodes) {
          const level = result.levels.get(n.key)!;
          perLevel.set(level, (perLevel.get(level) ?? 0) + 1);
          if (n.dependsOn.length === 0) expect(level).toBe(0);
          for (const dep of n.dependsOn) {
            // every edge goes forwards in the order and upwards in level
            expect(position.get(dep.key)!).toBeLessThan(position.get(n.key)!);
            expect(result.levels.get(dep.key)!).toBeLessThan(level);
            dependents.get(dep.key)!.push(n.key);
          }
          if (n.dependsOn.length > 0) {
            expect(level).toBe(1 + Math.max(...n.dependsOn.map((d) => result.levels.get(d.key)!)));
          }
        }
        for (const n of nodes) {
          const below = dependents.get(n.key)!.map((k) => result.criticalPath.get(k)!);
          expect(result.criticalPath.get(n.key)).toBe(1 + Math.max(0, ...below));
        }
        expect(result.width).toBe(Math.max(...perLevel.values()));
      }),
    );
  });
});

describe('analyzeDag: validation', () => {
  it('reports duplicate keys with their paths', () => {
    const error = catchError(() =>
      analyzeDag([node('a'), node('b'), node('a')]),
    ) as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.code).toBe('BATON_VALIDATION');
    expect(error.issues).toEqual([
      {
        path: 'tasks[2].key',
        message: expect.stringContaining("duplicate key 'a' (tasks[0] has it too)"),
      },
    ]);
  });

  it('reports a key that an existing task of the run already has', () => {
    const error = catchError(() =>
      analyzeDag([node('a')], { externalKeys: new Set(['a']) }),
    ) as ValidationError;
    expect(error.issues[0]?.path).toBe('tasks[0].key');
    expect(error.issues[0]?.message).toContain('already in this run');
  });

  it('reports unknown dependencies, naming the key and suggesting known ones', () => {
    const error = catchError(() =>
      analyzeDag([node('build'), node('test', 'biuld'), node('deploy', 'nope')]),
    ) as ValidationError;
    expect(error.issues).toHaveLength(2);
    expect(error.issues[0]).toEqual({
      path: 'tasks[1].dependsOn[0]',
      message: expect.stringContaining("unknown task key 'biuld'"),
    });
    expect(error.issues[0]?.message).toContain("did you mean 'build'");
    expect(error.issues[0]?.message).toContain('known keys: build, test, deploy');
    expect(error.issues[1]?.path).toBe('tasks[2].dependsOn[0]');
    expect(error.issues[1]?.message).not.toContain('did you mean');
  });

  it('lists at most ten known keys', () => {
    const nodes = [...Array.from({ length: 15 }, (_, i) => node(`k${i}`)), node('x', 'zzz')];
    const error = catchError(() => analyzeDag(nodes)) as ValidationError;
    expect(error.issues[0]?.message).toContain('k9, … (6 more)');
  });

  it('reports self-dependencies', () => {
    const error = catchError(() => analyzeDag([node('a', 'a')])) as ValidationError;
    expect(error.issues).toEqual([
      { path: 'tasks[0].dependsOn[0]', message: expect.stringContaining("'a' depends on itself") },
    ]);
  });

  it('reports every issue at once, under a custom path prefix', () => {
    const error = catchError(() =>
      analyzeDag([node('a', 'a'), node('a'), node('b', 'c')], { pathPrefix: 'plan.tasks' }),
    ) as ValidationError;
    expect(error.issues.map((i) => i.path)).toEqual([
      'plan.tasks[1].key',
      'plan.tasks[0].dependsOn[0]',
      'plan.tasks[2].dependsOn[0]',
    ]);
  });

  it('reports validation issues before cycles', () => {
    const error = catchError(() => analyzeDag([node('a', 'b'), node('b', 'a'), node('c', 'x')]));
    expect(error).toBeInstanceOf(ValidationError);
  });

  it('reports the build -> test -> package -> build cycle', () => {
    const error = catchError(() =>
      analyzeDag([
        node('build', 'package'),
        node('test', 'build'),
        node('package', 'test'),
        node('docs'),
      ]),
    ) as CycleError;
    expect(error).toBeInstanceOf(CycleError);
    expect(error.code).toBe('BATON_CYCLE');
    expect(error.cycle).toEqual(['build', 'test', 'package', 'build']);
    expect(error.message).toContain('build -> test -> package -> build');
  });

  it('starts the cycle at the member listed first, even when the walk starts elsewhere', () => {
    // 'entry' is unorderable (it depends on the cycle) but is not on it.
    const error = catchError(() =>
      analyzeDag([node('entry', 'z'), node('y', 'z'), node('x', 'y'), node('z', 'x')]),
    ) as CycleError;
    expect(error.cycle).toEqual(['y', 'x', 'z', 'y']);
  });

  it('reports a two-node cycle through a soft dependency', () => {
    const error = catchError(() =>
      analyzeDag([
        { key: 'a', dependsOn: [{ key: 'b', soft: true }] },
        { key: 'b', dependsOn: [{ key: 'a', soft: false }] },
      ]),
    ) as CycleError;
    expect(error.cycle).toEqual(['a', 'b', 'a']);
  });

  it('reports a real cycle whenever one is injected into a random DAG (property)', () => {
    fc.assert(
      fc.property(
        dagArb,
        fc.nat(),
        fc.array(fc.nat(), { minLength: 1, maxLength: 10 }),
        (nodes, start, steps) => {
          // Walk up from a task through its dependencies, then make the task the walk ended at
          // depend on the starting task: a cycle through every task on the walk.
          const byKey = new Map(
            nodes.map((n) => [n.key, { key: n.key, dependsOn: [...n.dependsOn] }]),
          );
          const withDeps = nodes.filter((n) => n.dependsOn.length > 0);
          fc.pre(withDeps.length > 0);
          const from = withDeps[start % withDeps.length]!.key;
          let top = from;
          for (const step of steps) {
            const deps = byKey.get(top)!.dependsOn;
            if (deps.length === 0) break;
            top = deps[step % deps.length]!.key;
          }
          byKey.get(top)!.dependsOn.push({ key: from, soft: step0(steps) });
          const mutated = nodes.map((n) => byKey.get(n.key)!);

          const error = catchError(() => analyzeDag(mutated)) as CycleError;
          expect(error).toBeInstanceOf(CycleError);
          const cycle = error.cycle;
          expect(cycle.length).toBeGreaterThanOrEqual(3);
          expect(cycle[0]).toBe(cycle.at(-1));
          expect(new Set(cycle.slice(0, -1)).size).toBe(cycle.length - 1);
          for (let k = 0; k + 1 < cycle.length; k++) {
            // cycle[k] -> cycle[k+1] means cycle[k+1] depends on cycle[k]
            const dependent = byKey.get(cycle[k + 1]!)!;
            expect(dependent.dependsOn.map((d) => d.key)).toContain(cycle[k]);
          }
          const inputIndex = new Map(mutated.map((n, idx) => [n.key, idx]));
          const firstIndex = Math.min(...cycle.map((k) => inputIndex.get(k)!));
          expect(inputIndex.get(cycle[0]!)).toBe(firstIndex);
        },
      ),
    );
  });
});

describe('longestPath', () => {
  it('finds the heaviest path by weight, not by number of tasks', () => {
    const nodes = [
      node('a'),
      node('b', 'a'),
      node('c', 'b'),
      node('slow'),
      node('end', 'c', 'slow'),
    ];
    const weights: Record<string, number> = { a: 1, b: 1, c: 1, slow: 10, end: 2 };
    expect(longestPath(nodes, (k) => weights[k]!)).toEqual({ length: 12, path: ['slow', 'end'] });
    const uniform = longestPath(nodes, () => 1);
    expect(uniform).toEqual({ length: 4, path: ['a', 'b', 'c', 'end'] });
  });

  it('is empty for an empty graph', () => {
    expect(longestPath([], () => 1)).toEqual({ length: 0, path: [] });
  });

  it('counts negative and non-finite weights as zero', () => {
    const nodes = [node('a'), node('b', 'a')];
    expect(longestPath(nodes, (k) => (k === 'a' ? -5 : Number.NaN)).length).toBe(0);
  });

  it('refuses a cyclic graph', () => {
    expect(() => longestPath([node('a', 'b'), node('b', 'a')], () => 1)).toThrow(CycleError);
  });

  it('equals the critical path when every weight is 1 (property)', () => {
    fc.assert(
      fc.property(dagArb, (nodes) => {
        const { length, path } = longestPath(nodes, () => 1);
        expect(length).toBe(Math.max(...analyzeDag(nodes).criticalPath.values()));
        expect(path).toHaveLength(length);
        const byKey = new Map(nodes.map((n) => [n.key, n]));
        for (let k = 1; k < path.length; k++) {
          expect(byKey.get(path[k]!)!.dependsOn.map((d) => d.key)).toContain(path[k - 1]);
        }
      }),
    );
  });
});
