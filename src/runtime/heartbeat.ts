/**
 * Heartbeats from a worker thread. A handler that blocks the event loop (CPU-bound JavaScript)
 * starves every timer of its thread, the heartbeat's too: its agent would be declared lost and
 * its tasks run twice. One thread per process (`heartbeat-thread.ts`) heartbeats the agents of
 * the process's workers on its own event loop, over its own connection to each store (reopened
 * from the backend's {@link StoreLocation}), so they stay alive while the main thread is busy.
 * It heartbeats only: leases are renewed by each worker's loop, so with an agent TTL of 3 s and
 * a lease TTL of 30 s a blocked main thread keeps its agent (shown as stalled if the block
 * outlasts `stallAfterMs`), and a truly hung task is still caught when its lease runs out.
 *
 * The thread starts with the first agent and ends {@link THREAD_LINGER_MS} after the last one
 * left, unless another comes meanwhile: a process that starts workers one after another (a pool
 * scaling with load, plans run back to back) reuses it instead of booting a new one (a new
 * isolate that loads the store's client again). It never keeps the process alive by
 * itself, only while an `add` or `remove` is waiting for its answer.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { StoreLocation } from '../backends/backend.ts';

export type ToHeartbeatThread =
  | { type: 'add'; id: number; url: string; namespace: string; agentId: string; intervalMs: number }
  | { type: 'remove'; id: number }
  | { type: 'report'; id: number; abandonedHandlers: number }
  | { type: 'exit' };

export type FromHeartbeatThread =
  | { type: 'added'; id: number }
  | { type: 'failed'; id: number; message: string }
  | { type: 'lost'; id: number }
  | { type: 'error'; id: number; message: string }
  | { type: 'removed'; id: number };

export interface HeartbeatOptions {
  location: StoreLocation;
  agentId: string;
  /** Time between heartbeats, in ms. */
  intervalMs: number;
  /** The agent was declared lost: the worker registers it again. */
  onLost: () => void;
  /** A heartbeat failed for another reason (the thread keeps trying). */
  onError: (error: Error) => void;
  /** The thread died: the agent is not heartbeaten from it any more. */
  onDied: (error: Error) => void;
}

/** An agent the thread heartbeats (once `started` resolves); `stop()` ends it in any state. */
export interface ThreadHeartbeat {
  /**
   * Resolves once the thread beats for the agent. Rejects when it cannot: the thread could not
   * open the store, died, gave no answer within {@link START_TIMEOUT_MS}, or `stop()` came first.
   */
  readonly started: Promise<void>;
  /**
   * Stop heartbeating the agent (or stop it starting); resolves once the thread has let go of
   * it (and closed a store no agent uses any more), or is gone.
   */
  stop(): Promise<void>;
  /** Report this many abandoned handlers with the agent's next heartbeats (`AgentReport`). */
  setAbandonedHandlers(count: number): void;
}

/**
 * Longest wait for the thread to boot and open a store. Generous: on a starved machine a new
 * thread takes seconds to load its modules, and meanwhile the worker's loop heartbeats.
 */
const START_TIMEOUT_MS = 120_000;
/** Longest wait for the thread to let go of an agent. */
const STOP_TIMEOUT_MS = 10_000;

/** How long the thread stays up with no agent (its stores are closed meanwhile). */
const THREAD_LINGER_MS = 10_000;

/** The thread's module, next to this one: `.ts` when running from source, `.js` from `dist/`. */
const THREAD_URL = new URL(
  `./heartbeat-thread${extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

interface Agent {
  options: HeartbeatOptions;
  /** Waiting for `added` (or `failed`). */
  adding: Pending | undefined;
  /** Waiting for `removed`. */
  removing: Pending | undefined;
}

interface SharedThread {
  worker: Worker;
  agents: Map<number, Agent>;
  /** Answers waited for: the thread is ref'd while there are any. */
  waiting: number;
  /** Ends the thread once it has had no agent for THREAD_LINGER_MS. */
  linger: NodeJS.Timeout | undefined;
}

let thread: SharedThread | null = null;
let nextId = 1;

function startThread(): SharedThread {
  const worker = new Worker(THREAD_URL);
  const shared: SharedThread = { worker, agents: new Map(), waiting: 0, linger: undefined };
  worker.on('message', (message: FromHeartbeatThread) => {
    const agent = shared.agents.get(message.id);
    if (!agent) return;
    switch (message.type) {
      case 'added':
        agent.adding?.resolve();
        return;
      case 'removed':
        agent.adding?.reject(new Error('the heartbeat was stopped before the thread started it'));
        agent.removing?.resolve();
        return;
      case 'failed':
        agent.adding?.reject(
          new Error(`the heartbeat thread could not open the store: ${message.message}`),
        );
        return;
      case 'lost':
        agent.options.onLost();
        return;
      case 'error':
        agent.options.onError(new Error(`heartbeat failed: ${message.message}`));
        return;
    }
  });
  const died = (error: Error): void => {
    if (thread === shared) thread = null;
    clearTimeout(shared.linger);
    for (const agent of shared.agents.values()) {
      const waited = agent.adding !== undefined || agent.removing !== undefined;
      agent.adding?.reject(error);
      agent.removing?.resolve(); // nothing of it is left to stop
      if (!waited) agent.options.onDied(error);
    }
    shared.agents.clear();
  };
  worker.on('error', died);
  worker.on('exit', (code) => died(new Error(`the heartbeat thread exited (code ${code})`)));
  worker.unref();
  return shared;
}

/**
 * Send a message and wait for its answer (`added` for an add, `removed` for a remove), keeping
 * the process up meanwhile.
 */
function ask(
  shared: SharedThread,
  agent: Agent,
  slot: 'adding' | 'removing',
  message: ToHeartbeatThread,
  timeoutMs: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // `done` clears it; an answer can only arrive after this synchronous code has run.
    const timer = setTimeout(
      () =>
        agent[slot]?.reject(
          new Error(`the heartbeat thread did not answer within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    const done = (): void => {
      clearTimeout(timer);
      agent[slot] = undefined;
      if (--shared.waiting === 0) shared.worker.unref();
    };
    agent[slot] = {
      resolve: () => {
        done();
        resolve();
      },
      reject: (error) => {
        done();
        reject(error);
      },
    };
    if (shared.waiting++ === 0) shared.worker.ref();
    shared.worker.postMessage(message);
  });
}

/** The id of the process's heartbeat thread while it runs (lingering too), else null. */
export function heartbeatThreadId(): number | null {
  return thread?.worker.threadId ?? null;
}

/**
 * Heartbeat an agent from the process's heartbeat thread (started if needed). Returns at once;
 * `started` says when (or whether) the thread beats for it, while the caller heartbeats on its
 * own meanwhile.
 * @throws Error when no thread can be created at all.
 */
export function heartbeatInThread(options: HeartbeatOptions): ThreadHeartbeat {
  thread ??= startThread();
  const shared = thread;
  clearTimeout(shared.linger);
  shared.linger = undefined;
  const id = nextId++;
  const agent: Agent = { options, adding: undefined, removing: undefined };
  shared.agents.set(id, agent);
  const started = ask(
    shared,
    agent,
    'adding',
    {
      type: 'add',
      id,
      url: options.location.url,
      namespace: options.location.namespace,
      agentId: options.agentId,
      intervalMs: options.intervalMs,
    },
    START_TIMEOUT_MS,
  );
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!shared.agents.has(id)) return; // the thread died meanwhile, or never started it
      try {
        await ask(shared, agent, 'removing', { type: 'remove', id }, STOP_TIMEOUT_MS);
      } catch {
        // The thread is gone or stuck: nothing of this agent is left to stop.
      }
      shared.agents.delete(id);
      endIfUnused(shared);
    })();
    return stopping;
  };
  // A start that failed (store not opened, no answer) leaves nothing to stop in the thread.
  started.catch(() => {
    if (stopping === undefined) {
      shared.agents.delete(id);
      endIfUnused(shared);
    }
  });
  return {
    started,
    stop,
    setAbandonedHandlers: (count) => {
      if (!shared.agents.has(id)) return;
      const message: ToHeartbeatThread = { type: 'report', id, abandonedHandlers: count };
      shared.worker.postMessage(message);
    },
  };
}

/**
 * The last agent left: end the thread unless an agent comes within THREAD_LINGER_MS (the next
 * agent after that starts a new one).
 */
function endIfUnused(shared: SharedThread): void {
  if (shared.agents.size > 0 || shared.linger !== undefined) return;
  shared.linger = setTimeout(() => {
    shared.linger = undefined;
    if (shared.agents.size > 0) return;
    if (thread === shared) thread = null;
    const message: ToHeartbeatThread = { type: 'exit' };
    shared.worker.postMessage(message);
  }, THREAD_LINGER_MS);
  shared.linger.unref();
}
