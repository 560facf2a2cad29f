/**
 * What the checking layer in front of every adapter costs (`src/backends/checked.ts`): the same
 * claim → complete loop through the bare adapter and through the checked one, side by side in
 * one process, rounds alternating bare, checked, bare, checked … after one untimed warm-up round
 * per side, so drift of a loaded machine hits both. Prints one JSON object (progress on stderr).
 *
 *   node bench/seam.ts [--tasks 20000] [--batch 100] [--repeat 5] [--stores sqlite,redis]
 *                      [--redis redis://127.0.0.1:6379]
 *
 * - loop (per store): `--tasks` no-op tasks submitted untimed; one agent claims `--batch` at a
 *   time and completes them (result `{ i }`) until none is left. Tasks/s and CPU µs per task of
 *   this process (`process.cpuUsage`; it moves less than the rate when other work slows the
 *   machine), each side's median, and the ratio checked / bare.
 * - checks: the checks alone (`inputs.ts`), CPU µs per call on batches of `--batch` items: what
 *   the layer adds to a claim, renew, complete, fail and release, whatever the store.
 *
 * Redis rounds each use their own namespace and delete exactly its keys afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { Backend } from '../src/backends/backend.ts';
import { checkedBackend } from '../src/backends/checked.ts';
import {
  checkClaim,
  checkCompletes,
  checkFails,
  checkReleases,
  checkRenew,
} from '../src/backends/inputs.ts';
import { Keys } from '../src/backends/redis/keys.ts';
import { RedisBackend } from '../src/backends/redis/redis-backend.ts';
import { SqliteBackend } from '../src/backends/sqlite/sqlite-backend.ts';
import { median, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '100' },
    repeat: { type: 'string', default: '5' },
    stores: { type: 'string', default: 'sqlite,redis' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const TASKS = Number(values.tasks);
const BATCH = Number(values.batch);
const REPEAT = Number(values.repeat);
const STORES = values.stores.split(',').filter((s) => s !== '');

type Side = 'bare' | 'checked';

interface Round {
  tasksPerSec: number;
  cpuUsPerTask: number;
}

/** One store to run rounds on: opens a fresh one per round, and deletes it after. */
interface Store {
  open(): Promise<{ backend: Backend; dispose: () => Promise<void> }>;
}

const sqlite: Store = {
  open() {
    const dir = mkdtempSync(join(tmpdir(), 'baton-bench-seam-'));
    const backend = new SqliteBackend({ path: join(dir, 'bench.db') });
    return Promise.resolve({
      backend,
      dispose: async () => {
        await backend.close();
        rmSync(dir, { recursive: true, force: true });
      },
    });
  },
};

function redis(url: string): Store {
  return {
    async open() {
      const namespace = `bench-seam-${process.pid}-${Math.random().toString(36).slice(2)}`;
      const backend = await RedisBackend.open(url, { namespace });
      return {
        backend,
        dispose: async () => {
          await backend.close();
          const client = new Redis(url);
          try {
            const pattern = `${new Keys(namespace).prefix}*`;
            let cursor = '0';
            do {
              const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
              cursor = next;
              if (keys.length > 0) await client.unlink(...keys);
            } while (cursor !== '0');
          } finally {
            client.disconnect();
          }
        },
      };
    },
  };
}

/** One round: submit untimed, then claim → complete batches until nothing is left. */
async function round1(store: Store, side: Side): Promise<Round> {
  const { backend: bare, dispose } = await store.open();
  const backend = side === 'checked' ? checkedBackend(bare) : bare;
  try {
    for (let i = 0; i < TASKS; i += 10_000) {
      const n = Math.min(10_000, TASKS - i);
      await backend.submitTasks(
        Array.from({ length: n }, (_, j) => ({ type: 'noop', payload: { i: i + j } })),
      );
    }
    const agent = await backend.registerAgent({ capabilities: [], concurrency: BATCH });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let done = 0;
    for (;;) {
      const leases = await backend.claim({
        agentId: agent.id,
        capabilities: [],
        max: BATCH,
        leaseTtlMs: 60_000,
      });
      if (leases.length === 0) break;
      const outcomes = await backend.complete(
        leases.map((l, i) => ({
          taskId: l.taskId,
          token: l.token,
          agentId: l.agentId,
          result: { i },
        })),
      );
      done += outcomes.filter((o) => o.status === 'ok').length;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (done !== TASKS) throw new Error(`completed ${done} of ${TASKS} tasks`);
    return {
      tasksPerSec: TASKS / seconds,
      cpuUsPerTask: (cpu.user + cpu.system) / TASKS,
    };
  } finally {
    await dispose();
  }
}

async function loop(name: string, store: Store) {
  const rounds: Record<Side, Round[]> = { bare: [], checked: [] };
  await round1(store, 'bare');
  await round1(store, 'checked');
  for (let r = 0; r < REPEAT; r++) {
    for (const side of ['bare', 'checked'] as const) {
      const result = await round1(store, side);
      rounds[side].push(result);
      process.stderr.write(
        `${name} ${side} round ${r + 1}: ${round(result.tasksPerSec)} tasks/s, ${round(result.cpuUsPerTask, 1)} µs CPU/task\n`,
      );
    }
  }
  const summary = (side: Side) => ({
    tasksPerSec: round(median(rounds[side].map((x) => x.tasksPerSec))),
    cpuUsPerTask: round(median(rounds[side].map((x) => x.cpuUsPerTask)), 1),
    runs: rounds[side].map((x) => round(x.tasksPerSec)),
  });
  const bare = summary('bare');
  const checked = summary('checked');
  return {
    bare,
    checked,
    ratio: {
      tasksPerSec: round(checked.tasksPerSec / bare.tasksPerSec, 3),
      cpuUsPerTask: round(checked.cpuUsPerTask / bare.cpuUsPerTask, 3),
    },
  };
}

/** CPU µs per call of `fn`, the median of five timings of `n` calls each. */
function cpuPerCall(fn: () => unknown, n = 2_000): number {
  for (let i = 0; i < n; i++) fn(); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < n; i++) fn();
    const cpu = process.cpuUsage(cpu0);
    runs.push((cpu.user + cpu.system) / n);
  }
  return round(median(runs), 2);
}

function checks() {
  const agentId = 'agt_01JBENCHBENCHBENCHBENCHBEN';
  const refs = Array.from({ length: BATCH }, (_, i) => ({
    taskId: `tsk_01JBENCHBENCHBENCHBENCH${String(i).padStart(4, '0')}`,
    token: i + 1,
    agentId,
  }));
  return {
    batch: BATCH,
    claimUs: cpuPerCall(() =>
      checkClaim({ agentId, capabilities: ['gpu', 'py'], max: BATCH, leaseTtlMs: 30_000 }),
    ),
    renewUs: cpuPerCall(() => checkRenew(agentId, refs, 30_000, undefined)),
    completeUs: cpuPerCall(() =>
      checkCompletes(
        refs.map((r, i) => ({ ...r, result: { i } })),
        1_048_576,
      ),
    ),
    failUs: cpuPerCall(() =>
      checkFails(refs.map((r) => ({ ...r, error: { message: 'boom', code: 'E' } }))),
    ),
    releaseUs: cpuPerCall(() => checkReleases(refs.map((r) => ({ ...r, delayMs: 1000 })))),
  };
}

const out: Record<string, unknown> = {
  tasks: TASKS,
  batch: BATCH,
  repeat: REPEAT,
  checks: checks(),
};
for (const name of STORES) {
  if (name === 'sqlite') out.sqlite = await loop('sqlite', sqlite);
  else if (name === 'redis') out.redis = await loop('redis', redis(values.redis));
  else throw new Error(`unknown store '${name}'; use sqlite, redis or both`);
}
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
