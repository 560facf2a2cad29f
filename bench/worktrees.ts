/**
 * Coding agents in worktrees: the makespan of a 24-task project (seed 004's epics × tasks, with
 * the dependencies a real one has) on a fake agent — a shell command that sleeps 1–3 s and writes
 * files — when Baton runs it on 1, 4 and 8 agents (each task in its own worktree, merged into
 * the integration branch the moment it succeeds, dependents released at once), against the
 * sum of the tasks run one after another, and against seed 004's own design: level-by-level
 * batches with a barrier (a level's tasks run in parallel, merged when the whole level is done,
 * then the next level starts), on 4 and 8 agents, built from the same worktree and merge code.
 * Also the time each merge takes (merge-tree + commit-tree + update-ref) and what a worktree
 * costs a task in all (create, commit, merge, remove). Prints one JSON object on stdout.
 *
 *   npx node bench/worktrees.ts [--agents 1,4,8] [--scale 1]
 *
 * `--scale 0.25` shortens every sleep to a quarter for a quick look. Every mode works on a fresh
 * repository (same initial commit) and, for Baton, a fresh SQLite store.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { shellHandler } from '../src/executors/shell.ts';
import { runShell } from '../src/executors/shell.ts';
import { Baton } from '../src/runtime/baton.ts';
import { parsePlan } from '../src/runtime/plan.ts';
import { withWorkspace, type PhaseTimings } from '../src/workspace/handler.ts';
import { mergeIntoIntegration } from '../src/workspace/merge.ts';
import { prepareWorkspaceRun } from '../src/workspace/prepare.ts';
import { commitAll, openWorktree, removeWorktree } from '../src/workspace/worktree.ts';
import { median, percentile, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1,4,8' },
    scale: { type: 'string', default: '1' },
  },
});
const AGENTS = values.agents.split(',').map(Number);
const SCALE = Number(values.scale);

const progress = (message: string): void => {
  process.stderr.write(`[bench:worktrees] ${message}\n`);
};

interface ProjectTask {
  key: string;
  epic: string;
  deps: string[];
  sleepS: number;
}

/**
 * 24 tasks in 5 epics, seed 004's shape: a scaffold every epic builds on, then the backend,
 * frontend and data epics side by side (each two or three tasks deep), and QA at the end that
 * needs what it tests; a release needs all the tests. Six levels deep.
 */
function project(): ProjectTask[] {
  const spec: [string, string, string[]][] = [
    ['scaffold', 'foundation', []],
    ['config', 'foundation', ['scaffold']],
    ['ci', 'foundation', ['scaffold']],
    ['schema', 'data', ['scaffold']],
    ['ui-shell', 'frontend', ['scaffold']],
    ['db-models', 'backend', ['schema']],
    ['auth-api', 'backend', ['config']],
    ['users-api', 'backend', ['db-models']],
    ['orders-api', 'backend', ['db-models']],
    ['payments-api', 'backend', ['config']],
    ['login-page', 'frontend', ['ui-shell']],
    ['users-page', 'frontend', ['ui-shell']],
    ['orders-page', 'frontend', ['ui-shell']],
    ['checkout-page', 'frontend', ['ui-shell']],
    ['ui-theme', 'frontend', ['ui-shell']],
    ['migrations', 'data', ['schema']],
    ['seed-data', 'data', ['schema']],
    ['etl', 'data', ['migrations']],
    ['reports', 'data', ['seed-data']],
    ['api-tests', 'qa', ['auth-api', 'users-api', 'orders-api', 'payments-api']],
    ['ui-tests', 'qa', ['login-page', 'users-page', 'orders-page', 'checkout-page', 'ui-theme']],
    ['data-tests', 'qa', ['etl', 'reports']],
    ['docs', 'qa', ['ci']],
    ['release', 'qa', ['api-tests', 'ui-tests', 'data-tests']],
  ];
  // 1–3 s, the same every run: a fixed linear congruential sequence.
  let seed = 4;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  return spec.map(([key, epic, deps]) => ({
    key,
    epic,
    deps,
    sleepS: round((1 + 2 * next()) * SCALE, 2),
  }));
}

/** The fake agent: think (sleep), then write the task's files, one of them reading a dependency's. */
function agentScript(task: ProjectTask): string {
  const reads = task.deps.map(
    (d) => `cat ${d.split('-')[0]}/${d}.txt >> ${task.epic}/${task.key}.deps 2>/dev/null || true`,
  );
  return [
    `sleep ${task.sleepS}`,
    `mkdir -p ${task.epic}`,
    `echo "${task.key}: done" > ${task.epic}/${task.key}.txt`,
    ...reads,
    `echo "- ${task.key}" > ${task.epic}/${task.key}.md`,
  ].join('; ');
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

function freshRepo(root: string): string {
  const repo = join(root, 'repo');
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), '# project\n');
  git(repo, 'add', '-A');
  git(repo, '-c', 'user.name=bench', '-c', 'user.email=bench@x', 'commit', '-q', '-m', 'initial');
  return repo;
}

function planText(tasks: ProjectTask[]): string {
  const lines = ['name: project', 'repo: repo', 'tasks:'];
  for (const t of tasks) {
    lines.push(
      `  - key: ${t.key}`,
      `    epic: ${t.epic}`,
      '    command: sh',
      `    args: [-c, ${JSON.stringify(agentScript(t))}]`,
    );
    if (t.deps.length > 0) lines.push(`    dependsOn: [${t.deps.join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

/** The DAG's longest path in seconds of sleep: no schedule can beat it. */
function criticalPathS(tasks: ProjectTask[]): number {
  const by = new Map(tasks.map((t) => [t.key, t]));
  const memo = new Map<string, number>();
  const finish = (key: string): number => {
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const t = by.get(key)!;
    const value = t.sleepS + Math.max(0, ...t.deps.map(finish));
    memo.set(key, value);
    return value;
  };
  return Math.max(...tasks.map((t) => finish(t.key)));
}

/**
 * The makespan of a perfect scheduler with no overhead at all: list scheduling on `agents`
 * agents, a ready task with the longest remaining path first (Baton's own tie-break), each task
 * taking exactly its sleep. What the DAG itself allows.
 */
function idealMakespanS(tasks: ProjectTask[], agents: number): number {
  const children = new Map<string, string[]>(tasks.map((t) => [t.key, []]));
  for (const t of tasks) for (const d of t.deps) children.get(d)!.push(t.key);
  const by = new Map(tasks.map((t) => [t.key, t]));
  const memo = new Map<string, number>();
  const down = (key: string): number => {
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const value = by.get(key)!.sleepS + Math.max(0, ...children.get(key)!.map(down));
    memo.set(key, value);
    return value;
  };
  const done = new Set<string>();
  const started = new Set<string>();
  let running: { key: string; end: number }[] = [];
  let now = 0;
  while (done.size < tasks.length) {
    const ready = tasks
      .filter((t) => !started.has(t.key) && t.deps.every((d) => done.has(d)))
      .sort((a, b) => down(b.key) - down(a.key));
    for (const t of ready.slice(0, agents - running.length)) {
      started.add(t.key);
      running.push({ key: t.key, end: now + t.sleepS });
    }
    now = Math.min(...running.map((r) => r.end));
    for (const r of running.filter((r) => r.end === now)) done.add(r.key);
    running = running.filter((r) => r.end !== now);
  }
  return round(now, 2);
}

function levels(tasks: ProjectTask[]): ProjectTask[][] {
  const level = new Map<string, number>();
  const by = new Map(tasks.map((t) => [t.key, t]));
  const of = (key: string): number => {
    const hit = level.get(key);
    if (hit !== undefined) return hit;
    const value = Math.max(-1, ...by.get(key)!.deps.map(of)) + 1;
    level.set(key, value);
    return value;
  };
  const out: ProjectTask[][] = [];
  for (const t of tasks) (out[of(t.key)] ??= []).push(t);
  return out;
}

interface ModeResult {
  makespanS: number;
  mergeMs: { median: number; p95: number; max: number };
  /** What a worktree adds to a task: create/reuse, commit, merge, remove (ms). */
  worktreeOverheadMs: { median: number; p95: number };
  /** From a task's last dependency finishing to the task starting: the schedule's own delay, ms. */
  startGapMs?: { median: number; p95: number; max: number };
  /** Medians by phase (Baton's recorded timings), ms. */
  phasesMs?: { prepare: number; commit: number; merge: number; cleanup: number };
}

function summarise(makespanMs: number, merges: number[], overheads: number[]): ModeResult {
  return {
    makespanS: round(makespanMs / 1000, 2),
    mergeMs: {
      median: round(median(merges), 1),
      p95: round(percentile(merges, 95), 1),
      max: round(Math.max(...merges), 1),
    },
    worktreeOverheadMs: {
      median: round(median(overheads), 0),
      p95: round(percentile(overheads, 95), 0),
    },
  };
}

async function batonRun(tasks: ProjectTask[], agents: number): Promise<ModeResult> {
  const root = mkdtempSync(join(tmpdir(), 'baton-bench-wt-'));
  try {
    freshRepo(root);
    const plan = parsePlan(planText(tasks), join(root, 'plan.yaml'));
    const prepared = await prepareWorkspaceRun(plan, root);
    const baton = await Baton.open(`sqlite:${join(root, 'b.db')}`);
    const handler = withWorkspace(shellHandler());
    const workers = Array.from({ length: agents }, (_, i) =>
      baton.worker({
        name: `agent-${i + 1}`,
        capabilities: ['shell'],
        concurrency: 1,
        handlers: { shell: handler },
      }),
    );
    await Promise.all(workers.map((w) => w.start()));
    const started = performance.now();
    const submitted = await baton.submitRun(prepared!.run);
    const run = await baton.wait(submitted.runId, { timeoutMs: 600_000 });
    const makespan = performance.now() - started;
    await Promise.all(workers.map((w) => w.stop()));
    if (run.state !== 'succeeded') throw new Error(`run ${run.state}`);
    const page = await baton.tasks({ runId: submitted.runId, limit: 100 });
    const records = page.tasks.map(
      (t) =>
        (t.result as unknown as { workspace: { mergeMs: number; timings: PhaseTimings } })
          .workspace,
    );
    const merges = records.map((r) => r.mergeMs);
    const overheads = records.map(
      (r) => r.timings.prepareMs + r.timings.commitMs + r.timings.mergeMs + r.timings.cleanupMs,
    );
    const byKey = new Map(page.tasks.map((t) => [t.key, t]));
    const gaps = page.tasks
      .filter((t) => t.dependsOn.length > 0)
      .map((t) => {
        const ready = Math.max(...t.dependsOn.map((d) => byKey.get(d.key)?.finishedAt ?? 0));
        return (t.startedAt ?? ready) - ready;
      });
    await baton.close();
    const phase = (name: keyof PhaseTimings): number =>
      round(median(records.map((r) => r.timings[name])), 0);
    return {
      ...summarise(makespan, merges, overheads),
      startGapMs: {
        median: round(median(gaps), 0),
        p95: round(percentile(gaps, 95), 0),
        max: round(Math.max(...gaps), 0),
      },
      phasesMs: {
        prepare: phase('prepareMs'),
        commit: phase('commitMs'),
        merge: phase('mergeMs'),
        cleanup: phase('cleanupMs'),
      },
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Seed 004's design: Kahn levels run as batches; within a batch `agents` tasks at a time, each
 * in its own worktree cut from the integration branch as the batch started; when the whole batch
 * is done its branches merge (same merge code), then the next batch starts.
 */
async function levelBatches(tasks: ProjectTask[], agents: number): Promise<ModeResult> {
  const root = mkdtempSync(join(tmpdir(), 'baton-bench-wt-'));
  try {
    const repo = freshRepo(root);
    const ref = 'refs/heads/baton/batches-integration';
    git(repo, 'update-ref', ref, git(repo, 'rev-parse', 'HEAD'));
    const merges: number[] = [];
    const overheads: number[] = [];
    const started = performance.now();
    for (const batch of levels(tasks)) {
      const tip = git(repo, 'rev-parse', ref);
      const heads = new Map<string, string>();
      const queue = [...batch];
      await Promise.all(
        Array.from({ length: Math.min(agents, batch.length) }, async () => {
          for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
            const t0 = performance.now();
            const path = join(repo, '.baton', 'worktrees', 'batches', t.key);
            await openWorktree(repo, path, `baton/batches/${t.key}`, tip);
            const r0 = performance.now();
            const result = await runShell({
              command: 'sh',
              args: ['-c', agentScript(t)],
              cwd: path,
            });
            const ran = performance.now() - r0;
            if (result.exitCode !== 0) throw new Error(`${t.key} failed: ${result.stderr}`);
            heads.set(t.key, await commitAll(path, `work of ${t.key}\n`));
            overheads.push(performance.now() - t0 - ran);
          }
        }),
      );
      // The barrier: merge the batch once all of it is done.
      for (const t of batch) {
        const outcome = await mergeIntoIntegration({
          repo,
          integrationRef: ref,
          head: heads.get(t.key)!,
          mode: 'merge',
          records: [`refs/baton/batches/${t.key}/merged`],
          message: `merge ${t.key}\n`,
        });
        if (outcome.status !== 'merged') throw new Error(`${t.key} conflicted`);
        merges.push(outcome.ms);
        await removeWorktree(
          repo,
          join(repo, '.baton', 'worktrees', 'batches', t.key),
          `baton/batches/${t.key}`,
        );
      }
    }
    return summarise(performance.now() - started, merges, overheads);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const tasks = project();
const sumS = round(
  tasks.reduce((s, t) => s + t.sleepS, 0),
  2,
);
const critical = round(criticalPathS(tasks), 2);
const shape = levels(tasks).map((l) => l.length);
progress(
  `24 tasks, ${sumS} s of agent time, critical path ${critical} s, levels ${shape.join('/')}`,
);

const baton: Record<string, ModeResult> = {};
for (const n of AGENTS) {
  progress(`baton, ${n} agent(s)…`);
  baton[String(n)] = await batonRun(tasks, n);
  progress(`  makespan ${baton[String(n)]!.makespanS} s`);
}
const batches: Record<string, ModeResult> = {};
for (const n of AGENTS.filter((a) => a > 1)) {
  progress(`level batches with a barrier, ${n} agents…`);
  batches[String(n)] = await levelBatches(tasks, n);
  progress(`  makespan ${batches[String(n)]!.makespanS} s`);
}

const sequentialS = baton['1']?.makespanS ?? sumS;
const out = {
  bench: 'worktrees',
  machine: {
    cpus: cpus().length,
    loadavg1: round(loadavg()[0] ?? 0, 2),
    node: process.version,
    git: git('.', '--version'),
  },
  project: {
    idealMakespanS: Object.fromEntries(AGENTS.map((n) => [String(n), idealMakespanS(tasks, n)])),
    tasks: tasks.length,
    epics: 5,
    levels: shape,
    agentTimeS: sumS,
    criticalPathS: critical,
    scale: SCALE,
  },
  baton,
  levelBatches: batches,
  ratios: Object.fromEntries(
    AGENTS.filter((a) => a > 1).map((n) => [
      `${n}agents`,
      {
        speedupVsSequential: round(sequentialS / baton[String(n)]!.makespanS, 2),
        speedupVsSumOfTasks: round(sumS / baton[String(n)]!.makespanS, 2),
        aheadOfLevelBatches: round(batches[String(n)]!.makespanS / baton[String(n)]!.makespanS, 2),
        overCriticalPath: round(baton[String(n)]!.makespanS / critical, 2),
        overIdeal: round(baton[String(n)]!.makespanS / idealMakespanS(tasks, n), 2),
        idealSpeedupVsSumOfTasks: round(sumS / idealMakespanS(tasks, n), 2),
      },
    ]),
  ),
};
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
