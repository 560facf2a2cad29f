/**
 * Worktrees when things die: a `baton worker` SIGKILLed mid-task (its task's processes go with it;
 * the retry on another worker reuses the worktree reset to what the first attempt committed, and
 * the task is merged once); an attempt that dies after its merge (the next one finds the merge
 * record and neither runs the task again nor merges twice); many merges racing for one
 * integration branch (the compare-and-swap loses none).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { parsePlan } from '../../src/runtime/plan.ts';
import { withWorkspace, type WorkspaceTaskContext } from '../../src/workspace/handler.ts';
import { mergeIntoIntegration, mergeOnce } from '../../src/workspace/merge.ts';
import { prepareWorkspaceRun } from '../../src/workspace/prepare.ts';
import { useCli } from '../helpers/cli.ts';
import { isLive, pollFor, processInfo } from '../helpers/proc.ts';
import { useHarness } from '../runtime/harness.ts';
import { batonWorktrees, fingerprint, g, makeRepo } from './repo.ts';

const TIMEOUT = 120_000;
const WORKER_FLAGS = ['--concurrency', '1', '--heartbeat', '200ms', '--agent-ttl', '1500ms'];

describe('a baton worker SIGKILLed mid-task', () => {
  const cli = useCli();

  it(
    'the retry reuses the worktree at its last commit, the task is merged once, and its processes are gone',
    async () => {
      const repo = makeRepo(join(cli.dir, 'repo'));
      const gate = join(cli.dir, 'gate');
      mkdirSync(gate);
      const before = fingerprint(repo);
      const script = [
        '[ -e partial.txt ] && echo leftover > leftover-seen.txt',
        '[ -e committed.txt ] && cp committed.txt committed-seen.txt',
        'echo "$PWD" >> "$GATE/pwds"',
        'if [ ! -e "$GATE/first" ]; then',
        '  touch "$GATE/first"; echo one > committed.txt; git add committed.txt',
        '  git -c user.name=agent -c user.email=agent@example.com commit -qm wip',
        '  echo partial > partial.txt; echo $$ > "$GATE/pid.tmp"; mv "$GATE/pid.tmp" "$GATE/pid"; sleep 60',
        'fi',
        'echo done > done.txt',
      ].join('\n');
      const plan = join(cli.dir, 'plan.yaml');
      writeFileSync(
        plan,
        `name: crash\nrepo: repo\ntasks:\n  - key: work\n    command: sh\n    args: [-c, ${JSON.stringify(script)}]\n    env: { GATE: ${JSON.stringify(gate)} }\n`,
      );
      const submitted = await cli.run(['submit', plan, '--store', cli.store, '--json']);
      expect(submitted.code, submitted.stderr).toBe(0);
      const { runId } = JSON.parse(submitted.stdout) as { runId: string };

      const victim = cli.start([
        'worker',
        '--store',
        cli.store,
        '--agent-id',
        'agt_victim',
        ...WORKER_FLAGS,
      ]);
      const pidText = await pollFor(() => {
        try {
          return readFileSync(join(gate, 'pid'), 'utf8').trim();
        } catch {
          return undefined;
        }
      }, 60_000);
      expect(pidText, victim.stderr).toBeDefined();
      const taskPid = Number(pidText);
      victim.child.kill('SIGKILL');
      expect((await victim.exited).signal).toBe('SIGKILL');
      // The task's processes die with their worker.
      const gone = await pollFor(() => (isLive(processInfo(taskPid)) ? undefined : true), 20_000);
      expect(gone).toBe(true);

      const survivor = cli.start([
        'worker',
        '--store',
        cli.store,
        '--agent-id',
        'agt_survivor',
        ...WORKER_FLAGS,
      ]);
      const baton = await cli.open();
      const run = await baton.wait(runId, { timeoutMs: 60_000 });
      expect(run.state).toBe('succeeded');
      survivor.child.kill('SIGTERM');
      await survivor.exited;

      const [task] = (await baton.tasks({ runId })).tasks;
      const record = (task!.result as { workspace: { integrationBranch: string; reused: boolean } })
        .workspace;
      expect(record.reused).toBe(true);
      expect(task!.attempts).toBe(2);
      // The same worktree both times; the retry saw the committed file, not the uncommitted one.
      const pwds = readFileSync(join(gate, 'pwds'), 'utf8').trim().split('\n');
      expect(pwds).toHaveLength(2);
      expect(pwds[1]).toBe(pwds[0]);
      const integration = record.integrationBranch;
      expect(g(repo, 'show', `${integration}:committed-seen.txt`)).toBe('one');
      expect(g(repo, 'show', `${integration}:done.txt`)).toBe('done');
      expect(g(repo, 'ls-tree', '--name-only', integration)).not.toContain('leftover-seen.txt');
      // Merged once.
      const merges = g(
        repo,
        'log',
        '--format=%H',
        `--grep=Baton-Task: ${task!.id}`,
        '--merges',
        integration,
      );
      expect(merges.split('\n').filter((l) => l !== '')).toHaveLength(1);
      expect(batonWorktrees(repo)).toEqual([]);
      expect(fingerprint(repo)).toBe(before);
    },
    TIMEOUT,
  );
});

describe('an attempt that dies after its merge', () => {
  const h = useHarness();

  it(
    'the next attempt reads the merge record: the task is not run again and not merged twice',
    async () => {
      const repo = makeRepo(join(h.dir, 'repo'));
      const file = join(h.dir, 'plan.yaml');
      const plan = parsePlan(
        'name: once\nrepo: repo\ntasks:\n  - key: edit\n    executor: edit\n    payload: { text: hello }\n    maxAttempts: 3\n    backoff: { baseMs: 10, maxMs: 10 }\n',
        file,
      );
      const prepared = await prepareWorkspaceRun(plan, h.dir);
      const baton = await h.baton();
      const submitted = await baton.submitRun(prepared!.run);
      let runs = 0;
      const inner = withWorkspace((ctx: WorkspaceTaskContext) => {
        runs++;
        const cwd = (ctx.payload as { cwd: string }).cwd;
        expect(cwd).toBe(ctx.workspace?.path);
        writeFileSync(join(cwd, 'hello.txt'), `${(ctx.payload as { text: string }).text}\n`);
        return { wrote: 'hello.txt' };
      });
      const worker = await h.startWorker(baton, {
        concurrency: 1,
        handlers: {
          // The first attempt dies between its merge and its completion.
          edit: async (ctx) => {
            const result = await inner(ctx);
            if (ctx.attempt === 1) throw new Error('died after the merge');
            return result;
          },
        },
      });
      const run = await baton.wait(submitted.runId, { timeoutMs: 30_000 });
      await worker.stop();
      expect(run.state).toBe('succeeded');
      expect(runs).toBe(1);
      const task = await baton.get(submitted.tasks[0]!.id);
      expect(task?.attempts).toBe(2);
      const record = (
        task!.result as {
          workspace: { recovered?: boolean; merge: string; integrationBranch: string };
        }
      ).workspace;
      expect(record.recovered).toBe(true);
      expect(g(repo, 'rev-parse', record.integrationBranch)).toBe(record.merge);
      expect(g(repo, 'rev-list', '--count', '--merges', `main..${record.integrationBranch}`)).toBe(
        '1',
      );
      expect(g(repo, 'show', `${record.integrationBranch}:hello.txt`)).toBe('hello');
    },
    TIMEOUT,
  );
});

describe('merges racing for one integration branch', () => {
  const h = useHarness();

  it('each one lands exactly once (compare-and-swap, retried on a lost race)', async () => {
    const repo = makeRepo(join(h.dir, 'repo'));
    const base = g(repo, 'rev-parse', 'HEAD');
    g(repo, 'update-ref', 'refs/heads/baton/race-00000000', base);
    const heads: string[] = [];
    for (let i = 0; i < 12; i++) {
      g(repo, 'checkout', '-q', '-b', `b${i}`, base);
      writeFileSync(join(repo, `f${i}.txt`), `${i}\n`);
      g(repo, 'add', `f${i}.txt`);
      g(repo, 'commit', '-q', '-m', `f${i}`);
      heads.push(g(repo, 'rev-parse', 'HEAD'));
    }
    g(repo, 'checkout', '-q', 'main');
    // As merges from twelve processes would: without taking turns, so the CAS decides.
    const outcomes = await Promise.all(
      heads.map((head, i) =>
        mergeOnce({
          repo,
          integrationRef: 'refs/heads/baton/race-00000000',
          head,
          mode: 'merge',
          records: [`refs/baton/race-00000000/b${i}/merged`],
          message: `merge b${i}\n`,
        }),
      ),
    );
    expect(outcomes.every((o) => o.status === 'merged')).toBe(true);
    // Some lost a race and merged again onto the new tip.
    expect(outcomes.some((o) => o.status === 'merged' && o.retries > 0)).toBe(true);
    const tip = g(repo, 'rev-parse', 'baton/race-00000000');
    expect(g(repo, 'rev-list', '--count', '--first-parent', `${base}..${tip}`)).toBe('12');
    for (let i = 0; i < 12; i++) expect(g(repo, 'show', `${tip}:f${i}.txt`)).toBe(String(i));
    // Asking again merges nothing: the records say they are in.
    const again = await mergeIntoIntegration({
      repo,
      integrationRef: 'refs/heads/baton/race-00000000',
      head: heads[0]!,
      mode: 'merge',
      records: ['refs/baton/race-00000000/b0/merged'],
      message: 'merge b0\n',
    });
    expect(again).toMatchObject({ status: 'merged', already: true });
    expect(g(repo, 'rev-parse', 'baton/race-00000000')).toBe(tip);
  });
});

describe('a tip this process guessed, moved by another', () => {
  const h = useHarness();

  it('costs one lost round, and loses nothing', async () => {
    const repo = makeRepo(join(h.dir, 'repo'));
    const base = g(repo, 'rev-parse', 'HEAD');
    const ref = 'refs/heads/baton/guess-00000000';
    g(repo, 'update-ref', ref, base);
    const branch = (name: string): string => {
      g(repo, 'checkout', '-q', '-b', name, base);
      writeFileSync(join(repo, `${name}.txt`), `${name}\n`);
      g(repo, 'add', `${name}.txt`);
      g(repo, 'commit', '-q', '-m', name);
      const head = g(repo, 'rev-parse', 'HEAD');
      g(repo, 'checkout', '-q', 'main');
      return head;
    };
    const request = (name: string, head: string) => ({
      repo,
      integrationRef: ref,
      head,
      mode: 'merge' as const,
      records: [`refs/baton/guess-00000000/${name}/merged`],
      message: `merge ${name}\n`,
    });
    const first = await mergeIntoIntegration(request('one', branch('one')));
    expect(first).toMatchObject({ status: 'merged', retries: 0 });
    // Another process moves the branch on: this process's guess of the tip is now stale.
    const outside = branch('outside');
    const current = g(repo, 'rev-parse', ref);
    const tree = g(repo, 'merge-tree', '--write-tree', current, outside);
    g(
      repo,
      'update-ref',
      ref,
      g(repo, 'commit-tree', tree, '-p', current, '-p', outside, '-m', 'outside'),
    );
    const moved = g(repo, 'rev-parse', ref);
    const second = await mergeIntoIntegration(request('two', branch('two')));
    expect(second).toMatchObject({ status: 'merged', onto: moved, retries: 1 });
    const tip = g(repo, 'rev-parse', ref);
    expect(g(repo, 'show', `${tip}:outside.txt`)).toBe('outside');
    expect(g(repo, 'show', `${tip}:one.txt`)).toBe('one');
    expect(g(repo, 'show', `${tip}:two.txt`)).toBe('two');
  });
});
