/**
 * Coding agents in worktrees, end to end: the real `baton run` on real git repositories in temp
 * directories, `executor: agent, kind: claude` tasks run by the fake `claude`
 * (test/helpers/fake-claude.mjs, named by baton.config.yaml) that edits files, checks files
 * (`fake: need-file`) and resolves conflict markers (`fake: on-conflict union`). Each session writes
 * its cwd and prompt to $FAKE_AGENT_RECORD_DIR. Each test checks that the user's checkout is
 * byte-for-byte what it was.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { CostReport } from '../../src/core/ledger.ts';
import type { TaskRecord } from '../../src/core/types.ts';
import { useCli } from '../helpers/cli.ts';
import { batonBranches, batonWorktrees, fingerprint, g, makeRepo } from './repo.ts';

const TIMEOUT = 120_000;
const FAKE_CLAUDE = resolve(import.meta.dirname, '../helpers/fake-claude.mjs');
/** What one fake session costs: 1000 in and 500 out on claude-sonnet-4-5 ($3 / $15 per M). */
const SESSION_USD = 0.0105;

interface Session {
  cwd: string;
  prompt: string;
  argv: string[];
  env: Record<string, string>;
}

interface WorkspaceRecord {
  integrationBranch: string;
  base: string;
  head: string;
  merge: string;
  resolvedBy?: string;
}

/** An agent task of the plan: `lines` are its description (fake directives). */
function agent(key: string, lines: string[], dependsOn: string[] = []): string {
  return [
    `  - key: ${key}`,
    '    executor: agent',
    '    kind: claude',
    `    title: Task ${key}`,
    '    description: |',
    ...lines.map((l) => `      ${l}`),
    ...(dependsOn.length > 0 ? [`    dependsOn: [${dependsOn.join(', ')}]`] : []),
  ].join('\n');
}

function workspaceOf(task: TaskRecord | undefined): WorkspaceRecord {
  const result = task?.result as { workspace?: WorkspaceRecord } | null | undefined;
  expect(result?.workspace, `no workspace record on ${task?.key}`).toBeDefined();
  return result!.workspace!;
}

describe('coding agents in worktrees', () => {
  const cli = useCli();

  function setup(files: Record<string, string>): { repo: string; records: string } {
    const repo = makeRepo(join(cli.dir, 'repo'), files);
    writeFileSync(
      join(cli.dir, 'baton.config.yaml'),
      `agents:\n  claude: { path: ${JSON.stringify(FAKE_CLAUDE)} }\n  maxBudgetUsd: 0.5\n`,
    );
    return { repo, records: join(cli.dir, 'sessions') };
  }

  function sessions(records: string): Session[] {
    return readdirSync(records).map(
      (f) => JSON.parse(readFileSync(join(records, f), 'utf8')) as Session,
    );
  }

  async function run(
    plan: string,
    records: string,
  ): Promise<{ code: number | null; stderr: string; runId: string }> {
    writeFileSync(join(cli.dir, 'plan.yaml'), plan);
    const result = await cli.run(['run', 'plan.yaml', '--store', cli.store, '--json'], {
      env: { FAKE_AGENT_RECORD_DIR: records },
    });
    const summary =
      result.stdout.trim() === '' ? {} : (JSON.parse(result.stdout) as { runId?: string });
    return { code: result.code, stderr: result.stderr, runId: summary.runId ?? '' };
  }

  async function tasksOf(runId: string): Promise<Map<string, TaskRecord>> {
    const baton = await cli.open();
    const page = await baton.tasks({ runId, limit: 100 });
    return new Map(page.tasks.map((t) => [t.key ?? t.id, t]));
  }

  async function costs(runId: string): Promise<CostReport> {
    const result = await cli.run(['costs', runId, '--store', cli.store, '--json']);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as CostReport;
  }

  it(
    "three agents in a DAG merge in dependency order, each in its worktree, seeing its dependencies' files; the ledger has their costs",
    async () => {
      const { repo, records } = setup({ 'README.md': '# p\n', 'notes.txt': 'mine\n' });
      writeFileSync(join(repo, 'notes.txt'), 'uncommitted edit\n');
      writeFileSync(join(repo, 'scratch.txt'), 'untracked\n');
      const before = fingerprint(repo);
      const result = await run(
        [
          'name: agents',
          'repo: repo',
          'tasks:',
          agent('schema', ['fake: write db/schema.txt table users']),
          agent(
            'api',
            ['fake: need-file db/schema.txt table users', 'fake: write api.txt GET /users'],
            ['schema'],
          ),
          agent(
            'ui',
            [
              'fake: need-file db/schema.txt table users',
              'fake: need-file api.txt GET /users',
              'fake: need-file notes.txt mine',
              'fake: write ui.txt page users',
            ],
            ['api'],
          ),
          '',
        ].join('\n'),
        records,
      );
      expect(result.code, result.stderr).toBe(0);

      const tasks = await tasksOf(result.runId);
      expect([...tasks.values()].map((t) => [t.key, t.state, t.attempts])).toEqual(
        expect.arrayContaining([
          ['schema', 'succeeded', 1],
          ['api', 'succeeded', 1],
          ['ui', 'succeeded', 1],
        ]),
      );
      const [schema, api, ui] = ['schema', 'api', 'ui'].map((k) => workspaceOf(tasks.get(k)));
      expect(api!.base).toBe(schema!.merge);
      expect(ui!.base).toBe(api!.merge);
      const integration = schema!.integrationBranch;
      const subjects = g(repo, 'log', '--first-parent', '--format=%s', integration).split('\n');
      expect(subjects.slice(0, 3)).toEqual([
        expect.stringContaining('(task ui)'),
        expect.stringContaining('(task api)'),
        expect.stringContaining('(task schema)'),
      ]);
      expect(g(repo, 'show', `${integration}:ui.txt`)).toBe('page users');
      expect(g(repo, 'show', `${integration}:db/schema.txt`)).toBe('table users');

      // Each session ran in its own worktree (not the checkout), with its task's prompt.
      const ran = sessions(records);
      expect(ran).toHaveLength(3);
      const worktrees = join(repo, '.baton', 'worktrees');
      for (const key of ['schema', 'api', 'ui']) {
        const session = ran.find((s) => s.prompt.includes(`# Task ${key}`));
        expect(session, `no session of ${key}`).toBeDefined();
        expect(session!.cwd.startsWith(`${worktrees}/agents-`)).toBe(true);
        expect(session!.cwd.endsWith(`/${key}`)).toBe(true);
        expect(session!.env['BATON_TASK_ID']).toBe(tasks.get(key)!.id);
      }

      // The agents' provider-reported costs are in the ledger, for the run.
      const report = await costs(result.runId);
      expect(report.runId).toBe(result.runId);
      expect(report.total.calls).toBe(3);
      expect(report.total.costUsd).toBeCloseTo(3 * SESSION_USD, 10);
      expect(report.total.inputTokens).toBe(3000);
      expect(report.total.outputTokens).toBe(1500);

      expect(batonWorktrees(repo)).toEqual([]);
      expect(fingerprint(repo)).toBe(before);
    },
    TIMEOUT,
  );

  it(
    'an agent CLI that is not found fails its task at once, naming the path and the setting; nothing merges',
    async () => {
      const { repo, records } = setup({ 'README.md': '# p\n' });
      writeFileSync(
        join(cli.dir, 'baton.config.yaml'),
        `agents:\n  claude: { path: ${JSON.stringify(join(cli.dir, 'no-such-claude'))} }\n`,
      );
      const before = fingerprint(repo);
      const result = await run(
        ['name: missing', 'repo: repo', 'tasks:', agent('only', ['fake: write x.txt x']), ''].join(
          '\n',
        ),
        records,
      );
      expect(result.code).toBe(1);
      const task = (await tasksOf(result.runId)).get('only');
      expect(task?.state).toBe('failed');
      expect(task?.attempts).toBe(1);
      expect(task?.error?.message).toContain(`'${join(cli.dir, 'no-such-claude')}' was not found`);
      expect(task?.error?.message).toContain('agents.claude.path in baton.config.yaml');
      // The integration branch is where it was cut: nothing merged.
      const integration = batonBranches(repo).find((b) => /^baton\/missing-[a-z0-9]{8}$/.test(b));
      expect(integration).toBeDefined();
      expect(g(repo, 'rev-parse', `refs/heads/${integration}`)).toBe(g(repo, 'rev-parse', 'main'));
      expect(fingerprint(repo)).toBe(before);
    },
    TIMEOUT,
  );

  it(
    'two agents editing the same line conflict; an agent resolve-conflict task gets the files and both diffs, resolves it, and the merge lands',
    async () => {
      const { repo, records } = setup({ 'a.txt': 'base\n' });
      writeFileSync(join(repo, 'scratch.txt'), 'untracked\n');
      const before = fingerprint(repo);
      const result = await run(
        [
          'name: clash',
          'repo: repo',
          // A shell tasks' resolver command: agent tasks' resolvers are agents all the same.
          'worktrees:',
          '  resolver: { command: sh, args: [-c, "exit 7"] }',
          'tasks:',
          agent('base', ['fake: write b.txt base']),
          // Their descriptions name their dependency, which their resolver does not have.
          agent(
            'left',
            [
              'fake: write a.txt left',
              'fake: on-conflict union a.txt',
              'After {{ deps.base.state }}',
            ],
            ['base'],
          ),
          agent(
            'right',
            [
              'fake: write a.txt right',
              'fake: on-conflict union a.txt',
              'After {{ deps.base.state }}',
            ],
            ['base'],
          ),
          agent(
            'after',
            [
              'fake: need-file a.txt left',
              'fake: need-file a.txt right',
              'fake: write seen.txt both',
            ],
            ['left', 'right'],
          ),
          '',
        ].join('\n'),
        records,
      );
      expect(result.code, result.stderr).toBe(0);

      const tasks = await tasksOf(result.runId);
      const resolver = [...tasks.values()].find((t) => t.key?.startsWith('resolve-conflict.'));
      expect(resolver?.state).toBe('succeeded');
      expect(resolver!.type).toBe('agent');
      expect(resolver!.payload).toMatchObject({ kind: 'claude' });
      const loser = resolver!.key!.slice('resolve-conflict.'.length);
      const winner = loser === 'left' ? 'right' : 'left';
      expect(workspaceOf(tasks.get(loser)).resolvedBy).toBe(resolver!.key);
      expect(tasks.get('after')?.state).toBe('succeeded');

      // The resolver's session: in its worktree, with the file and both sides' diffs.
      const ran = sessions(records);
      const resolving = ran.filter((s) => s.prompt.startsWith('# Resolve the merge conflict'));
      expect(resolving).toHaveLength(1);
      const { prompt, cwd } = resolving[0]!;
      expect(cwd.startsWith(join(repo, '.baton', 'worktrees', 'clash-'))).toBe(true);
      expect(cwd).toContain('resolve-conflict');
      expect(prompt).toContain(`# Resolve the merge conflict of ${loser}`);
      expect(prompt).toMatch(/## Conflicting files\n\n- a\.txt\n/);
      expect(prompt).toContain(`-base\n+${winner}`); // the integration branch's side
      expect(prompt).toContain(`-base\n+${loser}`); // the task's own side
      expect(prompt).toContain(`## What ${loser} was asked to do`);
      expect(prompt).toContain('After {{ deps.base.state }}');
      const own = ran.find((s) => s.prompt.includes(`# Task ${loser}`));
      expect(own?.prompt).toContain('After succeeded');

      // The resolution holds both sides, and is what the dependent saw.
      const integration = workspaceOf(tasks.get(loser)).integrationBranch;
      const merged = g(repo, 'show', `${integration}:a.txt`).split('\n').sort();
      expect(merged).toEqual(['left', 'right']);
      expect(g(repo, 'show', `${integration}:seen.txt`)).toBe('both');

      // Five sessions (base, left, right, the resolver, after), each at its reported cost.
      expect(ran).toHaveLength(5);
      const report = await costs(result.runId);
      expect(report.total.calls).toBe(5);
      expect(report.total.costUsd).toBeCloseTo(5 * SESSION_USD, 10);

      expect(batonWorktrees(repo)).toEqual([]);
      expect(fingerprint(repo)).toBe(before);
    },
    TIMEOUT,
  );

  it(
    'conflict: fail fails the second agent to merge, naming the file; no resolver runs',
    async () => {
      const { repo, records } = setup({ 'a.txt': 'base\n' });
      const before = fingerprint(repo);
      const result = await run(
        [
          'name: strict',
          'repo: repo',
          'worktrees: { conflict: fail }',
          'tasks:',
          agent('left', ['fake: write a.txt left', 'fake: on-conflict union a.txt']),
          agent('right', ['fake: write a.txt right', 'fake: on-conflict union a.txt']),
          '',
        ].join('\n'),
        records,
      );
      expect(result.code).toBe(1);
      const tasks = await tasksOf(result.runId);
      const failed = [...tasks.values()].filter((t) => t.state === 'failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]!.error?.code).toBe('BATON_MERGE_CONFLICT');
      expect(failed[0]!.error?.message).toContain('conflict in a.txt');
      expect([...tasks.keys()].some((k) => k.startsWith('resolve-conflict.'))).toBe(false);
      expect(sessions(records)).toHaveLength(2);
      // The failed agent's work stays committed in its worktree, for inspection.
      const kept = batonWorktrees(repo);
      expect(kept).toHaveLength(1);
      expect(readFileSync(join(kept[0]!, 'a.txt'), 'utf8')).toBe(`${failed[0]!.key}\n`);
      expect(fingerprint(repo)).toBe(before);
    },
    TIMEOUT,
  );
});
