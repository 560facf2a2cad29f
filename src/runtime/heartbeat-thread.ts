/**
 * The heartbeat thread's code (see `heartbeat.ts`): one thread per process heartbeats the agents
 * of that process's workers, each on its own timer, with a report of the process's CPU and
 * memory. It opens its own connection to each store (one per store URL and namespace, shared by
 * the agents on it) and runs on its own event loop, so a handler that blocks the main thread's
 * loop cannot starve it. It never touches leases: the workers' loops renew those, so a hung task
 * is still caught when its lease runs out.
 *
 * Messages in: `add` (start heartbeating an agent), `remove` (stop, closing the store once no
 * agent uses it), `report` (what the agent's worker adds to its reports: abandoned handlers),
 * `exit` (end the thread). Out, each naming the `id` of the `add`: `added` once
 * its store is open (or `failed`), `lost` when the agent was declared lost, `error` for another
 * failed heartbeat (it keeps trying), `removed`.
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import type { Backend } from '../backends/backend.ts';
import { openBackend } from '../backends/open.ts';
import { AgentLostError } from '../core/errors.ts';
import type { FromHeartbeatThread, ToHeartbeatThread } from './heartbeat.ts';
import { ProcessSampler } from './process-sampler.ts';

if (parentPort === null) {
  throw new Error('heartbeat-thread.ts runs as a worker thread (see heartbeat.ts)');
}
const port: MessagePort = parentPort;
const post = (message: FromHeartbeatThread): void => port.postMessage(message);
const describe = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** Open stores by URL and namespace, with the number of agents using each. */
const stores = new Map<string, { opened: Promise<Backend>; users: number }>();

interface Beating {
  store: string;
  /** Samples the process for each report; carries the agent's abandoned handlers too. */
  sampler: ProcessSampler;
  timer: NodeJS.Timeout | undefined;
  /** The heartbeat under way, if any. */
  running: Promise<void> | undefined;
  removed: boolean;
}
const agents = new Map<number, Beating>();
/** Set by `exit`: nothing starts any more. */
let exiting = false;

async function add(message: Extract<ToHeartbeatThread, { type: 'add' }>): Promise<void> {
  const key = JSON.stringify([message.url, message.namespace]);
  let store = stores.get(key);
  if (!store) {
    store = { opened: openBackend(message.url, { namespace: message.namespace }), users: 0 };
    stores.set(key, store);
  }
  store.users++;
  const sampler = new ProcessSampler();
  const entry: Beating = {
    store: key,
    sampler,
    timer: undefined,
    running: undefined,
    removed: false,
  };
  agents.set(message.id, entry);
  let backend: Backend;
  try {
    backend = await store.opened;
  } catch (error) {
    agents.delete(message.id);
    await release(key);
    post({ type: 'failed', id: message.id, message: describe(error) });
    return;
  }
  if (entry.removed || exiting) return;
  sampler.sample(); // the baseline the first report's CPU is measured from
  const beat = async (): Promise<void> => {
    try {
      await backend.heartbeat(message.agentId, sampler.sample());
    } catch (error) {
      if (entry.removed) return;
      if (error instanceof AgentLostError) post({ type: 'lost', id: message.id });
      else post({ type: 'error', id: message.id, message: describe(error) });
    }
  };
  entry.timer = setInterval(() => {
    if (entry.running !== undefined) return; // the previous heartbeat is still out
    entry.running = beat().finally(() => {
      entry.running = undefined;
    });
  }, message.intervalMs);
  post({ type: 'added', id: message.id });
}

async function remove(id: number): Promise<void> {
  const entry = agents.get(id);
  if (entry) {
    agents.delete(id);
    entry.removed = true;
    clearInterval(entry.timer);
    await entry.running;
    await release(entry.store);
  }
  post({ type: 'removed', id });
}

/** One agent less on a store: close it when it was the last. */
async function release(key: string): Promise<void> {
  const store = stores.get(key);
  if (!store || --store.users > 0) return;
  stores.delete(key);
  try {
    await (await store.opened).close();
  } catch {
    // never opened, or already unusable: nothing to close
  }
}

/**
 * End the thread: stop every timer and close every store (normally none is left: each agent was
 * removed first; one whose `add` timed out may still beat), then let the event loop run out.
 */
async function exit(): Promise<void> {
  exiting = true;
  await Promise.all([...agents.keys()].map((id) => remove(id)));
  port.close();
}

port.on('message', (message: ToHeartbeatThread) => {
  switch (message.type) {
    case 'add':
      void add(message);
      return;
    case 'remove':
      void remove(message.id);
      return;
    case 'report': {
      const entry = agents.get(message.id);
      if (entry) entry.sampler.abandonedHandlers = message.abandonedHandlers;
      return;
    }
    case 'exit':
      void exit();
      return;
  }
});
