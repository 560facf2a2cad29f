/**
 * WAL checkpoints off the event loop.
 *
 * In WAL mode every commit appends to the `-wal` file, and a checkpoint copies those pages back
 * into the database file and fsyncs it. SQLite normally runs a checkpoint inside whichever commit
 * crosses 1000 pages, which stalls that commit (and the whole event loop: `node:sqlite` is
 * synchronous) for milliseconds: the tail of the submit→start latency. Instead, connections of
 * the backend turn automatic checkpoints off and one worker thread per process runs `PASSIVE`
 * checkpoints (they never block readers or writers) on its own connection to each open file.
 *
 * If the worker cannot start or dies, the connections take their automatic checkpoints back.
 */
import { Worker } from 'node:worker_threads';

/** How often the worker checkpoints each file it watches, in ms. */
const CHECKPOINT_INTERVAL_MS = 100;
/** How long closing a backend waits for the worker to let go of its file. */
const UNWATCH_TIMEOUT_MS = 2000;

type ToWorker = { type: 'add'; path: string } | { type: 'remove'; path: string; id: number };
type FromWorker = { type: 'removed'; id: number };

/**
 * The worker's code. It runs in the worker thread through `eval`, so it imports nothing and
 * reaches modules through `process.getBuiltinModule`.
 */
function checkpointWorker(intervalMs: number, busyTimeoutMs: number): void {
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
  const files = new Map<string, { db: InstanceType<typeof DatabaseSync>; refs: number }>();
  let timer: NodeJS.Timeout | undefined;

  const checkpointAll = (): void => {
    for (const { db } of files.values()) {
      try {
        db.exec('PRAGMA wal_checkpoint(PASSIVE)');
      } catch {
        // Busy or gone: the next round tries again; a removed file is closed on 'remove'.
      }
    }
  };

  parentPort?.on('message', (message: ToWorker) => {
    const entry = files.get(message.path);
    if (message.type === 'add') {
      if (entry) entry.refs++;
      else {
        try {
          files.set(message.path, {
            db: new DatabaseSync(message.path, { timeout: busyTimeoutMs }),
            refs: 1,
          });
        } catch {
          return;
        }
      }
      timer ??= setInterval(checkpointAll, intervalMs);
      return;
    }
    if (entry && --entry.refs === 0) {
      files.delete(message.path);
      try {
        entry.db.close();
      } catch {
        // Already unusable: nothing to release.
      }
      if (files.size === 0) {
        clearInterval(timer);
        timer = undefined;
      }
    }
    const reply: FromWorker = { type: 'removed', id: message.id };
    parentPort?.postMessage(reply);
  });
}

let worker: Worker | null = null;
let workerFailed = false;
/** What each watched connection does if the worker dies: take its checkpoints back. */
const fallbacks = new Set<() => void>();
/** Removals the worker has not acknowledged yet, by message id. */
const pending = new Map<number, () => void>();
let nextId = 0;

function startWorker(busyTimeoutMs: number): Worker | null {
  if (worker || workerFailed) return worker;
  try {
    const started = new Worker(
      `(${checkpointWorker.toString()})(${CHECKPOINT_INTERVAL_MS}, ${busyTimeoutMs})`,
      {
        eval: true,
      },
    );
    started.on('message', (message: FromWorker) => {
      pending.get(message.id)?.();
    });
    started.on('error', () => {
      workerFailed = true;
      worker = null;
      for (const take of [...fallbacks]) take();
      fallbacks.clear();
      for (const done of [...pending.values()]) done();
    });
    // The worker never keeps the process alive by itself; only a pending removal does. (After
    // the listeners: adding a 'message' listener refs the worker's port again.)
    started.unref();
    worker = started;
  } catch {
    workerFailed = true;
  }
  return worker;
}

/**
 * Have the process's checkpoint worker watch `path`.
 *
 * @param fallback called if the worker dies later: turn automatic checkpoints back on.
 * @returns whether it does; when false, keep SQLite's automatic checkpoints on the connection.
 */
export function watchCheckpoints(
  path: string,
  busyTimeoutMs: number,
  fallback: () => void,
): boolean {
  const w = startWorker(busyTimeoutMs);
  if (!w) return false;
  fallbacks.add(fallback);
  const message: ToWorker = { type: 'add', path };
  w.postMessage(message);
  return true;
}

/**
 * Stop watching `path` (once per successful {@link watchCheckpoints}, with its fallback).
 * Resolves once the worker has closed its connection (if this was the last watcher of the
 * file), so the caller's own close is the last one: it checkpoints and removes the WAL, and no
 * thread touches the file afterwards.
 */
export function unwatchCheckpoints(path: string, fallback: () => void): Promise<void> {
  fallbacks.delete(fallback);
  const w = worker;
  if (!w) return Promise.resolve();
  const id = nextId++;
  return new Promise<void>((resolve) => {
    const done = (): void => {
      if (!pending.delete(id)) return;
      clearTimeout(timer);
      if (pending.size === 0) w.unref();
      resolve();
    };
    // A worker stuck in a long checkpoint must not block a close forever.
    const timer = setTimeout(done, UNWATCH_TIMEOUT_MS);
    pending.set(id, done);
    w.ref();
    const message: ToWorker = { type: 'remove', path, id };
    w.postMessage(message);
  });
}
