/**
 * Coding agents in worktrees when things die, and Codex through worktrees: a `baton worker`
 * SIGKILLed while its fake `claude` hangs (the session dies with it; the retry on a second worker
 * runs in the same worktree and the task is merged once), and an `executor: agent, kind: codex`
 * task run by the fake `codex` (test/helpers/fake-codex.mjs) whose edit merges onto the
 * integration branch and whose tokens are priced from the table. Each test checks that the user's
 * checkout is byte-for-byte what it was.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { CostReport } from '../../src/core/ledger.ts';
import type { TaskRecord } from '../../src/core/types.ts';
import { Prices } from '../../src/runtime/prices.ts';
import { useCli } from '../helpers/cli.ts';
import { isLive, pollFor, processInfo } from '../helpers/proc.ts';
import { batonWorktrees, fingerprint, g, makeRepo } from './repo.ts';

const TIMEOUT = 120_000;
const FAKE_CLAUDE = resolve(import.meta.dirname, '../helpers/fake-claude.mjs');
const FAKE_CODEX = resolve(import.meta.dirname, '../helpers/fake-codex.mjs');
const WORKER_FLAGS = ['--concurrency', '1', '--heartbeat', '200ms', '--agent-ttl', '1500ms'];

interface Session {
  pid: number;
  cwd: string;
  prompt: string;
  argv: string[];
}

interface WorkspaceRecord {
  integrationBranch: string;
  merge: string;
  reused?: boolean;
}

function workspaceOf(task: TaskRecord | undefined): WorkspaceRecord {
  const result = task?.result as { workspace?: WorkspaceRecord } | null | undefined;
  expect(result?.workspace, `no workspace record on ${task?.key}`).toBeDefined();
  return result!.workspace!;
}

describe('coding agents in worktrees, when things die', () => {
  const cli = useCli();

  function setup(files: Record<string, string>): { repo: string; records: string } {
    const repo = makeRepo(join(cli.dir, 'repo'), files);
    writeFileSync(
      join(cli.dir, 'baton.config.yaml'),
      [
        'agents:',
        `  claude: { path: ${JSON.stringify(FAKE_CLAUDE)} }`,
        `  codex: { path: ${JSON.stringify(FAKE_CODEX)} }`,
        '  maxBudgetUsd: 0.5',
        '',
      ].join('\n'),
    );
    return { repo, records: join(cli.dir, 'sessions') };
  }

  /** The sessions recorded so far (one `<pid>.json` each), in no particular order. */
  function sessions(records: string): Session[] {
    let files: string[];
    try {
      files = readdirSync(records);
    } catch {
      return [];
    }
    return files.map((f) => ({
      ...(JSON.parse(readFileSync(join(records, f), 'utf8')) as Omit<Session, 'pid'>),
      pid: Number(basename(f, '.json')),
    }));
  }

  async function tasksOf(runId: string): Promise<Map<string, TaskRecord>> {
    const baton = await cli.open();
    const page = await baton.tasks({ runId, limit: 100 });
    return new Map(page.tasks.map((t) => [t.key ?? t.id, t]));
  }

  it(
    'a worker SIGKILLed while its claude session hangs: the session dies with it, the retry runs in the same worktree, and the task merges once',
    async () => {
      const { repo, records } = setup({ 'README.md': '# p\n', 'notes.txt': 'mine\n' });
      writeFileSync(join(repo, 'notes.txt'), 'uncommitted edit\n');
      writeFileSync(join(repo, 'scratch.txt'), 'untracked\n');
      const before = fingerprint(repo);
      const marker = join(cli.dir, 'hung-once');
      writeFileSync(
        join(cli.dir, 'plan.yaml'),
        [
          'name: agentcrash',
          'repo: repo',
          'tasks:',
          '  - key: work',
          '    executor: agent',
          '    kind: claude',
          '    title: Task work',
          '    description: |',
          '      fake: write out.txt from the agent',
          `      fake: hang-once ${marker}`,
          '',
        ].join('\n'),
      );
      const submitted = await cli.run(['submit', 'plan.yaml', '--store', cli.store, '--json']);
      expect(submitted.code, submitted.stderr).toBe(0);
      const { runId } = JSON.parse(submitted.stdout) as { runId: string };
      const env = { FAKE_AGENT_RECORD_DIR: records };

      const victim = cli.start(
        ['worker', '--store', cli.store, '--agent-id', 'agt_victim', ...WORKER_FLAGS],
        { env },
      );
      // The first session has written its file (uncommitted) and hangs.
      const hung = await pollFor(() => {
        try {
          readFileSync(marker, 'utf8');
        } catch {
          return undefined;
        }
        const [first] = sessions(records);
        return first !== undefined && isLive(processInfo(first.pid)) ? first : undefined;
      }, 60_000);
      expect(hung, victim.stderr).toBeDefined();
      expect(readFileSync(join(hung!.cwd, 'out.txt'), 'utf8')).toBe('from the agent\n');
      victim.child.kill('SIGKILL');
      expect((await victim.exited).signal).toBe('SIGKILL');
      // The claude session dies with its worker.
      const gone = await pollFor(() => (isLive(processInfo(hung!.pid)) ? undefined : true), 20_000);
      expect(gone).toBe(true);

      const survivor = cli.start(
        ['worker', '--store', cli.store, '--agent-id', 'agt_survivor', ...WORKER_FLAGS],
        { env },
      );
      const baton = await cli.open();
      const run = await baton.wait(runId, { timeoutMs: 60_000 });
      survivor.child.kill('SIGTERM');
      await survivor.exited;
      expect(run.state, survivor.stderr).toBe('succeeded');

      const task = (await tasksOf(runId)).get('work');
      expect(task?.state).toBe('succeeded');
      expect(task?.attempts).toBe(2);
      const record = workspaceOf(task);
      expect(record.reused).toBe(true);
      // Two sessions, in the same worktree (not the checkout).
      const ran = sessions(records);
      expect(ran).toHaveLength(2);
      expect(ran[1]!.cwd).toBe(ran[0]!.cwd);
      expect(ran[0]!.cwd.startsWith(join(repo, '.baton', 'worktrees', 'agentcrash-'))).toBe(true);
      const integration = record.integrationBranch;
      expect(g(repo, 'show', `${integration}:out.txt`)).toBe('from the agent');
      // Merged exactly once.
      const merges = g(
        repo,
        'log',
        '--format=%H',
        `--grep=Baton-Task: ${task!.id}`,
        '--merges',
        integration,
      );
      expect(merges.split('\n').filter((l) => l !== '')).toEqual([record.merge]);
      expect(g(repo, 'rev-list', '--count', '--merges', `main..${integration}`)).toBe('1');
      expect(batonWorktrees(repo)).toEqual([]);
      expect(fingerprint(repo)).toBe(before);
    },
    TIMEOUT,
  );

  it(
    'codex in a worktree: its edit merges onto the integration branch, and baton costs shows its tokens priced from the table',
    async () => {
      const { repo, records } = setup({ 'README.md': '# p\n' });
      writeFileSync(join(repo, 'scratch.txt'), 'untracked\n');
      const before = fingerprint(repo);
      writeFileSync(
        join(cli.dir, 'plan.yaml'),
        [
          'name: codexrun',
          'repo: repo',
          'tasks:',
          '  - key: edit',
          '    executor: agent',
          '    kind: codex',
          '    title: Task edit',
          '    description: |',
          '      fake: write src/hello.txt hello from codex',
          '      fake: say All done',
          '',
        ].join('\n'),
      );
      const result = await cli.run(['run', 'plan.yaml', '--store', cli.store, '--json'], {
        env: { FAKE_AGENT_RECORD_DIR: records },
      });
      expect(result.code, result.stderr).toBe(0);
      const { runId } = JSON.parse(result.stdout) as { runId: string };

      const task = (await tasksOf(runId)).get('edit');
      expect(task?.state).toBe('succeeded');
      expect(task?.result).toMatchObject({ kind: 'codex', text: 'All done' });
      const record = workspaceOf(task);
      const integration = record.integrationBranch;
      expect(g(repo, 'show', `${integration}:src/hello.txt`)).toBe('hello from codex');
      expect(g(repo, 'rev-list', '--count', '--merges', `main..${integration}`)).toBe('1');
      expect(g(repo, 'rev-parse', integration)).toBe(record.merge);
      const ran = sessions(records);
      expect(ran).toHaveLength(1);
      expect(ran[0]!.argv).toEqual(['exec', '--json', '-']);
      expect(ran[0]!.cwd.startsWith(join(repo, '.baton', 'worktrees', 'codexrun-'))).toBe(true);

      // Codex reports tokens, no cost: the ledger prices them from the table.
      const usage = {
        provider: 'openai',
        model: 'gpt-5-codex',
        inputTokens: 1200,
        outputTokens: 300,
        cacheReadTokens: 200,
      };
      const expected = await new Prices().price(usage);
      expect(expected.costBasis).toBe('table');
      expect(expected.costUsd).toBeGreaterThan(0);
      const baton = await cli.open();
      const recorded = await baton.usage(task!.id);
      expect(recorded).toHaveLength(1);
      expect(recorded[0]).toMatchObject({ ...usage, costBasis: 'table' });
      expect(recorded[0]!.costUsd).toBeCloseTo(expected.costUsd, 10);

      const costs = await cli.run([
        'costs',
        runId,
        '--store',
        cli.store,
        '--json',
        '--by',
        'model',
      ]);
      expect(costs.code, costs.stderr).toBe(0);
      const report = JSON.parse(costs.stdout) as CostReport;
      expect(report.runId).toBe(runId);
      expect(report.total).toMatchObject({
        calls: 1,
        inputTokens: 1200,
        outputTokens: 300,
        cacheReadTokens: 200,
      });
      expect(report.total.costUsd).toBeCloseTo(expected.costUsd, 10);
      expect(report.groups.map((group) => [group.key, group.calls])).toEqual([
        ['openai:gpt-5-codex', 1],
      ]);

      expect(batonWorktrees(repo)).toEqual([]);
      expect(fingerprint(repo)).toBe(before);
    },
    TIMEOUT,
  );
});
