/**
 * Test harness for the runtime: a fresh SQLite file in a fresh temp dir per test, a log
 * capture, and an `afterEach` that fails the test when it left a worker running.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { afterEach, beforeEach } from 'vitest';
import { Baton, type OpenOptions } from '../../src/runtime/baton.ts';
import type { Worker, WorkerOptions } from '../../src/runtime/worker.ts';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger that keeps every line (debug and up) in memory. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text.trim() !== '') lines.push(JSON.parse(text) as LogLine);
      }
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** pino's numeric levels. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

export interface Harness {
  /** The temp directory of the current test. */
  readonly dir: string;
  /** Open a client on the test's SQLite file (closed after the test). */
  open(options?: OpenOptions): Promise<Baton>;
  /** The first client opened in this test (opened on first use). */
  baton(): Promise<Baton>;
  /** Create and start a worker, tracked so a leaked one fails the test. */
  startWorker(baton: Baton, options: WorkerOptions): Promise<Worker>;
  /** Workers started in this test that have not stopped. */
  runningWorkers(): Worker[];
  /** Captured log lines of the clients opened without a logger. */
  readonly logs: LogLine[];
}

/**
 * Register the per-test lifecycle. The `afterEach` stops and reports any worker still running:
 * a test must stop what it starts (graphile-worker does the same).
 */
export function useHarness(): Harness {
  let dir = '';
  let clients: Baton[] = [];
  let first: Baton | undefined;
  let workers = new Set<Worker>();
  let capture = captureLogger();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'baton-runtime-'));
    clients = [];
    first = undefined;
    workers = new Set();
    capture = captureLogger();
  });

  afterEach(async () => {
    const leaked = [...workers].filter((w) => w.running);
    // Stop them anyway so one bad test does not break the next ones.
    await Promise.all(leaked.map((w) => w.stop({ graceMs: 0 })));
    await Promise.all(clients.map((c) => c.close()));
    await rm(dir, { recursive: true, force: true });
    if (leaked.length > 0) {
      throw new Error(
        `test left ${leaked.length} worker(s) running: ${leaked.map((w) => w.agentId).join(', ')}; stop every worker you start`,
      );
    }
  });

  const harness: Harness = {
    get dir() {
      return dir;
    },
    get logs() {
      return capture.lines;
    },
    async open(options = {}) {
      const client = await Baton.open(`sqlite:${join(dir, 'baton.db')}`, {
        logger: capture.logger,
        ...options,
      });
      clients.push(client);
      return client;
    },
    async baton() {
      first ??= await harness.open();
      return first;
    },
    async startWorker(baton, options) {
      const worker = baton.worker({ sweepIntervalMs: 50, idleWaitMs: 200, ...options });
      workers.add(worker);
      await worker.start();
      return worker;
    },
    runningWorkers() {
      return [...workers].filter((w) => w.running);
    },
  };
  return harness;
}

/** A promise with its resolve function outside: a gate a handler waits on. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
} {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves when `signal` aborts, with its reason. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}
