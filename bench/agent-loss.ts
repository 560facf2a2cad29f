/**
 * Lost-agent detection, both ways it can go wrong. Prints one JSON object.
 *
 *   node bench/agent-loss.ts [--baseline <checkout>] [--store sqlite|redis|both] [--rounds 3]
 *     [--workers 8] [--concurrency 4] [--tasks 600] [--task-ms 200] [--hogs 0]
 *     [--recoveries 3] [--only recovery,underLoad] [--redis redis://127.0.0.1:6379]
 *
 * - recovery: two `baton worker` processes (defaults: heartbeat 1 s, agent TTL 3 s); one claims a
 *   long shell task and is SIGKILLed; milliseconds from the kill to the task's next attempt
 *   starting on the other worker. Target: ≤ 5 s on a quiet machine.
 * - underLoad: a pool of `--workers` worker processes × `--concurrency` runs `--tasks` shell
 *   tasks of `--task-ms` while `--hogs` processes burn CPU (0: only whatever else loads the
 *   machine); counts the agents declared lost (all were healthy) and the tasks that ran more
 *   than once, with the load average seen meanwhile. Target: 0 and 0.
 *
 * With `--baseline <dir>` (a checkout of an earlier commit, its node_modules linked or installed)
 * every round runs that code and this one back to back (the baseline's Baton, Pool and `baton
 * worker`), alternating which goes first, so both meet the same machine:
 *
 *   git worktree add /tmp/baton-base <commit> && ln -s "$PWD/node_modules" /tmp/baton-base/
 *   node bench/agent-loss.ts --baseline /tmp/baton-base
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import type * as BatonModule from '../src/runtime/baton.ts';
import type * as PoolModule from '../src/runtime/pool.ts';
import { deleteRedisNamespace } from './redis-namespace.ts';
import { median, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    store: { type: 'string', default: 'both' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '4' },
    tasks: { type: 'string', default: '600' },
    'task-ms': { type: 'string', default: '200' },
    hogs: { type: 'string', default: '0' },
    recoveries: { type: 'string', default: '3' },
    only: { type: 'string', default: 'recovery,underLoad' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const ROUNDS = Number(values.rounds);
const WORKERS = Number(values.workers);
const CONCURRENCY = Number(values.concurrency);
const TASKS = Number(values.tasks);
const TASK_SECONDS = String(Number(values['task-ms']) / 1000);
const HOGS = Number(values.hogs);
const RECOVERIES = Number(values.recoveries);
const ONLY = new Set(values.only.split(','));
const STORES = values.store === 'both' ? ['sqlite', 'redis'] : [values.store];

const log = (message: string): void => void process.stderr.write(`${message}\n`);

/** The pieces of one checkout the benchmark drives. */
interface Side {
  name: 'baseline' | 'current';
  bin: string;
  // The modules are imported from each checkout: their types are this checkout's.
  Baton: typeof BatonModule.Baton;
  Pool: typeof PoolModule.Pool;
  defaultWorkerCommand: typeof PoolModule.defaultWorkerCommand;
}

async function loadSide(name: Side['name'], root: string): Promise<Side> {
  const batonModule = (await import(join(root, 'src/runtime/baton.ts'))) as typeof BatonModule;
  const poolModule = (await import(join(root, 'src/runtime/pool.ts'))) as typeof PoolModule;
  return {
    name,
    bin: join(root, 'bin/baton.js'),
    Baton: batonModule.Baton,
    Pool: poolModule.Pool,
    defaultWorkerCommand: poolModule.defaultWorkerCommand,
  };
}

/** A store for one measurement: a fresh SQLite file, or a fresh Redis namespace. */
function freshStore(kind: string): { url: string; namespace: string; cleanup: () => void } {
  const namespace = `bench-loss-${randomUUID()}`;
  if (kind === 'redis') return { url: values.redis, namespace, cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'baton-loss-'));
  return {
    url: `sqlite:${join(dir, 'b.db')}`,
    namespace,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function startWorker(side: Side, url: string, namespace: string): ChildProcess {
  return spawn(
    process.execPath,
    [side.bin, 'worker', '--store', url, '--namespace', namespace, '--log-level', 'error'],
    { stdio: 'ignore' },
  );
}

/** SIGKILL the worker holding a long task; ms until the task's next attempt starts elsewhere. */
async function recoveryOnce(side: Side, kind: string): Promise<number> {
  const store = freshStore(kind);
  const baton = await side.Baton.open(store.url, { namespace: store.namespace });
  const workers = [0, 1].map(() => startWorker(side, store.url, store.namespace));
  let id: string | undefined;
  try {
    const since = await baton.lastEventId();
    // Long enough to outlive the measurement; short enough that an orphan ends soon.
    ({ id } = await baton.submit({
      type: 'shell',
      payload: { command: 'sleep', args: ['20'] },
      maxAttempts: 5,
    }));
    let killedAt = 0;
    for await (const event of baton.events({ ...(since === null ? {} : { since }) })) {
      if (event.taskId !== id || event.type !== 'task.claimed') continue;
      if (killedAt === 0) {
        const holder = (await baton.agents()).find((a) => a.id === event.agentId);
        const victim = workers.find((w) => w.pid === holder?.pid);
        if (victim === undefined) throw new Error('the claiming worker is not one of ours');
        killedAt = Date.now();
        victim.kill('SIGKILL');
        continue;
      }
      return event.at - killedAt;
    }
    throw new Error('the event stream ended');
  } finally {
    for (const w of workers) w.kill('SIGKILL');
    if (id !== undefined) await baton.cancel(id).catch(() => undefined);
    await baton.close();
    if (kind === 'redis') await deleteRedisNamespace(store.url, store.namespace);
    store.cleanup();
  }
}

interface LoadResult {
  lost: number;
  ranTwice: number;
  wallMs: number;
  load: [number, number];
}

/** A pool runs many short shell tasks on a loaded machine; nothing should be declared lost. */
async function underLoadOnce(side: Side, kind: string): Promise<LoadResult> {
  const store = freshStore(kind);
  const hogs = Array.from({ length: HOGS }, () =>
    spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }),
  );
  const baton = await side.Baton.open(store.url, { namespace: store.namespace });
  const pool = new side.Pool({
    // Quiet: the pool's own decisions (and its kills at the end) are not what is measured.
    logger: pino({ level: 'error' }, pino.destination(2)),
    store: store.url,
    namespace: store.namespace,
    min: WORKERS,
    max: WORKERS,
    concurrency: CONCURRENCY,
    stdio: 'ignore',
    spawnWorker: (ctx) => {
      const command = side.defaultWorkerCommand(ctx, ['--log-level', 'error']);
      return { ...command, args: [side.bin, ...command.args.slice(1)] };
    },
  });
  const loads: number[] = [];
  const sampler = setInterval(() => loads.push(loadavg()[0]!), 1000);
  try {
    await pool.start();
    const startedAt = Date.now();
    const { runId } = await baton.submitRun({
      name: 'load',
      tasks: Array.from({ length: TASKS }, (_, i) => ({
        key: `t${i}`,
        type: 'shell',
        payload: { command: 'sleep', args: [TASK_SECONDS] },
        maxAttempts: 10,
      })),
    });
    await baton.wait(runId, { timeoutMs: 30 * 60_000 });
    const wallMs = Date.now() - startedAt;
    let lost = 0;
    for await (const event of baton.events({ follow: false })) {
      if (event.type === 'agent.lost') lost++;
    }
    let ranTwice = 0;
    let cursor: string | undefined;
    do {
      const page = await baton.tasks({
        runId,
        limit: 1000,
        ...(cursor === undefined ? {} : { cursor }),
      });
      ranTwice += page.tasks.filter((t) => t.attempts > 1).length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return {
      lost,
      ranTwice,
      wallMs,
      load: [round(Math.min(...loads), 1), round(Math.max(...loads), 1)],
    };
  } finally {
    clearInterval(sampler);
    for (const hog of hogs) hog.kill('SIGKILL');
    await pool.stop({ graceMs: 0 });
    await baton.close();
    if (kind === 'redis') await deleteRedisNamespace(store.url, store.namespace);
    store.cleanup();
  }
}

const here = resolve(fileURLToPath(new URL('..', import.meta.url)));
const sides: Side[] = [await loadSide('current', here)];
if (values.baseline !== undefined) sides.unshift(await loadSide('baseline', values.baseline));

const results: Record<string, Record<string, unknown>> = {};
for (const kind of STORES) {
  const perSide: Record<string, { recoveryMs: number[]; underLoad: LoadResult[] }> = {};
  for (const side of sides) perSide[side.name] = { recoveryMs: [], underLoad: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which side goes first, so neither always meets the warmer machine.
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      if (ONLY.has('recovery')) {
        for (let i = 0; i < RECOVERIES; i++) {
          const ms = await recoveryOnce(side, kind);
          perSide[side.name]!.recoveryMs.push(ms);
          log(`${kind} ${side.name} round ${round + 1}: recovery ${ms} ms`);
        }
      }
      if (ONLY.has('underLoad')) {
        const result = await underLoadOnce(side, kind);
        perSide[side.name]!.underLoad.push(result);
        log(`${kind} ${side.name} round ${round + 1}: under load ${JSON.stringify(result)}`);
      }
    }
  }
  results[kind] = Object.fromEntries(
    Object.entries(perSide).map(([name, r]) => [
      name,
      {
        recoveryMs: {
          median: r.recoveryMs.length > 0 ? median(r.recoveryMs) : null,
          max: r.recoveryMs.length > 0 ? Math.max(...r.recoveryMs) : null,
          runs: r.recoveryMs,
        },
        underLoad: {
          lost: r.underLoad.map((u) => u.lost),
          ranTwice: r.underLoad.map((u) => u.ranTwice),
          wallMs: r.underLoad.map((u) => u.wallMs),
          loadAverage: r.underLoad.map((u) => u.load),
        },
      },
    ]),
  );
}

process.stdout.write(
  `${JSON.stringify(
    {
      params: {
        workers: WORKERS,
        concurrency: CONCURRENCY,
        tasks: TASKS,
        taskMs: Number(values['task-ms']),
        hogs: HOGS,
        rounds: ROUNDS,
        recoveries: RECOVERIES,
        baseline: values.baseline ?? null,
      },
      results,
    },
    null,
    2,
  )}\n`,
);
