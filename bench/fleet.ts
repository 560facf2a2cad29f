/**
 * Throughput of a large fleet on one store, routing on and off. Prints one JSON object.
 *
 *   node bench/fleet.ts [--baseline <checkout>] [--store sqlite|redis|both] [--agents 50,500]
 *     [--tasks 2500] [--task-ms 20] [--rounds 3] [--warmup 1] [--redis redis://127.0.0.1:6379]
 *
 * Each case starts `agents` workers of one slot each in this process, on one store (a fresh
 * SQLite file, or a fresh Redis namespace), waits until every one of them has claimed once (so
 * each is a live, pulling peer of the others: what routing weighs), then submits `tasks` tasks
 * of `task-ms` ms as one run and times them from submission to the run's end: tasks/s.
 *
 * First `warmup` rounds of every case are run and not counted: the first cases of a process run
 * before V8 has compiled the hot paths, and would count that against whichever case came first.
 * Every round runs routing on and off (and, with `--baseline <dir>`, that checkout's code beside
 * this one's), alternating the order, so both meet the same machine. Reported: the median
 * tasks/s of each case, and the ratios the target is about: routing on ÷ off at each fleet size,
 * and 500 agents ÷ 50 agents; and the same from CPU per task (this process's, plus
 * redis-server's), which a busy machine moves far less than throughput (`ratiosByCpu`: off's
 * CPU per task ÷ on's, so that above 1 is better, as with throughput).
 *
 *   git worktree add /tmp/baton-base <commit> && ln -s "$PWD/node_modules" /tmp/baton-base/
 *   node bench/fleet.ts --baseline /tmp/baton-base
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import type * as BatonModule from '../src/runtime/baton.ts';
import { wholeOption } from './options.ts';
import { deleteRedisNamespace } from './redis-namespace.ts';
import { median, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    store: { type: 'string', default: 'both' },
    agents: { type: 'string', default: '50,500' },
    tasks: { type: 'string', default: '2500' },
    'task-ms': { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const STORES = values.store === 'both' ? ['sqlite', 'redis'] : [values.store];
const FLEETS = values.agents.split(',').map((n) => wholeOption('agents', n, 1));
const TASKS = wholeOption('tasks', values.tasks, 1);
const TASK_MS = wholeOption('task-ms', values['task-ms']);
const ROUNDS = wholeOption('rounds', values.rounds, 1);
const WARMUP = wholeOption('warmup', values.warmup);

const log = (message: string): void => void process.stderr.write(`${message}\n`);

interface Side {
  name: 'baseline' | 'current';
  Baton: typeof BatonModule.Baton;
}

async function loadSide(name: Side['name'], dir: string): Promise<Side> {
  const mod = (await import(join(dir, 'src/runtime/baton.ts'))) as typeof BatonModule;
  return { name, Baton: mod.Baton };
}

/** CPU seconds redis-server has used (user + system), from INFO: it serves everyone on it. */
async function redisCpuSeconds(): Promise<number> {
  const { Redis } = await import('ioredis');
  const client = new Redis(values.redis, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  try {
    const info = await client.info('cpu');
    const field = (name: string): number =>
      Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
    return field('used_cpu_user') + field('used_cpu_sys');
  } finally {
    client.disconnect();
  }
}

interface CaseResult {
  /** Tasks per second, submission to the run's end. */
  rate: number;
  /** CPU of this process per task over the same span, µs (the machine's load barely moves it). */
  cpuUsPerTask: number;
  /** redis-server's CPU per task over the same span, µs (Redis only). */
  redisCpuUsPerTask: number | null;
}

/** One case: tasks/s of `agents` one-slot workers draining `TASKS` tasks of `TASK_MS`. */
async function once(
  side: Side,
  kind: string,
  agents: number,
  routing: boolean,
): Promise<CaseResult> {
  const namespace = `fleet-${randomUUID().slice(0, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), 'baton-fleet-'));
  const url = kind === 'sqlite' ? `sqlite:${join(dir, 'baton.db')}` : values.redis;
  const logger = pino({ level: 'error' });
  const baton = await side.Baton.open(url, {
    namespace,
    logger,
    routing: { enabled: routing },
  });
  const workers = [];
  try {
    for (let i = 0; i < agents; i++) {
      workers.push(
        baton.worker({
          agentId: `agent-${i}`,
          concurrency: 1,
          heartbeatThread: false,
          handlers: { work: () => sleep(TASK_MS).then(() => null) },
          logger,
        }),
      );
    }
    await Promise.all(workers.map((w) => w.start()));
    // Every worker's first claim (empty) records its claim filter: then each is a peer.
    for (;;) {
      const listed = await baton.agents();
      if (listed.filter((a) => a.state === 'active').length >= agents) break;
      await sleep(50);
    }
    await sleep(1500);
    const tasks = Array.from({ length: TASKS }, (_, i) => ({ key: `t${i}`, type: 'work' }));
    const redisBefore = kind === 'redis' ? await redisCpuSeconds() : 0;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const { runId } = await baton.submitRun({ name: 'fleet', tasks });
    await baton.wait(runId, { timeoutMs: 600_000 });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const redisCpu = kind === 'redis' ? (await redisCpuSeconds()) - redisBefore : null;
    return {
      rate: TASKS / seconds,
      cpuUsPerTask: (cpu.user + cpu.system) / TASKS,
      redisCpuUsPerTask: redisCpu === null ? null : (redisCpu * 1e6) / TASKS,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await baton.close();
    if (kind === 'redis') await deleteRedisNamespace(values.redis, namespace);
    rmSync(dir, { recursive: true, force: true });
  }
}

const here = resolve(fileURLToPath(new URL('..', import.meta.url)));
const sides: Side[] = [await loadSide('current', here)];
if (values.baseline !== undefined) sides.unshift(await loadSide('baseline', values.baseline));

const results: Record<string, Record<string, Record<string, CaseResult[]>>> = {};
const loads: number[] = [];
for (const kind of STORES) {
  results[kind] = {};
  for (const side of sides) {
    const perCase: Record<string, CaseResult[]> = {};
    results[kind][side.name] = perCase;
  }
  for (let r = -WARMUP; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const agents of FLEETS) {
      for (const side of order) {
        for (const routing of r % 2 === 0 ? [true, false] : [false, true]) {
          const result = await once(side, kind, agents, routing);
          const key = `${agents} agents, routing ${routing ? 'on' : 'off'}`;
          if (r < 0) {
            log(
              `${kind} ${side.name} warm-up: ${key}: ${round(result.rate)} tasks/s (not counted)`,
            );
            continue;
          }
          loads.push(loadavg()[0]!);
          const perCase = results[kind][side.name] as Record<string, CaseResult[]>;
          (perCase[key] ??= []).push(result);
          log(
            `${kind} ${side.name} round ${r + 1}: ${key}: ${round(result.rate)} tasks/s, ` +
              `${round(result.cpuUsPerTask)} µs CPU/task` +
              (result.redisCpuUsPerTask === null
                ? ''
                : ` (+ redis-server ${round(result.redisCpuUsPerTask)})`),
          );
        }
      }
    }
  }
}

const summary: Record<string, unknown> = {};
for (const kind of STORES) {
  for (const side of sides) {
    const perCase = results[kind]![side.name] as Record<string, CaseResult[]>;
    const medians: Record<string, number> = {};
    const cpu: Record<string, number> = {};
    for (const [key, cases] of Object.entries(perCase)) {
      medians[key] = round(median(cases.map((c) => c.rate)));
      // This process's CPU plus redis-server's, per task: what throughput is on a quiet machine.
      cpu[key] = round(median(cases.map((c) => c.cpuUsPerTask + (c.redisCpuUsPerTask ?? 0))));
    }
    const ratio = (a: string, b: string): number | null =>
      medians[a] !== undefined && medians[b] !== undefined
        ? round(medians[a] / medians[b], 2)
        : null;
    // The same ratios from CPU per task (the inverse: less CPU per task is more throughput).
    const cpuRatio = (a: string, b: string): number | null =>
      cpu[a] !== undefined && cpu[b] !== undefined ? round(cpu[b] / cpu[a], 2) : null;
    const ratios: Record<string, number | null> = {};
    const cpuRatios: Record<string, number | null> = {};
    for (const agents of FLEETS) {
      const [on, off] = [`${agents} agents, routing on`, `${agents} agents, routing off`];
      ratios[`routing on / off at ${agents}`] = ratio(on, off);
      cpuRatios[`routing on / off at ${agents}`] = cpuRatio(on, off);
    }
    const [small, large] = [Math.min(...FLEETS), Math.max(...FLEETS)];
    if (small !== large) {
      for (const mode of ['on', 'off']) {
        const [big, few] = [`${large} agents, routing ${mode}`, `${small} agents, routing ${mode}`];
        ratios[`${large} / ${small} agents, routing ${mode}`] = ratio(big, few);
        cpuRatios[`${large} / ${small} agents, routing ${mode}`] = cpuRatio(big, few);
      }
    }
    summary[`${kind} ${side.name}`] = {
      tasksPerSecond: medians,
      ratios,
      cpuUsPerTask: cpu,
      ratiosByCpu: cpuRatios,
      runs: Object.fromEntries(
        Object.entries(perCase).map(([k, v]) => [k, v.map((x) => round(x.rate))]),
      ),
    };
  }
}
console.log(
  JSON.stringify(
    {
      bench: 'fleet',
      tasks: TASKS,
      taskMs: TASK_MS,
      rounds: ROUNDS,
      warmup: WARMUP,
      baseline: values.baseline ?? null,
      loadAverage: { min: round(Math.min(...loads), 1), max: round(Math.max(...loads), 1) },
      results: summary,
    },
    null,
    2,
  ),
);
