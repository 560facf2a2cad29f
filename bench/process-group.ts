/**
 * What the process-group supervisor costs per task (src/executors/process-group.ts), against the
 * direct spawn the shell executor used before it, side by side in one process. Prints one JSON
 * object. Linux only (CPU figures come from /proc).
 *
 *   node bench/process-group.ts [--tasks 300] [--rounds 5] [--concurrency 8] [--program true]
 *
 * Sides, alternating within each round (the first round is a warm-up and is dropped):
 * - `direct`: `spawn(program, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })`, read both
 *   pipes to the end, wait for 'close', then signal the group (as the executor did to clean up);
 * - `supervised`: `spawnProcessGroup` (the launcher's wait for the go line and `exec`, the
 *   registration with the supervisor and its withdrawal), read both pipes, wait for `exited`;
 * - `shPerTask`: `direct` plus, per task, a second spawn of `/bin/sh` that waits on a pipe and is
 *   dismissed at the end: the floor of a per-task sh supervisor spawned from Node;
 * - `nodePerTask`: a spawn of `node -e 0` per task: the floor of a Node supervisor per task.
 *
 * Per side: wall time per task one at a time (`latencyMs`), tasks/s with `--concurrency` at once,
 * CPU per task of this process (the worker's event loop: the fork happens there) and of the
 * children (reaped programs, plus the supervisor's own CPU for `supervised`). Also the resident
 * memory of an idle supervisor against an idle Node process.
 */
import { spawn, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { spawnProcessGroup } from '../src/executors/process-group.ts';
import { median, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '8' },
    program: { type: 'string', default: 'true' },
  },
});
const TASKS = Number(values.tasks);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);
const PROGRAM = values.program;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

// ── The sides ─────────────────────────────────────────────────────────────────────────────────

type Side = 'direct' | 'supervised' | 'shPerTask' | 'nodePerTask';
const SIDES: Side[] = ['direct', 'supervised', 'shPerTask', 'nodePerTask'];

function closed(child: ReturnType<typeof spawn>): Promise<void> {
  child.stdout?.resume();
  child.stderr?.resume();
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', () => resolve());
  });
}

function signalGroup(pid: number | undefined): void {
  try {
    if (pid !== undefined) process.kill(-pid, 'SIGTERM');
  } catch {
    // ESRCH: gone, the usual case
  }
}

async function direct(): Promise<void> {
  const child = spawn(PROGRAM, [], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  await closed(child);
  signalGroup(child.pid);
}

async function supervised(): Promise<void> {
  const group = await spawnProcessGroup(PROGRAM, [], { cwd: process.cwd(), env: process.env });
  group.stdout.resume();
  group.stderr.resume();
  await group.exited;
}

async function shPerTask(): Promise<void> {
  const watcher = spawn('/bin/sh', ['-c', 'read x'], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const watched = closed(watcher);
  await direct();
  watcher.stdin.end('done\n');
  await watched;
}

async function nodePerTask(): Promise<void> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await closed(child);
}

const RUN: Record<Side, () => Promise<void>> = { direct, supervised, shPerTask, nodePerTask };
/** Node start-ups are slow: run fewer of them, so a round stays short. */
const tasksOf = (side: Side): number => (side === 'nodePerTask' ? Math.ceil(TASKS / 10) : TASKS);

// ── Measuring ─────────────────────────────────────────────────────────────────────────────────

/** CPU seconds of `pid` (utime + stime), and of its reaped children (cutime + cstime). */
function cpuOf(pid: number | 'self'): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return { own: (f[11]! + f[12]!) / CLK_TCK, children: (f[13]! + f[14]!) / CLK_TCK };
}

/** This process's supervisor, once started. */
function supervisorPid(): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('baton-supervisor')) {
        return Number(name);
      }
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
}

interface Round {
  latencyMs: number;
  tasksPerSec: number;
  parentCpuUs: number;
  childCpuUs: number;
}

async function measure(side: Side): Promise<Round> {
  const run = RUN[side];
  const tasks = tasksOf(side);
  const sup = side === 'supervised' ? supervisorPid() : undefined;
  const before = cpuOf('self');
  const supBefore = sup === undefined ? 0 : cpuOf(sup).own;
  const cpuBefore = process.cpuUsage();

  const t0 = performance.now();
  for (let i = 0; i < tasks; i++) await run();
  const sequentialMs = performance.now() - t0;

  const t1 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < tasks) {
        next++;
        await run();
      }
    }),
  );
  const parallelMs = performance.now() - t1;

  const cpu = process.cpuUsage(cpuBefore);
  const after = cpuOf('self');
  const supAfter = sup === undefined ? 0 : cpuOf(sup).own;
  const childSeconds = after.children - before.children + (supAfter - supBefore);
  return {
    latencyMs: sequentialMs / tasks,
    tasksPerSec: (tasks * 1000) / parallelMs,
    parentCpuUs: (cpu.user + cpu.system) / (2 * tasks),
    childCpuUs: (childSeconds * 1e6) / (2 * tasks),
  };
}

async function idleRss(): Promise<{ supervisorKiB: number; nodeKiB: number }> {
  const sup = supervisorPid();
  const node = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const nodeKiB = rssKiB(node.pid!);
  node.kill('SIGKILL');
  return { supervisorKiB: sup === undefined ? Number.NaN : rssKiB(sup), nodeKiB };
}

// ── Main ──────────────────────────────────────────────────────────────────────────────────────

const rounds: Record<Side, Round[]> = {
  direct: [],
  supervised: [],
  shPerTask: [],
  nodePerTask: [],
};
const loadStart = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
await supervised(); // start the supervisor outside the timings: once per process
for (let r = 0; r <= ROUNDS; r++) {
  for (const side of SIDES) {
    const result = await measure(side);
    if (r > 0) rounds[side].push(result);
    process.stderr.write(
      `round ${r}${r === 0 ? ' (warm-up)' : ''} ${side}: ${JSON.stringify(result)}\n`,
    );
  }
}
const loadEnd = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];

interface Summary {
  latencyMs: number;
  tasksPerSec: number;
  parentCpuUs: number;
  childCpuUs: number;
  /** Latency of each round, in order. */
  rounds: number[];
}
const summarize = (of: Round[]): Summary => ({
  latencyMs: round(median(of.map((x) => x.latencyMs)), 3),
  tasksPerSec: round(median(of.map((x) => x.tasksPerSec))),
  parentCpuUs: round(median(of.map((x) => x.parentCpuUs))),
  childCpuUs: round(median(of.map((x) => x.childCpuUs))),
  rounds: of.map((x) => round(x.latencyMs, 3)),
});
const summary: Record<Side, Summary> = {
  direct: summarize(rounds.direct),
  supervised: summarize(rounds.supervised),
  shPerTask: summarize(rounds.shPerTask),
  nodePerTask: summarize(rounds.nodePerTask),
};

const ratio = (
  side: Side,
  key: 'latencyMs' | 'tasksPerSec' | 'parentCpuUs' | 'childCpuUs',
): number => round(summary[side][key] / summary.direct[key], 2);

const roundRatio = (key: keyof Round): number =>
  round(median(rounds.supervised.map((x, i) => x[key] / rounds.direct[i]![key])), 2);

console.log(
  JSON.stringify(
    {
      program: PROGRAM,
      tasks: TASKS,
      rounds: ROUNDS,
      concurrency: CONCURRENCY,
      node: process.version,
      loadAverage: { start: Number(loadStart), end: Number(loadEnd) },
      sides: summary,
      supervisedVsDirect: {
        // Medians of the ratio within each round (both sides ran back to back): steadier on a
        // loaded machine than the ratio of the medians below them.
        latencyByRound: roundRatio('latencyMs'),
        throughputByRound: roundRatio('tasksPerSec'),
        parentCpuByRound: roundRatio('parentCpuUs'),
        latency: ratio('supervised', 'latencyMs'),
        throughput: ratio('supervised', 'tasksPerSec'),
        parentCpu: ratio('supervised', 'parentCpuUs'),
        childCpu: ratio('supervised', 'childCpuUs'),
        extraLatencyMs: round(summary.supervised.latencyMs - summary.direct.latencyMs, 3),
      },
      idleRss: await idleRss(),
    },
    null,
    2,
  ),
);
