/**
 * What task logs cost: the processing rate of no-op tasks with no log line, and with one 1 KiB
 * `ctx.log` line per task, side by side in one process run, on SQLite and on Redis. Prints one
 * JSON object on stdout (progress goes to stderr).
 *
 *   npm run bench:logs -- [--tasks 20000] [--repeat 5] [--stores sqlite,redis]
 *                         [--redis redis://127.0.0.1:6379] [--line-bytes 1024]
 *                         [--baseline <checkout>] [--settle]
 *
 * Each round pre-loads `--tasks` tasks, then one worker at concurrency 100 drains them; the rate
 * is tasks/s from the worker's start until the store acknowledged the last completion. Rounds
 * alternate without and with the line (after one untimed warm-up round of each), so a noisy
 * machine's drift hits both; every round works on a fresh SQLite file or a fresh Redis namespace
 * (its keys deleted after it; never FLUSHALL). Reported per store: each side's median and every
 * round, the CPU µs per task of this process (and of redis-server), the log lines stored
 * (checked: one per task), and the ratio `withLine / noLine` of the medians: 1.0 is free, 0.8 is
 * 20 % slower.
 *
 * With `--baseline <dir>` (a checkout of an earlier commit, its node_modules linked), every round
 * also runs that checkout's Baton, both sides, in the same process; the order of the four runs is
 * reversed every other round. The baseline's figures are reported beside this code's, with the
 * ratio of this code's medians to the baseline's (`vsBaseline`: above 1.0 is faster).
 *
 * With `--settle`, also (`--repeat 0`: only) the store's own cost of a line, which a busy machine moves far less than
 * a rate: every code and side gets `--tasks` tasks on its own store, then, 100 at a time and
 * the runs interleaved (order reversed every other batch), an agent claims 100 and completes
 * them with no line or with one line each; the CPU of each complete (this process's, and
 * redis-server's from INFO) is divided by its tasks. Reported per code: the median µs per task
 * of each side and `lineUs`, what the line adds (with − without).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type * as KeysModule from '../src/backends/redis/keys.ts';
import type { TaskSpec } from '../src/core/types.ts';
import type * as BatonModule from '../src/runtime/baton.ts';
import type { Baton } from '../src/runtime/baton.ts';
import type { TaskHandler } from '../src/runtime/worker.ts';
import { median, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '20000' },
    repeat: { type: 'string', default: '5' },
    stores: { type: 'string', default: 'sqlite,redis' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    'line-bytes': { type: 'string', default: '1024' },
    baseline: { type: 'string' },
    settle: { type: 'boolean', default: false },
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

/** The code of one checkout the benchmark drives: this one, or `--baseline`'s. */
interface Code {
  name: 'current' | 'baseline';
  // Imported from each checkout: their types are this checkout's.
  Baton: typeof BatonModule.Baton;
  Keys: typeof KeysModule.Keys;
}

async function loadCode(name: Code['name'], root: string): Promise<Code> {
  const batonModule = (await import(join(root, 'src/runtime/baton.ts'))) as typeof BatonModule;
  const keysModule = (await import(join(root, 'src/backends/redis/keys.ts'))) as typeof KeysModule;
  return { name, Baton: batonModule.Baton, Keys: keysModule.Keys };
}

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

async function openStore(code: Code, kind: string): Promise<Store> {
  const { Baton, Keys } = code;
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

async function processing(code: Code, kind: string, side: Side): Promise<Round> {
  const store = await openStore(code, kind);
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

const here = resolve(fileURLToPath(new URL('..', import.meta.url)));
const codes: Code[] = [await loadCode('current', here)];
if (values.baseline !== undefined) codes.push(await loadCode('baseline', resolve(values.baseline)));
const runs = codes.flatMap((code) =>
  (['noLine', 'withLine'] as const).map((side) => ({ code, side })),
);

function sideResults(rounds: Record<Side, Round[]>) {
  const noLine = summary(rounds.noLine);
  const withLine = summary(rounds.withLine);
  return {
    noLine,
    withLine,
    ratio: round(withLine.tasksPerSec / noLine.tasksPerSec, 3),
    nodeCpuRatio: round(withLine.nodeCpuUsPerTask / noLine.nodeCpuUsPerTask, 3),
  };
}

/** One code and side of the settle measurement: its store, its agent and the CPU of each complete. */
interface SettleRun {
  code: Code;
  side: Side;
  store: Store;
  agentId: string;
  nodeUs: number[];
  redisUs: number[];
}

async function settleCost(kind: string): Promise<Record<string, unknown>> {
  const settleRuns: SettleRun[] = [];
  try {
    for (const { code, side } of runs) {
      const store = await openStore(code, kind);
      settleRuns.push({ code, side, store, agentId: '', nodeUs: [], redisUs: [] });
      const b = store.baton.backend;
      for (let i = 0; i < TASKS; i += 10_000)
        await b.submitTasks(noopTasks(Math.min(10_000, TASKS - i)));
      settleRuns.at(-1)!.agentId = (
        await b.registerAgent({ capabilities: [], concurrency: 100 })
      ).id;
    }
    for (let batch = 0; batch < TASKS / 100; batch++) {
      for (const run of batch % 2 === 0 ? settleRuns : [...settleRuns].reverse()) {
        const b = run.store.baton.backend;
        const leases = await b.claim({
          agentId: run.agentId,
          capabilities: [],
          max: 100,
          leaseTtlMs: 600_000,
        });
        if (leases.length === 0) continue;
        const items = leases.map((lease) => ({
          taskId: lease.taskId,
          token: lease.token,
          agentId: run.agentId,
          result: null,
          ...(run.side === 'withLine' ? { logs: [{ text: LINE }] } : {}),
        }));
        const redis0 = await run.store.redisCpuUs();
        const cpu0 = process.cpuUsage();
        await b.complete(items);
        const cpu = process.cpuUsage(cpu0);
        const redis1 = await run.store.redisCpuUs();
        run.nodeUs.push((cpu.user + cpu.system) / leases.length);
        if (redis0 !== null && redis1 !== null) run.redisUs.push((redis1 - redis0) / leases.length);
      }
    }
  } finally {
    for (const run of settleRuns) await run.store.dispose();
  }
  const of = (code: Code, side: Side) =>
    settleRuns.find((run) => run.code === code && run.side === side)!;
  const costs = (values: number[]) => (values.length === 0 ? null : round(median(values), 2));
  const out: Record<string, unknown> = {};
  for (const code of codes) {
    const no = of(code, 'noLine');
    const withLine = of(code, 'withLine');
    const nodeNo = costs(no.nodeUs);
    const nodeWith = costs(withLine.nodeUs);
    const redisNo = costs(no.redisUs);
    const redisWith = costs(withLine.redisUs);
    out[code.name] = {
      nodeUsPerTask: { noLine: nodeNo, withLine: nodeWith, lineUs: round(nodeWith! - nodeNo!, 2) },
      redisUsPerTask:
        redisNo === null || redisWith === null
          ? null
          : { noLine: redisNo, withLine: redisWith, lineUs: round(redisWith - redisNo, 2) },
    };
  }
  return out;
}

const load0 = loadavg()[0]!;
const results: Record<string, unknown> = {};
const settle: Record<string, unknown> = {};
try {
  if (values.settle) {
    for (const kind of STORES) {
      progress(`${kind}: settle cost`);
      settle[kind] = await settleCost(kind);
    }
  }
  for (const kind of REPEAT > 0 ? STORES : []) {
    progress(`${kind}: warm-up`);
    for (const { code, side } of runs) await processing(code, kind, side);
    const rounds = new Map<Code, Record<Side, Round[]>>(
      codes.map((code) => [code, { noLine: [], withLine: [] }]),
    );
    for (let r = 0; r < REPEAT; r++) {
      // Reverse the order every other round, so no run always meets the warmer machine.
      for (const { code, side } of r % 2 === 0 ? runs : [...runs].reverse()) {
        const result = await processing(code, kind, side);
        rounds.get(code)![side].push(result);
        progress(
          `${kind} round ${r + 1}/${REPEAT} ${code.name} ${side}: ${round(result.perSec)} tasks/s`,
        );
      }
    }
    const current = sideResults(rounds.get(codes[0]!)!);
    const base = codes[1] && sideResults(rounds.get(codes[1])!);
    results[kind] = base
      ? {
          ...current,
          baseline: base,
          vsBaseline: {
            noLine: round(current.noLine.tasksPerSec / base.noLine.tasksPerSec, 3),
            withLine: round(current.withLine.tasksPerSec / base.withLine.tasksPerSec, 3),
          },
        }
      : current;
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
      baseline: values.baseline ?? null,
      machine: { cpus: cpus().length, loadAverage: [round(load0, 2), round(loadavg()[0]!, 2)] },
      node: process.version,
      results,
      ...(values.settle ? { settle } : {}),
    },
    null,
    2,
  )}\n`,
);
