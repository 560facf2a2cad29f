/**
 * Worktrees end to end: the real `baton` command on real git repositories in temp directories.
 * Each test checks that the user's checkout (files, index, HEAD, status, branches) is exactly as
 * it was, dirty or not.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { beforeEach, describe, expect, it } from 'vitest';

import type { TaskRecord } from '../../src/core/types.ts';
import type { Baton } from '../../src/runtime/baton.ts';
import { useCli } from '../helpers/cli.ts';
import { batonBranches, batonWorktrees, fingerprint, g, makeRepo } from './repo.ts';

const TIMEOUT = 120_000;

interface WorkspaceRecord {
  branch: string;
  integrationBranch: string;
  base: string;
  head: string;
  onto: string;
  merge: string;
  mode: string;
  reused: boolean;
  resolvedBy?: string;
  recovered?: true;
}

function sh(script: string): string {
  return `    command: sh\n    args: [-c, ${JSON.stringify(script)}]`;
}

async function runTasks(baton: Baton, runId: string): Promise<Map<string, TaskRecord>> {
  const page = await baton.tasks({ runId, limit: 100 });
  return new Map(page.tasks.map((t) => [t.key ?? t.id, t]));
}

function workspaceOf(task: TaskRecord | undefined): WorkspaceRecord {
  const result = task?.result as { workspace?: WorkspaceRecord } | null | undefined;
  expect(result?.workspace, `no workspace record on ${task?.key}`).toBeDefined();
  return result!.workspace!;
}

describe('worktrees', () => {
  const cli = useCli();

  let repos = 0;
  beforeEach(() => {
    repos = 0;
  });
  function setup(files?: Record<string, string>): { repo: string; plan: (text: string) => string } {
    // The plans say repo: repo; a second setup in one test gets its own directory and plan.
    const home = repos++ === 0 ? cli.dir : join(cli.dir, `case-${repos}`);
    const repo = makeRepo(join(home, 'repo'), files);
    return {
      repo,
      plan: (text) => {
        const file = join(home, 'plan.yaml');
        writeFileSync(file, text);
        return file;
      },
    };
  }

  async function runPlan(
    file: string,
    extra: string[] = [],
  ): Promise<{ code: number | null; stdout: string; stderr: string; runId: string }> {
    const result = await cli.run(['run', file, '--store', cli.store, '--json', ...extra]);
    const summary =
      result.stdout.trim() === '' ? {} : (JSON.parse(result.stdout) as { runId?: string });
    return { ...result, runId: summary.runId ?? '' };
  }

  it(
    'three tasks in a DAG merge in dependency order; each dependent sees its dependencies in its worktree',
    async () => {
      const { repo, plan } = setup({ 'README.md': '# p\n', 'notes.txt': 'mine\n' });
      // A dirty checkout: Baton must run from the last commit and leave these alone.
      writeFileSync(join(repo, 'notes.txt'), 'uncommitted edit\n');
      writeFileSync(join(repo, 'scratch.txt'), 'untracked\n');
      const before = fingerprint(repo);
      const file = plan(`name: dag
repo: repo
tasks:
  - key: schema
${sh('echo "table users" > schema.txt; pwd > where-schema.txt')}
  - key: api
${sh('cat schema.txt > api.txt; echo "GET /users" >> api.txt')}
    dependsOn: [schema]
  - key: ui
${sh('cat api.txt > ui.txt; echo "page users" >> ui.txt; cat notes.txt > notes-seen.txt')}
    dependsOn: [api]
`);
      const run = await runPlan(file);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('uncommitted changes');

      const baton = await cli.open();
      const tasks = await runTasks(baton, run.runId);
      const [schema, api, ui] = ['schema', 'api', 'ui'].map((k) => workspaceOf(tasks.get(k)));
      const integration = schema!.integrationBranch;
      expect(integration).toMatch(/^baton\/dag-[a-z0-9]{8}$/);
      // Each dependent's worktree was cut from the integration branch after its dependency merged.
      expect(api!.base).toBe(schema!.merge);
      expect(ui!.base).toBe(api!.merge);
      // The integration branch's first-parent history is the merges in dependency order.
      const subjects = g(repo, 'log', '--first-parent', '--format=%s', integration).split('\n');
      expect(subjects.slice(0, 3)).toEqual([
        expect.stringContaining('(task ui)'),
        expect.stringContaining('(task api)'),
        expect.stringContaining('(task schema)'),
      ]);
      expect(g(repo, 'show', `${integration}:ui.txt`)).toBe('table users\nGET /users\npage users');
      // The task ran in its worktree, not in the checkout, and saw the committed notes only.
      expect(g(repo, 'show', `${integration}:where-schema.txt`)).toContain(
        '/.baton/worktrees/dag-',
      );
      expect(g(repo, 'show', `${integration}:notes-seen.txt`)).toBe('mine');
      // Baton's commits are Baton's, with the task id in the message.
      const work = g(repo, 'log', '-1', '--format=%an <%ae>%n%B', schema!.head);
      expect(work).toContain('Baton <baton@localhost>');
      expect(work).toContain(`Baton-Task: ${tasks.get('schema')!.id}`);
      // Merged worktrees and their branches are gone; the integration branch stays.
      expect(batonWorktrees(repo)).toEqual([]);
      expect(batonBranches(repo)).toEqual([integration]);
      expect(fingerprint(repo)).toBe(before);
    },
    TIMEOUT,
  );

  it(
    'two tasks editing the same line conflict; resolve-conflict resolves it and the dependent sees the result',
    async () => {
      const { repo, plan } = setup({ 'a.txt': 'base\n' });
      const before = fingerprint(repo);
      const file = plan(`name: clash
repo: repo
worktrees:
  resolver:
    command: sh
    args: [-c, 'printf "left\\nright\\n" > a.txt; printf "%s" "$BATON_CONFLICT_FILES" > conflict-files.txt; grep -c "^[-+]" "$BATON_CONFLICT_TASK_DIFF" > task-diff-lines.txt']
    budget: { usd: 0.25 }
tasks:
  - key: left
${sh('echo left > a.txt')}
  - key: right
${sh('echo right > a.txt')}
  - key: after
${sh('cat a.txt > seen.txt')}
    dependsOn: [left, right]
`);
      const run = await runPlan(file);
      expect(run.code, run.stderr).toBe(0);
      const baton = await cli.open();
      const tasks = await runTasks(baton, run.runId);
      const resolver = [...tasks.values()].find((t) => t.key?.startsWith('resolve-conflict.'));
      expect(resolver?.state).toBe('succeeded');
      // Its own budget, the same executor kind.
      expect((await baton.backend.budgetOf(resolver!.id))?.limitUsd).toBe(0.25);
      expect(resolver!.type).toBe('shell');
      const loser = resolver!.key!.slice('resolve-conflict.'.length);
      const record = workspaceOf(tasks.get(loser));
      expect(record.resolvedBy).toBe(resolver!.key);
      const integration = record.integrationBranch;
      expect(g(repo, 'show', `${integration}:a.txt`)).toBe('left\nright');
      expect(g(repo, 'show', `${integration}:seen.txt`)).toBe('left\nright');
      expect(g(repo, 'show', `${integration}:conflict-files.txt`)).toBe('a.txt');
      expect(Number(g(repo, 'show', `${integration}:task-diff-lines.txt`))).toBeGreaterThan(0);
      // The resolution holds both sides: the loser's head and the integration branch.
      const resolved = workspaceOf(resolver);
      expect(g(repo, 'rev-list', '--parents', '-n', '1', resolved.head).split(' ')).toHaveLength(3);
      expect(batonWorktrees(repo)).toEqual([]);
      expect(fingerprint(repo)).toBe(before);
    },
    TIMEOUT,
  );

  it(
    'conflict: fail fails the task naming the file, keeps its worktree, and prune --failed removes it',
    async () => {
      const { repo, plan } = setup({ 'a.txt': 'base\n' });
      const before = fingerprint(repo);
      const file = plan(`name: strict
repo: repo
worktrees: { conflict: fail }
defaults: { maxAttempts: 3 }
tasks:
  - key: left
${sh('echo left > a.txt')}
  - key: right
${sh('echo right > a.txt')}
`);
      const run = await runPlan(file);
      expect(run.code).toBe(1);
      const baton = await cli.open();
      const tasks = await runTasks(baton, run.runId);
      const failed = [...tasks.values()].filter((t) => t.state === 'failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]!.attempts).toBe(1); // not retryable
      expect(failed[0]!.error?.code).toBe('BATON_MERGE_CONFLICT');
      expect(failed[0]!.error?.message).toContain('conflict in a.txt');
      expect([...tasks.keys()].some((k) => k.startsWith('resolve-conflict.'))).toBe(false);
      // The failed task's worktree is kept for inspection, with its work committed.
      const kept = batonWorktrees(repo);
      expect(kept).toHaveLength(1);
      expect(readFileSync(join(kept[0]!, 'a.txt'), 'utf8')).toBe(`${failed[0]!.key}\n`);

      const list = await cli.run(['worktrees', '--repo', repo, '--store', cli.store, '--json']);
      expect(list.code, list.stderr).toBe(0);
      const listed = (
        JSON.parse(list.stdout) as { worktrees: { verdict: string; tasks: { key: string }[] }[] }
      ).worktrees;
      expect(listed).toMatchObject([{ verdict: 'failed', tasks: [{ key: failed[0]!.key }] }]);
      const prune = await cli.run(['worktrees', 'prune', '--repo', repo, '--store', cli.store]);
      expect(prune.stdout).toContain('nothing to prune');
      expect(batonWorktrees(repo)).toHaveLength(1);
      const pruneAll = await cli.run([
        'worktrees',
        'prune',
        '--failed',
        '--repo',
        repo,
        '--store',
        cli.store,
      ]);
      expect(pruneAll.code, pruneAll.stderr).toBe(0);
      expect(batonWorktrees(repo)).toEqual([]);
      expect(existsSync(kept[0]!)).toBe(false);
      // Its branch was never merged, so it stays.
      expect(batonBranches(repo).some((b) => b.endsWith(`/${failed[0]!.key}`))).toBe(true);
      expect(fingerprint(repo)).toBe(before);
    },
    TIMEOUT,
  );

  it(
    'squash: one commit per task on a linear integration branch; branches still count as merged by their record',
    async () => {
      const { repo, plan } = setup();
      const before = fingerprint(repo);
      const file = plan(`name: squashed
repo: repo
worktrees: { merge: squash }
tasks:
  - key: one
    title: first file
${sh('echo 1 > one.txt; git add one.txt; git -c user.name=agent -c user.email=a@x commit -qm "agent commit"; echo more >> one.txt')}
  - key: two
${sh('echo 2 > two.txt')}
    dependsOn: [one]
`);
      const run = await runPlan(file);
      expect(run.code, run.stderr).toBe(0);
      const baton = await cli.open();
      const tasks = await runTasks(baton, run.runId);
      const one = workspaceOf(tasks.get('one'));
      expect(one.mode).toBe('squash');
      const integration = one.integrationBranch;
      // Linear: every commit since main has one parent.
      const parents = g(repo, 'rev-list', '--parents', `main..${integration}`).split('\n');
      expect(parents).toHaveLength(2);
      for (const line of parents) expect(line.split(' ')).toHaveLength(2);
      expect(g(repo, 'log', '-1', '--format=%s', one.merge)).toBe('one: first file (squashed)');
      expect(g(repo, 'show', `${integration}:one.txt`)).toBe('1\nmore');
      // The task's head is not an ancestor of the integration branch, yet it counts as merged.
      const ancestor = await import('node:child_process').then(
        ({ spawnSync }) =>
          spawnSync('git', ['merge-base', '--is-ancestor', one.head, integration], { cwd: repo })
            .status,
      );
      expect(ancestor).toBe(1);
      expect(batonBranches(repo)).toEqual([integration]);
      expect(fingerprint(repo)).toBe(before);
    },
    TIMEOUT,
  );

  it(
    'by_epic: an epic shares one worktree, its tasks one at a time; merge.into fast-forwards main when it is checked out clean',
    async () => {
      const { repo, plan } = setup();
      const file = plan(`name: epics
repo: repo
worktrees: { strategy: by_epic, merge: { into: main } }
tasks:
  - key: e1
    epic: backend
${sh('pwd > e1-pwd.txt; echo e1 > e1.txt')}
  - key: e2
    epic: backend
${sh('pwd > e2-pwd.txt; cat e1.txt > e2.txt')}
  - key: f1
    epic: "front end"
${sh('echo f1 > f1.txt')}
`);
      const mainBefore = g(repo, 'rev-parse', 'main');
      const run = await runPlan(file);
      expect(run.code, run.stderr).toBe(0);
      const baton = await cli.open();
      const tasks = await runTasks(baton, run.runId);
      const e1 = workspaceOf(tasks.get('e1'));
      const e2 = workspaceOf(tasks.get('e2'));
      const f1 = workspaceOf(tasks.get('f1'));
      expect(e2.branch).toBe(e1.branch);
      expect(e1.branch).toMatch(/\/epic-backend$/);
      expect(f1.branch).toMatch(/\/epic-front-end$/);
      expect(e2.reused).toBe(true);
      const integration = e1.integrationBranch;
      expect(g(repo, 'show', `${integration}:e2-pwd.txt`)).toBe(
        g(repo, 'show', `${integration}:e1-pwd.txt`),
      );
      expect(g(repo, 'show', `${integration}:e2.txt`)).toBe('e1');
      // The plan asked for main: fast-forwarded, in the clean checkout, by git itself.
      expect(g(repo, 'rev-parse', 'main')).toBe(g(repo, 'rev-parse', integration));
      expect(g(repo, 'rev-parse', 'main')).not.toBe(mainBefore);
      expect(readFileSync(join(repo, 'f1.txt'), 'utf8')).toBe('f1\n');
      expect(g(repo, 'status', '--porcelain')).toBe('');
      // Epic worktrees go at the end of the run.
      expect(batonWorktrees(repo)).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    "the config file's repo and parallel.strategy serve a plan that sets neither; the plan's own win",
    async () => {
      const { repo, plan } = setup();
      const file = plan(`name: configured
worktrees: {}
tasks:
  - key: e1
    epic: backend
${sh('echo e1 > e1.txt')}
  - key: e2
    epic: backend
${sh('cat e1.txt > e2.txt')}
`);
      // Relative to the config file's folder, as the plan's repo: is to the plan's.
      const config = join(dirname(file), 'baton.config.yaml');
      writeFileSync(config, 'repo: repo\nparallel: { strategy: by_epic }\n');
      const run = await runPlan(file, ['--config', config]);
      expect(run.code, run.stderr).toBe(0);
      const baton = await cli.open();
      const tasks = await runTasks(baton, run.runId);
      const e1 = workspaceOf(tasks.get('e1'));
      // by_epic from the file: one worktree, e2 after e1 in it, in the file's repository.
      expect(workspaceOf(tasks.get('e2')).branch).toBe(e1.branch);
      expect(e1.branch).toMatch(/\/epic-backend$/);
      expect(g(repo, 'show', `${e1.integrationBranch}:e2.txt`)).toBe('e1');
      // The plan's own strategy wins over the file's.
      const own = plan(`name: own
worktrees: { strategy: by_task }
tasks:
  - key: t1
    epic: backend
${sh('echo t1 > t1.txt')}
`);
      const second = await runPlan(own, ['--config', config]);
      expect(second.code, second.stderr).toBe(0);
      const t1 = workspaceOf((await runTasks(baton, second.runId)).get('t1'));
      expect(t1.branch).toMatch(/\/t1$/);
    },
    TIMEOUT,
  );

  it(
    'baton merge says what a non-fast-forward would do, changes nothing, and merges with --yes',
    async () => {
      const { repo, plan } = setup();
      g(repo, 'branch', 'release');
      const file = plan(`name: later
repo: repo
tasks:
  - key: feature
${sh('echo feature > feature.txt')}
`);
      const run = await runPlan(file);
      expect(run.code, run.stderr).toBe(0);
      // release moves on meanwhile (not checked out anywhere).
      g(repo, 'checkout', '-q', 'release');
      writeFileSync(join(repo, 'hotfix.txt'), 'fix\n');
      g(repo, 'add', 'hotfix.txt');
      g(repo, 'commit', '-q', '-m', 'hotfix');
      g(repo, 'checkout', '-q', 'main');
      const releaseBefore = g(repo, 'rev-parse', 'release');
      const before = fingerprint(repo);

      const asked = await cli.run(['merge', run.runId, '--into', 'release', '--store', cli.store]);
      expect(asked.code).toBe(1);
      expect(asked.stderr).toContain('cannot fast-forward');
      expect(asked.stderr).toContain('--yes');
      expect(g(repo, 'rev-parse', 'release')).toBe(releaseBefore);

      const merged = await cli.run([
        'merge',
        run.runId,
        '--into',
        'release',
        '--yes',
        '--store',
        cli.store,
      ]);
      expect(merged.code, merged.stderr).toBe(0);
      const tip = g(repo, 'rev-parse', 'release');
      expect(g(repo, 'rev-list', '--parents', '-n', '1', tip).split(' ')).toHaveLength(3);
      expect(g(repo, 'show', 'release:feature.txt')).toBe('feature');
      expect(g(repo, 'show', 'release:hotfix.txt')).toBe('fix');
      // main was not asked for and the checkout (on main) is untouched.
      expect(fingerprint(repo).replace(/refs\/heads\/release \S+/, '')).toBe(
        before.replace(/refs\/heads\/release \S+/, ''),
      );
    },
    TIMEOUT,
  );

  describe('bad input gets a clear error and changes nothing', () => {
    async function refused(
      planText: string,
      pattern: RegExp,
      prepare?: (repo: string) => void,
    ): Promise<void> {
      const { repo, plan } = setup({ 'a.txt': 'a\n' });
      prepare?.(repo);
      const before = fingerprint(repo);
      const exclude = readFileSync(join(repo, '.git', 'info', 'exclude'), 'utf8');
      const file = plan(planText);
      const result = await cli.run(['run', file, '--store', cli.store]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(pattern);
      expect(fingerprint(repo)).toBe(before);
      expect(batonBranches(repo)).toEqual([]);
      expect(readFileSync(join(repo, '.git', 'info', 'exclude'), 'utf8')).toBe(exclude);
      const baton = await cli.open();
      expect((await baton.runs()).runs).toEqual([]);
    }

    it(
      'a path that is not a repository',
      async () => {
        await refused(
          `name: x\nrepo: elsewhere\ntasks:\n  - key: t\n${sh('true')}\n`,
          /repo: .*elsewhere is not a directory/,
        );
        await refused(
          `name: x\nrepo: .\ntasks:\n  - key: t\n${sh('true')}\n`,
          /is not inside a git repository.*git init/,
        );
      },
      TIMEOUT,
    );

    it(
      'a missing base branch names the branches there',
      async () => {
        await refused(
          `name: x\nrepo: repo\nworktrees: { base: develop }\ntasks:\n  - key: t\n${sh('true')}\n`,
          /base branch 'develop' does not exist in .*; branches there: main/,
        );
      },
      TIMEOUT,
    );

    it(
      'a base branch in the middle of a merge',
      async () => {
        await refused(
          `name: x\nrepo: repo\ntasks:\n  - key: t\n${sh('true')}\n`,
          /base branch 'main' has unresolved conflicts in a.txt in .*; finish or abort it/,
          (repo) => {
            g(repo, 'checkout', '-q', '-b', 'other');
            writeFileSync(join(repo, 'a.txt'), 'other\n');
            g(repo, 'commit', '-q', '-am', 'other');
            g(repo, 'checkout', '-q', 'main');
            writeFileSync(join(repo, 'a.txt'), 'main\n');
            g(repo, 'commit', '-q', '-am', 'main');
            try {
              g(repo, 'merge', 'other');
            } catch {
              // the conflict is the point
            }
          },
        );
      },
      TIMEOUT,
    );

    it(
      'keys that make the same branch name, and an epic that makes none',
      async () => {
        await refused(
          `name: x\nrepo: repo\ntasks:\n  - key: "a:b"\n${sh('true')}\n  - key: a-b\n${sh('true')}\n`,
          /task keys 'a:b' and 'a-b' make the same branch name 'a-b'; rename one/,
        );
        await refused(
          `name: x\nrepo: repo\nworktrees: { strategy: by_epic }\ntasks:\n  - key: t\n    epic: "../.."\n${sh('true')}\n`,
          /epic of task 't' '..\/..' cannot name a git branch/,
        );
      },
      TIMEOUT,
    );
  });
});
