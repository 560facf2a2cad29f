/**
 * What task logs cost: the processing rate of no-op tasks with no log line, and with one 1 KiB
 * `ctx.log` line per task, side by side in one process run, on SQLite and on Redis. Prints one
 * JSON object on stdout (progress goes to stderr).
 *
 *   npm run bench:logs -- [--tasks 20000] [--repeat 5] [--stores sqlite,redis]
 *                         [--redis redis://127.0.0.1:6379] [--line-bytes 1024]
 *
 * Each round pre-loads `--tasks` tasks, then one worker at concurrency 100 drains them; the rate
 * is tasks/s from the worker's start until the store acknowledged the last completion. Rounds
 * alternate without and with the line (after one untimed warm-up round of each), so a noisy
 * machine's drift hits both; every round works on a fresh SQLite file or a fresh Redis namespace
 * (its keys deleted after it; never FLUSHALL). Reported per store: each side's median and every
 * round, the CPU µs per task of this process (and of redis-server), the log lines stored
 * (checked: one per task), and the ratio `withLine / noLine` of the medians: 1.0 is free, 0.8 is
 * 20 % slower.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Keys } from '../src/backends/redis/keys.ts';
import type { TaskSpec } from '../src/core/types.ts';
import { Baton } from '../src/runtime/baton.ts';
import type { TaskHandler } from '../src/runtime/worker.ts';
import { median, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '20000' },
    repeat: { type: 'string', default: '5' },
    stores: { type: 'string', default: 'sqlite,redis' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    'line-bytes': { type: 'string', default: '1024' },
  },
});
const TASKS = Number(values.tasks);
const REPEAT = Number(values.repeat);
const STORES = values.stores.split(',').map((s) => s.trim());
const REDIS_URL = values.redis;
const LINE = 'x'.repeat(Number(values['line-bytes']));

const progress = (message: string): void => {
  process.stderr.write(`[bench:logs] ${message}\n`);
};

type Side = 'noLine' | 'withLine';

interface Round {
  perSec: number;
  nodeCpuUs: number;
  redisCpuUs: number | null;
  linesStored: number;
}

/** A store for one round: a Baton client on it, and what to do after. */
interface Store {
  baton: Baton;
  redisCpuUs: () => Promise<number | null>;
  dispose: () => Promise<void>;
}

let admin: Redis | undefined;
const live = new Set<string>();
let sequence = 0;

async function deleteKeys(pattern: string): Promise<void> {
  if (!admin) return;
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== '0');
  live.delete(pattern);
}

process.once('SIGINT', () => {
  progress('interrupted: deleting the keys of the round in progress');
  void Promise.all([...live].map(deleteKeys)).finally(() => process.exit(130));
});

async function openStore(kind: string): Promise<Store> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'baton-bench-logs-'));
    const baton = await Baton.open(`sqlite:${join(dir, 'bench.db')}`);
    return {
      baton,
      redisCpuUs: () => Promise.resolve(null),
      dispose: async () => {
        await baton.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (!admin) {
    admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
  }
  const redis = admin;
  const namespace = `bench-logs-${process.pid}-${++sequence}`;
  const pattern = new Keys(namespace).pattern();
  live.add(pattern);
  const baton = await Baton.open(REDIS_URL, { namespace });
  return {
    baton,
    redisCpuUs: async () => {
      const info = await redis.info('cpu');
      const field = (name: string): number =>
        Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
      return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
    },
    dispose: async () => {
      await baton.close();
      await deleteKeys(pattern);
    },
  };
}

const noopTasks = (n: number): TaskSpec[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'noop', payload: { i } }));

async function processing(kind: string, side: Side): Promise<Round> {
  const store = await openStore(kind);
  try {
    const { baton } = store;
    for (let i = 0; i < TASKS; i += 10_000) {
      await baton.backend.submitTasks(noopTasks(Math.min(10_000, TASKS - i)));
    }
    let done = 0;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const handler: TaskHandler =
      side === 'noLine'
        ? () => null
        : (ctx) => {
            ctx.log(LINE);
            return null;
          };
    const worker = baton.worker({ concurrency: 100, handlers: { noop: handler } });
    worker.on('task:succeeded', () => {
      if (++done === TASKS) finish();
    });
    const redis0 = await store.redisCpuUs();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await worker.start();
    await finished;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const redis1 = await store.redisCpuUs();
    await worker.stop();
    return {
      perSec: TASKS / (ms / 1000),
      nodeCpuUs: (cpu.user + cpu.system) / TASKS,
      redisCpuUs: redis0 === null || redis1 === null ? null : (redis1 - redis0) / TASKS,
      linesStored: await countLines(baton),
    };
  } finally {
    await store.dispose();
  }
}

/** Every line stored in the namespace (agent logs of every agent, page by page). */
async function countLines(baton: Baton): Promise<number> {
  let count = 0;
  let after = 0;
  for (;;) {
    const page = await baton.agentLogs({ after, limit: 10_000 });
    count += page.lines.length;
    after = page.cursor;
    if (!page.more) return count;
  }
}

function summary(rounds: Round[]) {
  const redis = rounds.map((r) => r.redisCpuUs).filter((v): v is number => v !== null);
  return {
    tasksPerSec: round(median(rounds.map((r) => r.perSec))),
    rounds: rounds.map((r) => round(r.perSec)),
    nodeCpuUsPerTask: round(median(rounds.map((r) => r.nodeCpuUs)), 1),
    redisCpuUsPerTask: redis.length === 0 ? null : round(median(redis), 1),
    linesStored: rounds.map((r) => r.linesStored),
  };
}

const load0 = loadavg()[0]!;
const results: Record<string, unknown> = {};
try {
  for (const kind of STORES) {
    progress(`${kind}: warm-up`);
    await processing(kind, 'noLine');
    await processing(kind, 'withLine');
    const rounds: Record<Side, Round[]> = { noLine: [], withLine: [] };
    for (let r = 0; r < REPEAT; r++) {
      for (const side of r % 2 === 0
        ? (['noLine', 'withLine'] as const)
        : (['withLine', 'noLine'] as const)) {
        const result = await processing(kind, side);
        rounds[side].push(result);
        progress(`${kind} round ${r + 1}/${REPEAT} ${side}: ${round(result.perSec)} tasks/s`);
      }
    }
    const noLine = summary(rounds.noLine);
    const withLine = summary(rounds.withLine);
    results[kind] = {
      noLine,
      withLine,
      ratio: round(withLine.tasksPerSec / noLine.tasksPerSec, 3),
      nodeCpuRatio: round(withLine.nodeCpuUsPerTask / noLine.nodeCpuUsPerTask, 3),
    };
  }
} finally {
  await Promise.all([...live].map(deleteKeys));
  admin?.disconnect();
}

process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'logs',
      tasks: TASKS,
      repeat: REPEAT,
      lineBytes: LINE.length,
      concurrency: 100,
      machine: { cpus: cpus().length, loadAverage: [round(load0, 2), round(loadavg()[0]!, 2)] },
      node: process.version,
      results,
    },
    null,
    2,
  )}\n`,
);
