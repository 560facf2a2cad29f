/**
 * Throughput of a large fleet on one store, routing on and off. Prints one JSON object.
 *
 *   node bench/fleet.ts [--baseline <checkout>] [--store sqlite|redis|both] [--agents 50,500]
 *     [--tasks 2500] [--task-ms 20] [--rounds 3] [--redis redis://127.0.0.1:6379]
 *
 * Each case starts `agents` workers of one slot each in this process, on one store (a fresh
 * SQLite file, or a fresh Redis namespace), waits until every one of them has claimed once (so
 * each is a live, pulling peer of the others: what routing weighs), then submits `tasks` tasks
 * of `task-ms` ms as one run and times them from submission to the run's end: tasks/s.
 *
 * Every round runs routing on and off (and, with `--baseline <dir>`, that checkout's code beside
 * this one's), alternating the order, so both meet the same machine. Reported: the median
 * tasks/s of each case, and the ratios the target is about: routing on ÷ off at each fleet size,
 * and 500 agents ÷ 50 agents.
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
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const STORES = values.store === 'both' ? ['sqlite', 'redis'] : [values.store];
const FLEETS = values.agents.split(',').map(Number);
const TASKS = Number(values.tasks);
const TASK_MS = Number(values['task-ms']);
const ROUNDS = Number(values.rounds);

const log = (message: string): void => void process.stderr.write(`${message}\n`);

interface Side {
  name: 'baseline' | 'current';
  Baton: typeof BatonModule.Baton;
}

async function loadSide(name: Side['name'], dir: string): Promise<Side> {
  const mod = (await import(join(dir, 'src/runtime/baton.ts'))) as typeof BatonModule;
  return { name, Baton: mod.Baton };
}

/** One case: tasks/s of `agents` one-slot workers draining `TASKS` tasks of `TASK_MS`. */
async function once(side: Side, kind: string, agents: number, routing: boolean): Promise<number> {
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
    const started = performance.now();
    const { runId } = await baton.submitRun({ name: 'fleet', tasks });
    await baton.wait(runId, { timeoutMs: 600_000 });
    const seconds = (performance.now() - started) / 1000;
    return TASKS / seconds;
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

const results: Record<string, Record<string, Record<string, unknown>>> = {};
const loads: number[] = [];
for (const kind of STORES) {
  results[kind] = {};
  for (const side of sides) {
    const perCase: Record<string, number[]> = {};
    results[kind][side.name] = perCase;
  }
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const agents of FLEETS) {
      for (const side of order) {
        for (const routing of r % 2 === 0 ? [true, false] : [false, true]) {
          const rate = await once(side, kind, agents, routing);
          loads.push(loadavg()[0]!);
          const key = `${agents} agents, routing ${routing ? 'on' : 'off'}`;
          const perCase = results[kind][side.name] as Record<string, number[]>;
          (perCase[key] ??= []).push(rate);
          log(`${kind} ${side.name} round ${r + 1}: ${key}: ${round(rate)} tasks/s`);
        }
      }
    }
  }
}

const summary: Record<string, unknown> = {};
for (const kind of STORES) {
  for (const side of sides) {
    const perCase = results[kind]![side.name] as Record<string, number[]>;
    const medians: Record<string, number> = {};
    for (const [key, rates] of Object.entries(perCase)) medians[key] = round(median(rates));
    const ratio = (a: string, b: string): number | null =>
      medians[a] !== undefined && medians[b] !== undefined
        ? round(medians[a] / medians[b], 2)
        : null;
    const ratios: Record<string, number | null> = {};
    for (const agents of FLEETS) {
      ratios[`routing on / off at ${agents}`] = ratio(
        `${agents} agents, routing on`,
        `${agents} agents, routing off`,
      );
    }
    const [small, large] = [Math.min(...FLEETS), Math.max(...FLEETS)];
    if (small !== large) {
      for (const mode of ['on', 'off']) {
        ratios[`${large} / ${small} agents, routing ${mode}`] = ratio(
          `${large} agents, routing ${mode}`,
          `${small} agents, routing ${mode}`,
        );
      }
    }
    summary[`${kind} ${side.name}`] = {
      tasksPerSecond: medians,
      ratios,
      runs: Object.fromEntries(
        Object.entries(perCase).map(([k, v]) => [k, v.map((x) => round(x))]),
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
      baseline: values.baseline ?? null,
      loadAverage: { min: round(Math.min(...loads), 1), max: round(Math.max(...loads), 1) },
      results: summary,
    },
    null,
    2,
  ),
);
