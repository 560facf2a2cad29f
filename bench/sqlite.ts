/**
 * No-op task benchmarks on the SQLite backend. Prints one JSON object.
 *
 *   npm run bench -- [--tasks 20000] [--repeat 5]
 *
 * - bulkSubmit: tasks/s of one `submitTasks` call of 10,000 tasks (median of `repeat`).
 * - processing: tasks/s drained by one worker at concurrency 100 with a no-op handler.
 * - latency: submit → handler start, one task at a time on an idle worker (p50/p99, ms).
 * - dependencyRelease: a chain a1 → a2 → …; time from a handler returning to its dependent's
 *   handler starting (p50/p99, ms).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Baton } from '../src/runtime/baton.ts';
import type { TaskSpec } from '../src/core/types.ts';
import { median, percentile, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '20000' },
    repeat: { type: 'string', default: '5' },
    samples: { type: 'string', default: '1000' },
  },
});
const TASKS = Number(values.tasks);
const REPEAT = Number(values.repeat);
const SAMPLES = Number(values.samples);

async function withStore<T>(fn: (baton: Baton) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
  const baton = await Baton.open(`sqlite:${join(dir, 'bench.db')}`);
  try {
    return await fn(baton);
  } finally {
    await baton.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const noop = (n: number): TaskSpec[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'noop', payload: { i } }));

async function bulkSubmit(): Promise<{ tasksPerSec: number; runs: number[] }> {
  const runs: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    await withStore(async (baton) => {
      const tasks = noop(10_000);
      const t0 = performance.now();
      await baton.backend.submitTasks(tasks);
      runs.push(10_000 / ((performance.now() - t0) / 1000));
    });
  }
  return { tasksPerSec: round(median(runs)), runs: runs.map((r) => round(r)) };
}

async function processing(): Promise<{ tasksPerSec: number; runs: number[] }> {
  const runs: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    await withStore(async (baton) => {
      for (let i = 0; i < TASKS; i += 10_000) {
        await baton.backend.submitTasks(noop(Math.min(10_000, TASKS - i)));
      }
      let done = 0;
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      const worker = baton.worker({
        concurrency: 100,
        handlers: {
          noop: () => {
            if (++done === TASKS) setImmediate(finish);
            return null;
          },
        },
      });
      const t0 = performance.now();
      await worker.start();
      await finished;
      await worker.onIdle();
      runs.push(TASKS / ((performance.now() - t0) / 1000));
      await worker.stop();
    });
  }
  return { tasksPerSec: round(median(runs)), runs: runs.map((r) => round(r)) };
}

async function latency(): Promise<{ p50Ms: number; p99Ms: number; samples: number }> {
  return withStore(async (baton) => {
    const submittedAt = new Map<number, number>();
    const samples: number[] = [];
    let next: (() => void) | undefined;
    const worker = baton.worker({
      concurrency: 10,
      handlers: {
        noop: ({ payload }) => {
          const i = (payload as { i: number }).i;
          samples.push(performance.now() - submittedAt.get(i)!);
          next?.();
          return null;
        },
      },
    });
    await worker.start();
    for (let i = 0; i < SAMPLES; i++) {
      // Let the worker settle into its idle wait before each submit.
      await new Promise((resolve) => setTimeout(resolve, 2));
      const started = new Promise<void>((resolve) => (next = resolve));
      submittedAt.set(i, performance.now());
      await baton.submit({ type: 'noop', payload: { i } });
      await started;
    }
    await worker.stop();
    return {
      p50Ms: round(percentile(samples, 50), 3),
      p99Ms: round(percentile(samples, 99), 3),
      samples: samples.length,
    };
  });
}

async function dependencyRelease(): Promise<{ p50Ms: number; p99Ms: number; samples: number }> {
  return withStore(async (baton) => {
    const length = Math.min(SAMPLES, 1000);
    const endedAt = new Map<number, number>();
    const samples: number[] = [];
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const tasks: TaskSpec[] = Array.from({ length }, (_, i) => ({
      type: 'link',
      key: `a${i}`,
      payload: { i },
      ...(i > 0 ? { dependsOn: [`a${i - 1}`] } : {}),
    }));
    const worker = baton.worker({
      concurrency: 10,
      handlers: {
        link: ({ payload }) => {
          const i = (payload as { i: number }).i;
          const prev = endedAt.get(i - 1);
          if (prev !== undefined) samples.push(performance.now() - prev);
          endedAt.set(i, performance.now());
          if (i === length - 1) finish();
          return null;
        },
      },
    });
    await worker.start();
    await baton.submitRun({ name: 'chain', tasks });
    await finished;
    await worker.stop();
    return {
      p50Ms: round(percentile(samples, 50), 3),
      p99Ms: round(percentile(samples, 99), 3),
      samples: samples.length,
    };
  });
}

const result = {
  benchmark: 'sqlite-noop',
  node: process.version,
  tasks: TASKS,
  repeat: REPEAT,
  bulkSubmit: await bulkSubmit(),
  processing: await processing(),
  latency: await latency(),
  dependencyRelease: await dependencyRelease(),
};
console.log(JSON.stringify(result, null, 2));
