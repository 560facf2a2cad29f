/**
 * Baton on Redis side by side with BullMQ: same Redis, same machine, same process, no-op
 * handlers. Prints one JSON object on stdout (progress goes to stderr).
 *
 *   npm run bench:redis -- [--jobs 20000] [--repeat 5] [--only processing,latency,…]
 *
 * Rounds alternate Baton, BullMQ, Baton, BullMQ … per metric, so drift of a noisy machine hits
 * both; one untimed warm-up round per side comes first (scripts loaded, code JIT-compiled).
 * Each round uses its own namespace (Baton) or queue name (BullMQ), and deletes its keys after
 * itself (SCAN + UNLINK by prefix; never FLUSHALL: other data lives in this Redis).
 *
 * Metrics (each side's median over the rounds, every round, and the ratio Baton / BullMQ):
 * - processing: `--jobs` jobs pre-loaded, one worker at concurrency 100 drains them; jobs/s from
 *   the worker's start until the store acknowledged the last completion (Baton `task:succeeded`,
 *   BullMQ `completed`). Higher is better.
 * - bulkSubmit: one `submitTasks` / `addBulk` call of `--bulk` jobs; jobs/s. Higher is better.
 * - oneByOneSubmit: `--one-by-one` sequential awaited `submit` / `add` calls; jobs/s.
 *   The three throughput metrics also report CPU µs per job of this process and of redis-server
 *   (medians): unlike the rate, CPU per job barely moves when other work slows the machine.
 * - latency: submit → handler start on an idle worker (concurrency 10), one job at a time,
 *   `--gap-ms` apart after the previous one completed; p50 and p99 per round, in ms. Lower is better.
 * - recovery: a child process (`bench/fixtures/redis-worker.ts`) runs a worker with default
 *   settings, takes a long job and is SIGKILLed once it has started; this process runs a second
 *   worker with default settings; ms from the kill until the job starts again. Baton runs it
 *   `--baton-recoveries` times; BullMQ once, capped at `--bullmq-cap-ms` (its stalled check runs
 *   every 30 s by default). Lower is better.
 * - blockedEventLoop (Baton only): a child worker with default settings whose handler
 *   busy-blocks its event loop for `--block-ms` (1 s), while this process runs another worker
 *   (defaults) that sweeps; true when no task ran twice and no agent was declared lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { Keys } from '../src/backends/redis/keys.ts';
import type { TaskSpec } from '../src/core/types.ts';
import { Baton } from '../src/runtime/baton.ts';
import { median, percentile, round } from './stats.ts';

const METRICS = ['processing', 'bulk', 'oneByOne', 'latency', 'blocked', 'recovery'] as const;
type Metric = (typeof METRICS)[number];

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    repeat: { type: 'string', default: '5' },
    bulk: { type: 'string', default: '10000' },
    'one-by-one': { type: 'string', default: '3000' },
    samples: { type: 'string', default: '500' },
    'gap-ms': { type: 'string', default: '5' },
    'baton-recoveries': { type: 'string', default: '3' },
    'bullmq-cap-ms': { type: 'string', default: '120000' },
    'block-ms': { type: 'string', default: '1000' },
    only: { type: 'string' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const JOBS = Number(values.jobs);
const REPEAT = Number(values.repeat);
const BULK = Number(values.bulk);
const ONE_BY_ONE = Number(values['one-by-one']);
const SAMPLES = Number(values.samples);
const GAP_MS = Number(values['gap-ms']);
const BATON_RECOVERIES = Number(values['baton-recoveries']);
const BULLMQ_CAP_MS = Number(values['bullmq-cap-ms']);
const BLOCK_MS = Number(values['block-ms']);
const REDIS_URL = values.redis;
const ONLY = new Set<Metric>(
  values.only === undefined
    ? METRICS
    : values.only.split(',').map((m) => {
        if (!(METRICS as readonly string[]).includes(m)) {
          throw new Error(`--only: unknown metric '${m}'; use any of ${METRICS.join(', ')}`);
        }
        return m as Metric;
      }),
);

const redisAddress = new URL(REDIS_URL);
const connection = {
  host: redisAddress.hostname,
  port: Number(redisAddress.port || 6379),
};
const FIXTURE = fileURLToPath(new URL('./fixtures/redis-worker.ts', import.meta.url));

const progress = (message: string): void => {
  process.stderr.write(`[bench:redis] ${message}\n`);
};

// ── Isolation and clean-up ─────────────────────────────────────────────────────────────────

const admin = new Redis({
  ...connection,
  lazyConnect: true,
  maxRetriesPerRequest: 1,
  retryStrategy: () => null,
});
admin.on('error', () => undefined); // reported below, once
try {
  await admin.connect();
} catch (error) {
  process.stderr.write(
    `bench:redis: cannot reach Redis at ${connection.host}:${connection.port} (${error instanceof Error ? error.message : String(error)}); start redis-server there or pass --redis redis://host:port\n`,
  );
  process.exit(1);
}

/** Key patterns of rounds still alive, deleted on the way out even after an error or Ctrl-C. */
const live = new Set<string>();
const children = new Set<ChildProcess>();
let sequence = 0;
const runId = `${process.pid}-${Date.now().toString(36)}`;
const uniqueName = (side: 'baton' | 'bullmq'): string => `bench-${side}-${runId}-${++sequence}`;

async function deleteKeys(pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== '0');
  live.delete(pattern);
}

process.once('SIGINT', () => {
  for (const child of children) child.kill('SIGKILL');
  progress('interrupted: deleting the keys of the rounds in progress');
  void Promise.all([...live].map(deleteKeys)).finally(() => process.exit(130));
});

/** Run `fn` on a Baton client in a fresh namespace; close it and delete the namespace after. */
async function withBaton<T>(fn: (baton: Baton, namespace: string) => Promise<T>): Promise<T> {
  const namespace = uniqueName('baton');
  const pattern = new Keys(namespace).pattern();
  live.add(pattern);
  const baton = await Baton.open(REDIS_URL, { namespace });
  try {
    return await fn(baton, namespace);
  } finally {
    await baton.close();
    await deleteKeys(pattern);
  }
}

/** Run `fn` on a BullMQ queue with a fresh name; close it and delete its keys after. */
async function withQueue<T>(fn: (queue: Queue, name: string) => Promise<T>): Promise<T> {
  const name = uniqueName('bullmq');
  // BullMQ's default prefix is `bull`: every key of the queue starts with `bull:<name>:`.
  const pattern = `bull:${name}:*`;
  live.add(pattern);
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  try {
    return await fn(queue, name);
  } finally {
    await queue.close();
    await deleteKeys(pattern);
  }
}

// ── Helpers ────────────────────────────────────────────────────────────────────────────────

const noopTasks = (n: number): TaskSpec[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'noop', payload: { i } }));
const noopJobs = (n: number): { name: string; data: { i: number } }[] =>
  Array.from({ length: n }, (_, i) => ({ name: 'noop', data: { i } }));

/** Redis's own CPU time so far (main thread and children), in µs; server-wide. */
async function redisCpuUs(): Promise<number> {
  const info = await admin.info('cpu');
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

/** One timed round of a throughput metric. */
interface Round {
  perSec: number;
  /** CPU time of this process (client, and worker where there is one) per job, µs. */
  nodeCpuUs: number;
  /** CPU time of redis-server per job, µs (server-wide: other clients of this Redis count too). */
  redisCpuUs: number;
}

/**
 * Time `count` jobs' worth of `fn`: wall clock for the rate, plus CPU per job on both sides
 * (less sensitive than the rate to other work on the machine, which slows the wall clock).
 */
async function timed(count: number, fn: () => Promise<void>): Promise<Round> {
  const redis0 = await redisCpuUs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const redis = (await redisCpuUs()) - redis0;
  return {
    perSec: count / (ms / 1000),
    nodeCpuUs: (cpu.user + cpu.system) / count,
    redisCpuUs: redis / count,
  };
}

/** A promise and the function that resolves it. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves with the value, or with `null` once `ms` passed. */
async function capped<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  const controller = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(ms, null, { signal: controller.signal }).catch(() => null),
    ]);
  } finally {
    controller.abort();
  }
}

type Line = Record<string, unknown>;

/** A fixture worker process and the JSON lines it wrote. */
class Fixture {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  #stderr = '';
  readonly #lines: Line[] = [];
  #onLine: (() => void) | undefined;

  constructor(mode: 'baton-hold' | 'bullmq-hold' | 'baton-block', name: string) {
    this.child = spawn(process.execPath, [FIXTURE, mode, name, REDIS_URL, String(BLOCK_MS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(this.child);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', () => {
        children.delete(this.child);
        resolve();
        this.#onLine?.();
      }),
    );
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      try {
        this.#lines.push(JSON.parse(text) as Line);
      } catch {
        return; // not one of ours
      }
      this.#onLine?.();
    });
  }

  /** The first line matching `match`, waiting up to `timeoutMs` for it. */
  async waitFor(match: (line: Line) => boolean, timeoutMs = 30_000): Promise<Line> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.#lines.find(match);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`the fixture worker exited before reporting; its stderr:\n${this.#stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `the fixture worker reported nothing matching in ${timeoutMs} ms; its stderr:\n${this.#stderr}`,
        );
      }
      const next = deferred();
      this.#onLine = () => next.resolve();
      await capped(next.promise, left);
      this.#onLine = undefined;
    }
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }
}

// ── One round of each metric, per side ────────────────────────────────────────────────────

async function batonProcessing(jobs: number): Promise<Round> {
  return withBaton(async (baton) => {
    for (let i = 0; i < jobs; i += 10_000) {
      await baton.backend.submitTasks(noopTasks(Math.min(10_000, jobs - i)));
    }
    let done = 0;
    const drained = deferred();
    const worker = baton.worker({ concurrency: 100, handlers: { noop: () => null } });
    worker.on('task:succeeded', () => {
      if (++done === jobs) drained.resolve();
    });
    const round = await timed(jobs, async () => {
      await worker.start();
      await drained.promise;
    });
    await worker.stop();
    return round;
  });
}

async function bullmqProcessing(jobs: number): Promise<Round> {
  return withQueue(async (queue, name) => {
    for (let i = 0; i < jobs; i += 10_000) {
      await queue.addBulk(noopJobs(Math.min(10_000, jobs - i)));
    }
    let done = 0;
    const drained = deferred();
    const worker = new BullWorker(name, () => Promise.resolve(null), {
      connection,
      concurrency: 100,
      autorun: false,
    });
    worker.on('completed', () => {
      if (++done === jobs) drained.resolve();
    });
    await worker.waitUntilReady();
    let running: Promise<void> | undefined;
    const round = await timed(jobs, async () => {
      running = worker.run();
      await drained.promise;
    });
    await worker.close();
    await running;
    return round;
  });
}

async function batonBulk(count: number): Promise<Round> {
  return withBaton(async (baton) => {
    const tasks = noopTasks(count);
    return timed(count, async () => {
      await baton.backend.submitTasks(tasks);
    });
  });
}

async function bullmqBulk(count: number): Promise<Round> {
  return withQueue(async (queue) => {
    const jobs = noopJobs(count);
    return timed(count, async () => {
      await queue.addBulk(jobs);
    });
  });
}

async function batonOneByOne(count: number): Promise<Round> {
  return withBaton(async (baton) =>
    timed(count, async () => {
      for (let i = 0; i < count; i++) await baton.submit({ type: 'noop', payload: { i } });
    }),
  );
}

async function bullmqOneByOne(count: number): Promise<Round> {
  return withQueue(async (queue) =>
    timed(count, async () => {
      for (let i = 0; i < count; i++) await queue.add('noop', { i });
    }),
  );
}

interface LatencyRound {
  p50Ms: number;
  p99Ms: number;
}

/**
 * Submit → handler start, one job at a time: each job is submitted `GAP_MS` after the previous
 * one completed, so the worker is back in its idle wait.
 */
async function latencyLoop(
  samples: number,
  submit: (i: number) => Promise<unknown>,
  arm: (onStart: (i: number) => void, onDone: () => void) => void,
): Promise<LatencyRound> {
  const submittedAt: number[] = [];
  const results: number[] = [];
  let started: (() => void) | undefined;
  let completed: (() => void) | undefined;
  arm(
    (i) => {
      results.push(performance.now() - submittedAt[i]!);
      started?.();
    },
    () => completed?.(),
  );
  for (let i = 0; i < samples; i++) {
    await sleep(GAP_MS);
    const start = deferred();
    const done = deferred();
    started = start.resolve;
    completed = done.resolve;
    submittedAt[i] = performance.now();
    await submit(i);
    await start.promise;
    await done.promise;
  }
  return { p50Ms: percentile(results, 50), p99Ms: percentile(results, 99) };
}

async function batonLatency(samples: number): Promise<LatencyRound> {
  return withBaton(async (baton) => {
    let onStart!: (i: number) => void;
    const worker = baton.worker({
      concurrency: 10,
      handlers: {
        noop: ({ payload }) => {
          onStart((payload as { i: number }).i);
          return null;
        },
      },
    });
    let onDone!: () => void;
    worker.on('task:succeeded', () => onDone());
    await worker.start();
    try {
      return await latencyLoop(
        samples,
        (i) => baton.submit({ type: 'noop', payload: { i } }),
        (start, done) => {
          onStart = start;
          onDone = done;
        },
      );
    } finally {
      await worker.stop();
    }
  });
}

async function bullmqLatency(samples: number): Promise<LatencyRound> {
  return withQueue(async (queue, name) => {
    let onStart!: (i: number) => void;
    let onDone!: () => void;
    const worker = new BullWorker(
      name,
      (job) => {
        onStart((job.data as { i: number }).i);
        return Promise.resolve(null);
      },
      { connection, concurrency: 10 },
    );
    worker.on('completed', () => onDone());
    await worker.waitUntilReady();
    try {
      return await latencyLoop(
        samples,
        (i) => queue.add('noop', { i }),
        (start, done) => {
          onStart = start;
          onDone = done;
        },
      );
    } finally {
      await worker.close();
    }
  });
}

/** Wait a random 0.5–1.5 s so kills land at every phase of the victim's heartbeat/lock timers. */
const settle = (): Promise<void> => sleep(500 + Math.random() * 1000);

/** ms from SIGKILL of a Baton worker holding a task until another worker starts it again. */
async function batonRecovery(): Promise<number> {
  return withBaton(async (baton, namespace) => {
    const { id } = await baton.submit({ type: 'hold' });
    const victim = new Fixture('baton-hold', namespace);
    try {
      await victim.waitFor((line) => line.event === 'started' && line.id === id);
      const again = deferred<number>();
      const survivor = baton.worker({
        handlers: {
          hold: ({ task }) => {
            if (task.id === id) again.resolve(performance.now());
            return null;
          },
        },
      });
      await survivor.start();
      await settle();
      const killedAt = performance.now();
      await victim.kill();
      const restartedAt = await capped(again.promise, 60_000);
      if (restartedAt === null) throw new Error('Baton did not re-run the task within 60 s');
      return restartedAt - killedAt;
    } finally {
      await victim.kill();
    }
  });
}

/** The same for BullMQ; null when the job had not started again within `BULLMQ_CAP_MS`. */
async function bullmqRecovery(): Promise<number | null> {
  return withQueue(async (queue, name) => {
    const job = await queue.add('hold', {});
    const victim = new Fixture('bullmq-hold', name);
    let survivor: BullWorker | undefined;
    try {
      await victim.waitFor((line) => line.event === 'started' && line.id === job.id);
      const again = deferred<number>();
      survivor = new BullWorker(
        name,
        (j) => {
          if (j.id === job.id) again.resolve(performance.now());
          return Promise.resolve(null);
        },
        { connection },
      );
      await survivor.waitUntilReady();
      await settle();
      const killedAt = performance.now();
      await victim.kill();
      const restartedAt = await capped(again.promise, BULLMQ_CAP_MS);
      return restartedAt === null ? null : restartedAt - killedAt;
    } finally {
      await victim.kill();
      await survivor?.close(true);
    }
  });
}

interface BlockedResult {
  noFalseStall: boolean;
  tasks: number;
  attemptsPerTask: number[];
  agentsLost: number;
}

/**
 * A child worker (defaults, capability `blocker`) runs tasks whose handler blocks its event loop
 * for `BLOCK_MS`, one task at a time; this process runs a worker with defaults that cannot take them
 * but sweeps, as another agent of a pool would.
 */
async function batonBlocked(tasks: number): Promise<BlockedResult> {
  return withBaton(async (baton, namespace) => {
    const blocker = new Fixture('baton-block', namespace);
    try {
      await blocker.waitFor((line) => line.event === 'ready');
      const sweeper = baton.worker({ handlers: {} });
      await sweeper.start();
      const attemptsPerTask: number[] = [];
      let allSucceeded = true;
      for (let i = 0; i < tasks; i++) {
        const { id } = await baton.submit({ type: 'block', requires: ['blocker'] });
        const record = await baton.wait(id, { timeoutMs: 60_000 });
        if (record.state !== 'succeeded') allSucceeded = false;
        attemptsPerTask.push((await baton.attempts(id)).length);
        // Let heartbeats and sweeps run between blocks, as between tasks in real use.
        await sleep(1_000);
      }
      let agentsLost = 0;
      for await (const event of baton.events({ follow: false })) {
        if (event.type === 'agent.lost') agentsLost++;
      }
      return {
        noFalseStall: allSucceeded && agentsLost === 0 && attemptsPerTask.every((n) => n === 1),
        tasks,
        attemptsPerTask,
        agentsLost,
      };
    } finally {
      await blocker.kill();
    }
  });
}

// ── Rounds and the report ──────────────────────────────────────────────────────────────────

interface Side {
  median: number;
  runs: number[];
}

const side = (runs: number[], digits: number): Side => ({
  median: round(median(runs), digits),
  runs: runs.map((r) => round(r, digits)),
});

/** Baton / BullMQ of the medians. */
const ratio = (baton: number[], bullmq: number[]): number =>
  round(median(baton) / median(bullmq), 2);

/** B, Q, B, Q … `REPEAT` times each, after one untimed warm-up round per side. */
async function alternate<T>(
  label: string,
  baton: () => Promise<T>,
  bullmq: () => Promise<T>,
  warmup: { baton: () => Promise<T>; bullmq: () => Promise<T> },
): Promise<{ baton: T[]; bullmq: T[] }> {
  await warmup.baton();
  await warmup.bullmq();
  const out = { baton: [] as T[], bullmq: [] as T[] };
  for (let r = 0; r < REPEAT; r++) {
    out.baton.push(await baton());
    out.bullmq.push(await bullmq());
    const show = (value: T | undefined): string =>
      JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' ? round(v, 3) : v));
    progress(
      `${label} round ${r + 1}/${REPEAT}: baton ${show(out.baton.at(-1))}, bullmq ${show(out.bullmq.at(-1))}`,
    );
  }
  return out;
}

interface ThroughputSide extends Side {
  /** Medians over the rounds, µs per job. */
  cpuUsPerJob: { node: number; redis: number };
}

const throughputSide = (rounds: Round[]): ThroughputSide => ({
  ...side(
    rounds.map((r) => r.perSec),
    0,
  ),
  cpuUsPerJob: {
    node: round(median(rounds.map((r) => r.nodeCpuUs)), 1),
    redis: round(median(rounds.map((r) => r.redisCpuUs)), 1),
  },
});

async function throughput(
  label: string,
  baton: (n: number) => Promise<Round>,
  bullmq: (n: number) => Promise<Round>,
  count: number,
  warmupCount: number,
): Promise<{
  unit: string;
  better: string;
  baton: ThroughputSide;
  bullmq: ThroughputSide;
  ratio: number;
}> {
  const r = await alternate(
    label,
    () => baton(count),
    () => bullmq(count),
    { baton: () => baton(warmupCount), bullmq: () => bullmq(warmupCount) },
  );
  return {
    unit: 'jobs/s',
    better: 'higher (ratio > 1 favours Baton)',
    baton: throughputSide(r.baton),
    bullmq: throughputSide(r.bullmq),
    ratio: ratio(
      r.baton.map((x) => x.perSec),
      r.bullmq.map((x) => x.perSec),
    ),
  };
}

const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown';
const bullmqVersion = (
  JSON.parse(
    readFileSync(new URL('../node_modules/bullmq/package.json', import.meta.url), 'utf8'),
  ) as { version: string }
).version;

const result: Record<string, unknown> = {
  benchmark: 'redis-noop-baton-vs-bullmq',
  node: process.version,
  redis: redisVersion,
  bullmq: bullmqVersion,
  cpus: cpus().length,
  /** 1-minute load average at the start and the end: other work on the machine skews figures. */
  loadAverage: { start: round(loadavg()[0]!, 2), end: 0 },
  jobs: JOBS,
  repeat: REPEAT,
};
const targets: Record<string, { target: string; met: boolean }> = {};
const startedAt = performance.now();

try {
  if (ONLY.has('processing')) {
    const processing = await throughput(
      'processing',
      batonProcessing,
      bullmqProcessing,
      JOBS,
      2_000,
    );
    result.processing = { concurrency: 100, ...processing };
    targets.processing = { target: '≥ 2× BullMQ', met: processing.ratio >= 2 };
  }
  if (ONLY.has('bulk')) {
    const bulk = await throughput('bulkSubmit', batonBulk, bullmqBulk, BULK, 1_000);
    result.bulkSubmit = { perCall: BULK, ...bulk };
    targets.bulkSubmit = { target: '≥ 1.5× BullMQ', met: bulk.ratio >= 1.5 };
  }
  if (ONLY.has('oneByOne')) {
    result.oneByOneSubmit = {
      jobs: ONE_BY_ONE,
      ...(await throughput('oneByOneSubmit', batonOneByOne, bullmqOneByOne, ONE_BY_ONE, 200)),
    };
  }
  if (ONLY.has('latency')) {
    const r = await alternate(
      'latency',
      () => batonLatency(SAMPLES),
      () => bullmqLatency(SAMPLES),
      { baton: () => batonLatency(50), bullmq: () => bullmqLatency(50) },
    );
    const p50 = { baton: r.baton.map((x) => x.p50Ms), bullmq: r.bullmq.map((x) => x.p50Ms) };
    const p99 = { baton: r.baton.map((x) => x.p99Ms), bullmq: r.bullmq.map((x) => x.p99Ms) };
    result.latency = {
      unit: 'ms',
      better: 'lower (ratio < 1 favours Baton)',
      samplesPerRound: SAMPLES,
      gapMs: GAP_MS,
      concurrency: 10,
      p50: {
        baton: side(p50.baton, 3),
        bullmq: side(p50.bullmq, 3),
        ratio: ratio(p50.baton, p50.bullmq),
      },
      p99: {
        baton: side(p99.baton, 3),
        bullmq: side(p99.bullmq, 3),
        ratio: ratio(p99.baton, p99.bullmq),
      },
    };
    targets.latency = {
      target: 'p50 and p99 no worse than BullMQ',
      met: median(p50.baton) <= median(p50.bullmq) && median(p99.baton) <= median(p99.bullmq),
    };
  }
  if (ONLY.has('blocked')) {
    progress('blocked event loop check (Baton)…');
    const blocked = await batonBlocked(3);
    result.blockedEventLoop = { blockMs: BLOCK_MS, ...blocked };
    targets.blockedEventLoop = {
      target: `a handler blocking the event loop for ${BLOCK_MS} ms is not re-run`,
      met: blocked.noFalseStall,
    };
  }
  if (ONLY.has('recovery')) {
    // B, Q, then Baton's remaining runs: BullMQ's recovery takes 30–60 s, so it runs once.
    const batonRuns: number[] = [];
    progress('recovery: baton…');
    batonRuns.push(await batonRecovery());
    progress(`recovery: bullmq (up to ${BULLMQ_CAP_MS / 1000} s)…`);
    const bullmqMs = await bullmqRecovery();
    for (let r = 1; r < BATON_RECOVERIES; r++) {
      progress('recovery: baton…');
      batonRuns.push(await batonRecovery());
    }
    result.recovery = {
      unit: 'ms from SIGKILL to the job starting on another worker',
      better: 'lower (ratio < 1 favours Baton)',
      baton: { ...side(batonRuns, 0), max: round(Math.max(...batonRuns)) },
      bullmq:
        bullmqMs === null
          ? { ms: null, capped: true, capMs: BULLMQ_CAP_MS }
          : { ms: round(bullmqMs), capped: false },
      ratio: bullmqMs === null ? null : round(median(batonRuns) / bullmqMs, 3),
    };
    targets.recovery = {
      target: '≤ 5000 ms with default settings (every run)',
      met: Math.max(...batonRuns) <= 5_000,
    };
  }
  result.targets = targets;
  (result.loadAverage as { end: number }).end = round(loadavg()[0]!, 2);
  result.elapsedSeconds = round((performance.now() - startedAt) / 1000, 1);
  console.log(JSON.stringify(result, null, 2));
} finally {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([...live].map(deleteKeys));
  admin.disconnect();
}
