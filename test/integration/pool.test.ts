/**
 * The autoscaling pool with real worker processes on a SQLite store: it grows with the backlog
 * up to its max and shrinks to its min once idle; it replaces a worker killed with SIGKILL and
 * one over its memory limit, and their tasks still succeed; `baton pool` drains and exits 0 on
 * SIGTERM, leaving no worker behind.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentRecord } from '../../src/core/types.ts';
import { Pool, type PoolDecisionEvent, type PoolOptions } from '../../src/runtime/pool.ts';
import type { Baton } from '../../src/runtime/baton.ts';
import { useCli } from '../helpers/cli.ts';

const cli = useCli();

const POOL_WORKER = join(import.meta.dirname, 'fixtures', 'pool-worker.ts');
/** Short heartbeat and agent TTL so a killed worker's agent is declared lost within the test. */
const WORKER_ARGS = ['--heartbeat', '200ms', '--agent-ttl', '1500ms', '--log-level', 'warn'];

let pools: Pool[] = [];
/** Every worker pid seen, to prove none outlives its test. */
let pids = new Set<number>();

// Registered after useCli(), so it runs before the harness removes the test's directory.
afterEach(async () => {
  for (const pool of pools) for (const w of pool.workers) if (w.pid !== undefined) pids.add(w.pid);
  await Promise.all(
    pools.map((pool) => Promise.race([pool.stop({ graceMs: 5_000 }), sleep(15_000)])),
  );
  // Workers of a `baton pool` child are its children, not ours: find them in the store.
  if (existsSync(join(cli.dir, 'b.db'))) {
    const baton = await cli.open();
    for (const agent of await baton.agents()) if (agent.pid !== null) pids.add(agent.pid);
  }
  const leaked = [...pids].filter(alive);
  for (const pid of leaked) process.kill(pid, 'SIGKILL');
  pools = [];
  pids = new Set();
  expect(leaked, 'worker processes left running after the test').toEqual([]);
});

/**
 * A worker of this test still running: the pid is alive and (where `/proc` tells) its command
 * line names this test's directory, so a pid reused by an unrelated process never counts.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(cli.dir);
  } catch {
    return process.platform !== 'linux';
  }
}

function startPool(options: PoolOptions): Pool {
  const pool = new Pool({
    store: cli.store,
    tickMs: 200,
    workerArgs: WORKER_ARGS,
    stdio: 'inherit',
    stopGraceMs: 10_000,
    logger: pino({ level: 'warn' }, pino.destination(2)),
    ...options,
  });
  pools.push(pool);
  pool.on('pool.scaled_up', () => {
    for (const w of pool.workers) if (w.pid !== undefined) pids.add(w.pid);
  });
  pool.on('pool.restarted', () => {
    for (const w of pool.workers) if (w.pid !== undefined) pids.add(w.pid);
  });
  return pool;
}

function record(pool: Pool): Record<PoolDecisionEvent['type'], PoolDecisionEvent[]> {
  const seen: Record<PoolDecisionEvent['type'], PoolDecisionEvent[]> = {
    'pool.scaled_up': [],
    'pool.scaled_down': [],
    'pool.restarted': [],
  };
  for (const type of Object.keys(seen) as PoolDecisionEvent['type'][]) {
    pool.on(type, (event) => seen[type].push(event));
  }
  return seen;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const active = (agents: AgentRecord[]): AgentRecord[] => agents.filter((a) => a.state === 'active');

async function sleepRun(baton: Baton, count: number, seconds: string): Promise<string> {
  const tasks = Array.from({ length: count }, (_, i) => ({
    key: `t${i + 1}`,
    type: 'shell',
    payload: { command: 'sleep', args: [seconds] },
    requires: ['shell'],
  }));
  const { runId } = await baton.submitRun({ name: 'slow', tasks });
  return runId;
}

describe('Pool', () => {
  it('grows to its max with the backlog, then shrinks to its min once idle', async () => {
    const baton = await cli.open();
    const pool = startPool({
      min: 1,
      max: 4,
      spawnThreshold: 5,
      idleTimeoutMs: 1_500,
      concurrency: 2,
    });
    const seen = record(pool);
    await pool.start();
    expect(seen['pool.scaled_up'].map((e) => e.reason)).toEqual(['0 workers < min 1']);
    await until(
      'the first worker to register',
      async () => active(await baton.agents()).length === 1,
    );

    const runId = await sleepRun(baton, 100, '0.3');
    let peak = 0;
    const done = baton.wait(runId, { timeoutMs: 60_000 });
    let finished = false;
    void done.finally(() => (finished = true)).catch(() => undefined);
    while (!finished) {
      peak = Math.max(peak, active(await baton.agents()).length);
      await sleep(50);
    }
    const run = await done;
    expect(run.state).toBe('succeeded');
    const { tasks } = await baton.tasks({ runId, limit: 100 });
    expect(tasks.filter((t) => t.state === 'succeeded')).toHaveLength(100);

    // Grew to max: three more workers, all for the backlog, and four live agents at once.
    const ups = seen['pool.scaled_up'].slice(1);
    expect(ups).toHaveLength(3);
    for (const up of ups) {
      expect(up.reason).toMatch(/^eligible depth \d+ over 1 agent = \d+(\.\d)? > threshold 5$/);
    }
    expect(peak).toBe(4);
    expect(new Set(tasks.map((t) => t.agentId)).size).toBeGreaterThan(1);

    // Shrinks to min once the workers have been idle for the idle timeout.
    await until('the pool to shrink to 1', () => pool.size === 1 && pool.workers.length === 1);
    const downs = seen['pool.scaled_down'];
    expect(downs).toHaveLength(3);
    for (const down of downs)
      expect(down.reason).toMatch(/^idle \d+(\.\d)?s >= idle timeout 1.5s$/);
    expect(downs.map((d) => d.workers)).toEqual([3, 2, 1]);
    // Every decision is in the store's event stream too, with its worker and reason.
    const stream: { type: string; agentId: string | null; reason: unknown }[] = [];
    for await (const e of baton.events({ follow: false })) {
      if (e.type.startsWith('pool.')) {
        stream.push({ type: e.type, agentId: e.agentId, reason: e.data.reason });
      }
    }
    const decisions = [...seen['pool.scaled_up'], ...downs].map((d) => ({
      type: d.type,
      agentId: d.workerId,
      reason: d.reason,
    }));
    expect(stream).toEqual(expect.arrayContaining(decisions));
    expect(stream).toHaveLength(decisions.length);
    await until('three agents to leave', async () => {
      const agents = await baton.agents();
      return (
        agents.filter((a) => a.state === 'stopped').length === 3 && active(agents).length === 1
      );
    });
    // Scaled down by SIGTERM: a graceful exit, never a replacement.
    expect(seen['pool.restarted']).toEqual([]);
  });

  it('replaces a worker killed with SIGKILL, and its task still succeeds', async () => {
    const baton = await cli.open();
    const pool = startPool({ min: 2, max: 2, concurrency: 1 });
    const seen = record(pool);
    await pool.start();
    const runId = await sleepRun(baton, 4, '1');

    const running = await until('a task to run', async () => {
      const { tasks } = await baton.tasks({ state: 'running', runId });
      return tasks.find((t) => t.agentId !== null);
    });
    const victim = pool.workers.find((w) => w.id === running.agentId);
    expect(victim?.pid).toBeDefined();
    process.kill(victim!.pid!, 'SIGKILL');

    const restarted = await until('pool.restarted', () => seen['pool.restarted'][0]);
    expect(restarted).toMatchObject({
      workerId: victim!.id,
      reason: 'exited with signal SIGKILL',
      workers: 2,
    });
    expect(restarted.replacementId).toMatch(/^agt_/);
    expect(restarted.replacementId).not.toBe(victim!.id);

    const run = await baton.wait(runId, { timeoutMs: 30_000 });
    expect(run.state).toBe('succeeded');
    const attempts = await baton.attempts(running.id);
    expect(attempts.find((a) => a.agentId === victim!.id)?.outcome).toMatch(
      /^(agent_lost|lease_expired)$/,
    );
    const success = attempts.find((a) => a.outcome === 'succeeded');
    expect(success?.agentId).toBeDefined();
    expect(success?.agentId).not.toBe(victim!.id);
    expect((await baton.agents()).find((a) => a.id === victim!.id)?.state).toBe('lost');
    expect(pool.size).toBe(2);
    expect(seen['pool.scaled_up']).toHaveLength(2); // the replacement is a restart, not a scale-up
  });

  it('restarts a worker over its memory limit; its task goes back and runs again', async () => {
    const baton = await cli.open();
    const marker = join(cli.dir, 'hogged');
    const pool = startPool({
      min: 1,
      max: 1,
      // Each worker idles at ~120 MiB; the first attempt of the task fills 300 MiB more.
      maxMemoryBytes: 256 * 1024 * 1024,
      restartGraceMs: 10_000,
      spawnWorker: (ctx) => ({
        command: process.execPath,
        args: [POOL_WORKER, ctx.store, ctx.agentId, ctx.name],
      }),
    });
    const seen = record(pool);
    await pool.start();
    const { id } = await baton.submit({ type: 'hog', payload: { marker, mb: 300 } });

    const restarted = await until('pool.restarted', () => seen['pool.restarted'][0]);
    expect(restarted.reason).toMatch(/^memory \d+(\.\d)?MB > 256MB$/);
    const first = seen['pool.scaled_up'][0]?.workerId;
    expect(restarted.workerId).toBe(first);

    const task = await baton.wait(id, { timeoutMs: 30_000 });
    expect(task).toMatchObject({ state: 'succeeded', result: 'ran again' });
    const attempts = await baton.attempts(id);
    // Given back at once (the second SIGTERM), not left to the agent TTL.
    expect(attempts.find((a) => a.agentId === first)?.outcome).toBe('released');
    expect(attempts.find((a) => a.outcome === 'succeeded')?.agentId).toBe(restarted.replacementId);
    expect(seen['pool.restarted']).toHaveLength(1);
  });

  it('sweeps the store itself: a silent agent is declared lost while no worker of the pool sweeps', async () => {
    // Its one "worker" is a process that neither registers nor sweeps.
    const pool = startPool({
      min: 1,
      max: 1,
      sweep: { agentTtlMs: 1_000 },
      spawnWorker: () => ({
        command: process.execPath,
        args: ['-e', 'setInterval(() => {}, 1000)', cli.dir],
      }),
    });
    await pool.start();
    const baton = await cli.open();
    // An agent with no host or pid (an HTTP worker elsewhere) takes a task and goes silent.
    const agent = await baton.backend.registerAgent({ capabilities: [], concurrency: 1 });
    const { id } = await baton.submit({ type: 'job' });
    const [lease] = await baton.backend.claim({
      agentId: agent.id,
      capabilities: [],
      max: 1,
      leaseTtlMs: 60_000,
    });
    expect(lease?.taskId).toBe(id);
    const deadline = Date.now() + 15_000;
    let state = 'running';
    while (state === 'running' && Date.now() < deadline) {
      await sleep(100);
      state = (await baton.get(id))?.state ?? 'missing';
    }
    expect(state, 'the task was given back').toBe('ready');
    expect((await baton.attempts(id)).map((a) => a.outcome)).toEqual(['agent_lost']);
    expect((await baton.agents()).find((a) => a.id === agent.id)?.state).toBe('lost');
  });

  it('refuses limits that make no sense, naming the field', () => {
    expect(() => new Pool({ store: cli.store, min: 3, max: 2 })).toThrow(
      /min \(3\) is above max \(2\)/,
    );
    expect(() => new Pool({ store: 'sqlite::memory:' })).toThrow(/separate processes/);
    expect(() => new Pool({ store: cli.store, tickMs: 0 })).toThrow(/tickMs/);
  });
});

describe('baton pool', () => {
  it('drains its workers on SIGTERM and exits 0, leaving no worker running', async () => {
    const pool = cli.start([
      'pool',
      '--store',
      cli.store,
      '--min',
      '2',
      '--max',
      '2',
      '--tick',
      '200ms',
      '--heartbeat',
      '200ms',
      '--agent-ttl',
      '1500ms',
    ]);
    const baton = await cli.open();
    const agents = await until('two workers to register', async () => {
      const list = active(await baton.agents());
      return list.length === 2 ? list : undefined;
    });
    const { id } = await baton.submit({
      type: 'shell',
      payload: { command: 'sleep', args: ['1'] },
    });
    await until('the task to run', async () => (await baton.get(id))?.state === 'running');

    pool.child.kill('SIGTERM');
    const exited = await pool.exited;
    expect(exited.code, exited.stderr).toBe(0);
    expect(exited.stderr).toMatch(/pool\.scaled_up: 0 workers < min 2/);

    // Drained: the running task finished on its worker rather than being given back.
    const task = await baton.get(id);
    expect(task?.state).toBe('succeeded');
    expect(await baton.attempts(id)).toHaveLength(1);
    for (const agent of agents) {
      expect(agent.pid).not.toBeNull();
      expect(alive(agent.pid!), `worker ${agent.id} (pid ${agent.pid})`).toBe(false);
    }
    expect((await baton.agents()).map((a) => a.state)).toEqual(['stopped', 'stopped']);
  });

  it('refuses --min above --max with a usage error, touching nothing', async () => {
    const result = await cli.run(['pool', '--store', cli.store, '--min', '5', '--max', '2']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--min \(5\) is above --max \(2\)/);
    expect(existsSync(join(cli.dir, 'b.db'))).toBe(false);
  });

  it('refuses a size it cannot read', async () => {
    const result = await cli.run(['pool', '--max-memory', 'lots']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--max-memory.*expected a size such as 512MB/);
  });
});
