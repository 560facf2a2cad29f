/**
 * What a routing decision costs (docs/routing.md). Prints one JSON object.
 *
 *   node bench/routing.ts [--decisions 200000] [--claims 2000] [--repeat 5] [--redis redis://127.0.0.1:6379]
 *
 * - decision: µs per `ClaimRouter.decide` (the core rule, no I/O) with 1, 5 and 50 peers, over
 *   tasks that mix affinity rules, failed agents and per-type history.
 * - sqliteClaim / redisClaim: µs per `claim` of one task from 10 000 ready ones (median of
 *   `repeat` runs of `claims` claims; each lease is completed outside the timing):
 *   - `alone`: the claiming agent is the only live one: routing cannot matter (the fast path);
 *   - `disabled`: four live peers pull the same queue, `routing: { enabled: false }`;
 *   - `active`: the same four peers, default routing; no task is left to them;
 *   - `activeLeaving`: as active, but every other task prefers a label only one peer has (it has
 *     16 slots and never claims), so each claim reads past the tasks it leaves to that peer.
 *   The Redis figures need a Redis at the URL given (skipped when none answers).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Backend } from '../src/backends/backend.ts';
import { openBackend } from '../src/backends/open.ts';
import {
  ClaimRouter,
  DEFAULT_ROUTING,
  type AgentView,
  type RoutingPolicy,
  type RoutingTask,
  type TypeHistory,
} from '../src/core/routing.ts';
import type { TaskSpec } from '../src/core/types.ts';
import { median, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    decisions: { type: 'string', default: '200000' },
    claims: { type: 'string', default: '2000' },
    repeat: { type: 'string', default: '5' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const DECISIONS = Number(values.decisions);
const CLAIMS = Number(values.claims);
const REPEAT = Number(values.repeat);
const READY = 10_000;
/** Slots so large that the claimer's growing load never makes it leave tasks to a peer. */
const SLOTS = 10_000;
/** The peers' slots: a task left to a peer takes one of them, so a claim skips at most this many. */
const PEER_SLOTS = 16;

// ── The core decision ───────────────────────────────────────────────────────────────────────

function decisionMicros(peerCount: number): number {
  const history = (s: number, f: number): ReadonlyMap<string, TypeHistory> =>
    new Map([['x', { succeeded: s, failed: f, totalRunMs: s * 120 }]]);
  const view = (id: string, i: number): AgentView => ({
    id,
    labels: { region: i % 2 === 0 ? 'eu' : 'us', gpu: i % 3 === 0 ? 'a100' : 'none' },
    concurrency: 8,
    inFlight: i % 8,
    recent: i % 5,
    lastClaimAt: 0,
    history: history(10 + (i % 7), i % 3),
  });
  const self = view('self', 1);
  const peers = Array.from({ length: peerCount }, (_, i) => view(`peer${i}`, i + 2));
  const tasks: RoutingTask[] = Array.from({ length: 64 }, (_, i) => ({
    type: 'x',
    affinity:
      i % 2 === 0
        ? [
            { label: 'region', value: 'eu', weight: 1 },
            { label: 'gpu', value: 'a100', weight: 2 },
          ]
        : [],
    failedAgents: i % 4 === 0 ? ['self', 'peer3'] : [],
    readySince: 0,
  }));
  const takes = (): boolean => true;
  const runs: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    // A fresh router per 64 decisions: a claim decides about its candidates, then ends.
    const t0 = performance.now();
    for (let n = 0; n < DECISIONS; n += tasks.length) {
      const router = new ClaimRouter(self, peers, DEFAULT_ROUTING, 1);
      for (const task of tasks) router.decide(task, takes);
    }
    runs.push(((performance.now() - t0) * 1000) / DECISIONS);
  }
  return round(median(runs), 3);
}

// ── A claim on a real store ─────────────────────────────────────────────────────────────────

type Scenario = 'alone' | 'disabled' | 'active' | 'activeLeaving';

interface Store {
  open(routing: Partial<RoutingPolicy>): Promise<Backend>;
  cleanup(): Promise<void>;
}

async function claimMicros(store: Store, scenario: Scenario): Promise<number> {
  const backend = await store.open(scenario === 'disabled' ? { enabled: false } : {});
  try {
    const me = await backend.registerAgent({ capabilities: [], concurrency: SLOTS });
    const pull = (agentId: string) =>
      backend.claim({ agentId, capabilities: [], max: 1, leaseTtlMs: 60_000 });
    await pull(me.id);
    const peers: string[] = [];
    if (scenario !== 'alone') {
      for (let i = 0; i < 4; i++) {
        const peer = await backend.registerAgent({
          capabilities: [],
          concurrency: PEER_SLOTS,
          labels: { region: i === 0 ? 'eu' : 'us' },
        });
        await pull(peer.id);
        peers.push(peer.id);
      }
    }
    const leaving = scenario === 'activeLeaving';
    for (let i = 0; i < READY; i += 1000) {
      const batch: TaskSpec[] = Array.from({ length: 1000 }, (_, j) => ({
        type: 'noop',
        ...(leaving && j % 2 === 0 ? { affinity: [{ label: 'region', value: 'eu' }] } : {}),
      }));
      await backend.submitTasks(batch);
    }
    let micros = 0;
    let claimed = 0;
    for (let n = 0; n < CLAIMS; n++) {
      // Keep the peers alive (agentLiveMs) on the real clock.
      if (n % 200 === 0) for (const peer of peers) await backend.heartbeat(peer);
      const t0 = performance.now();
      const [lease] = await pull(me.id);
      micros += (performance.now() - t0) * 1000;
      if (!lease) continue;
      claimed++;
      await backend.complete([
        { taskId: lease.taskId, token: lease.token, agentId: lease.agentId, result: null },
      ]);
    }
    if (claimed < CLAIMS * 0.9)
      throw new Error(`${scenario}: only ${claimed} of ${CLAIMS} claims took a task`);
    return micros / CLAIMS;
  } finally {
    await backend.close();
  }
}

async function claims(store: () => Promise<Store>): Promise<Record<Scenario, number>> {
  const out = {} as Record<Scenario, number>;
  for (const scenario of ['alone', 'disabled', 'active', 'activeLeaving'] as const) {
    const runs: number[] = [];
    for (let r = 0; r < REPEAT; r++) {
      const s = await store();
      try {
        runs.push(await claimMicros(s, scenario));
      } finally {
        await s.cleanup();
      }
    }
    out[scenario] = round(median(runs), 1);
  }
  return out;
}

function sqliteStore(): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-routing-'));
  return Promise.resolve({
    open: (routing) => openBackend(`sqlite:${join(dir, 'bench.db')}`, { routing }),
    cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  });
}

function redisStore(): Promise<Store> {
  const namespace = `bench-routing-${randomUUID()}`;
  return Promise.resolve({
    open: (routing) => openBackend(values.redis, { namespace, routing }),
    async cleanup() {
      const { Redis } = await import('ioredis');
      const client = new Redis(values.redis, { lazyConnect: true });
      await client.connect();
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(
          cursor,
          'MATCH',
          `{baton:${namespace}}:*`,
          'COUNT',
          1000,
        );
        cursor = next;
        if (keys.length > 0) await client.unlink(...keys);
      } while (cursor !== '0');
      client.disconnect();
    },
  });
}

async function redisAnswers(): Promise<boolean> {
  try {
    const backend = await openBackend(values.redis, { namespace: `bench-probe-${randomUUID()}` });
    await backend.close();
    return true;
  } catch {
    return false;
  }
}

const result = {
  decision: {
    unit: 'µs per decision',
    peers1: decisionMicros(1),
    peers5: decisionMicros(5),
    peers50: decisionMicros(50),
  },
  sqliteClaim: { unit: 'µs per claim of 1 task', ...(await claims(sqliteStore)) },
  redisClaim: (await redisAnswers())
    ? { unit: 'µs per claim of 1 task', ...(await claims(redisStore)) }
    : { skipped: `no Redis answers at ${values.redis}` },
  node: process.version,
  decisions: DECISIONS,
  claims: CLAIMS,
  repeat: REPEAT,
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
