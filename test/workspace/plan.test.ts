/**
 * The plan's worktree fields (checked with file lines like every plan field), the names branches
 * are made of, the stamping of tasks (by_epic's soft chain), and the HTTP API's refusal of a plan
 * that names a repository.
 */
import { describe, expect, it } from 'vitest';

import { PlanError, WorkspaceError } from '../../src/core/errors.ts';
import { parsePlan } from '../../src/runtime/plan.ts';
import { runLayout, safeComponent } from '../../src/workspace/names.ts';
import { stampRun } from '../../src/workspace/prepare.ts';
import { splitPayload } from '../../src/workspace/spec.ts';
import { startServer } from '../server/harness.ts';

const repo = { root: '/srv/repo', base: 'main', baseSha: 'a'.repeat(40), notes: [] };

describe('plan fields', () => {
  it('reads repo: and worktrees: with their defaults', () => {
    const plan = parsePlan(
      'name: p\nrepo: ../code\ntasks:\n  - key: t\n    command: "true"\n',
      '/plans/p.yaml',
    );
    expect(plan.workspace).toMatchObject({
      repo: '/code',
      strategy: 'by_task',
      base: null,
      merge: 'merge',
      into: null,
      conflict: 'resolve',
      resolver: null,
      resolverBudgetUsd: null,
    });
    const full = parsePlan(
      'name: p\nworktrees:\n  strategy: by_epic\n  base: dev\n  merge: { mode: squash, into: main }\n  conflict: fail\n  resolver: { command: sh, args: [-c, x], budget: { usd: 0.5 } }\ntasks:\n  - key: t\n    command: "true"\n',
      '/plans/p.yaml',
    );
    expect(full.workspace).toMatchObject({
      repo: null,
      strategy: 'by_epic',
      base: 'dev',
      merge: 'squash',
      into: 'main',
      conflict: 'fail',
      resolver: { command: 'sh', args: ['-c', 'x'] },
      resolverBudgetUsd: 0.5,
    });
    expect(parsePlan('tasks:\n  - key: t\n    command: "true"\n', 'p.yaml').workspace).toBeNull();
    expect(
      parsePlan('worktrees: false\ntasks:\n  - key: t\n    command: "true"\n', 'p.yaml').workspace,
    ).toBeNull();
  });

  it('reports a wrong value at its line', () => {
    const text =
      'name: p\nworktrees:\n  strategy: by_story\n  merge: rebase\ntasks:\n  - key: t\n    command: "true"\n';
    let error: unknown;
    try {
      parsePlan(text, 'p.yaml');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PlanError);
    const issues = (error as PlanError).issues;
    expect(issues.map((i) => [i.line, i.field])).toEqual([
      [3, 'worktrees.strategy'],
      [4, 'worktrees.merge'],
    ]);
  });

  it('names unknown settings with the allowed ones', () => {
    const text =
      'name: p\nworktrees:\n  strat: by_task\n  merge: { mode: squash, int: main }\ntasks:\n  - key: t\n    command: "true"\n';
    expect(() => parsePlan(text, 'p.yaml')).toThrow(
      /p\.yaml:3:3: worktrees\.strat: unknown field 'strat'; allowed fields: strategy, base, merge, conflict, resolver\np\.yaml:4:26: worktrees\.merge\.int: unknown field 'int' \(did you mean 'into'\?\); allowed fields: mode, into/,
    );
  });
});

describe('branch names', () => {
  it('keeps safe names and repairs the rest', () => {
    expect(safeComponent('build-api_v2.1', 'key')).toBe('build-api_v2.1');
    expect(safeComponent('a:b', 'key')).toBe('a-b');
    expect(safeComponent('x..y', 'key')).toBe('x.y');
    expect(safeComponent('.hidden', 'key')).toBe('hidden');
    expect(safeComponent('ref.lock', 'key')).toBe('ref');
    expect(safeComponent('Front End / UI', 'epic')).toBe('Front-End-UI');
    expect(safeComponent('x'.repeat(200), 'key')).toHaveLength(80);
    expect(() => safeComponent('../..', 'epic')).toThrow(WorkspaceError);
  });

  it('lays a run out under baton/', () => {
    const layout = runLayout('shop', 'run_01M95VYVVMG2FP2YWE69MW0SRK');
    expect(layout.integrationBranch).toBe('baton/shop-69mw0srk');
    expect(layout.slotBranch('api')).toBe('baton/shop/69mw0srk/api');
    expect(layout.mergedRef('api')).toBe('refs/baton/shop-69mw0srk/api/merged');
  });
});

describe('stamping', () => {
  it('gives each local task its spec, and chains an epic with soft dependencies under by_epic', () => {
    const plan = parsePlan(
      [
        'name: shop',
        'worktrees: { strategy: by_epic }',
        'tasks:',
        '  - { key: b2, epic: back, command: "true", dependsOn: [b1] }',
        '  - { key: b1, epic: back, command: "true" }',
        '  - { key: b3, epic: back, command: "true" }',
        '  - { key: f1, epic: front, command: "true" }',
        '  - { key: solo, command: "true" }',
      ].join('\n'),
      'p.yaml',
    );
    const run = stampRun(plan, repo, plan.workspace!);
    const byKey = new Map(run.tasks.map((t) => [t.key, t]));
    // Topological order in the epic: b1 (level 0), b3 (level 0, later in the plan), b2 (level 1).
    expect(byKey.get('b1')!.dependsOn).toBeUndefined();
    expect(byKey.get('b3')!.dependsOn).toEqual([{ key: 'b1', soft: true }]);
    expect(byKey.get('b2')!.dependsOn).toEqual(['b1', { key: 'b3', soft: true }]);
    expect(byKey.get('f1')!.dependsOn).toBeUndefined();
    const spec = splitPayload(byKey.get('b2')!.payload!).spec!;
    expect(spec).toMatchObject({ repo: '/srv/repo', slot: 'epic-back', key: 'b2', run: 'shop' });
    expect(splitPayload(byKey.get('solo')!.payload!).spec!.slot).toBe('solo');
    // The plan's own run is left as it was.
    expect(plan.run.tasks[2]!.dependsOn).toBeUndefined();
  });
});

describe('the HTTP API', () => {
  it('refuses a plan with repo:, which only a command on the repository machine prepares', async () => {
    const server = await startServer();
    try {
      const response = await server.request('POST', '/v1/runs', {
        raw: 'name: p\nrepo: /etc\ntasks:\n  - key: t\n    command: "true"\n',
        contentType: 'application/yaml',
      });
      expect(response.status).toBe(400);
      expect(JSON.stringify(response.body)).toContain('baton submit');
      expect((await server.baton.runs()).runs).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
