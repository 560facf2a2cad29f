/**
 * The heartbeat thread: a handler that blocks the event loop for 4 s (longer than the 3 s agent
 * TTL) while another worker process sweeps the store. With the thread, the agent is not declared
 * lost (it shows as stalled meanwhile, then recovers) and the task succeeds on its first
 * attempt; without it, the same block gets the agent declared lost and the attempt taken away.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { BatonEvent, TaskRecord } from '../../src/core/types.ts';
import type { Baton } from '../../src/runtime/baton.ts';
import { heartbeatThreadId } from '../../src/runtime/heartbeat.ts';
import { killAll, startNode } from '../helpers/node-process.ts';
import { useHarness } from './harness.ts';

const h = useHarness();
const sweeperScript = fileURLToPath(new URL('./fixtures/sweeper-worker.ts', import.meta.url));
const startStopScript = fileURLToPath(new URL('./fixtures/start-stop-worker.ts', import.meta.url));

afterEach(killAll);

/** Keeps the thread it runs on busy for `ms`: no timer, no I/O callback of that thread runs. */
function busyBlock(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
}

async function startSweeper(store: string): Promise<() => Promise<void>> {
  const sweeper = startNode(sweeperScript, [store]);
  await sweeper.waitFor(/"event":"started"/);
  return async () => {
    sweeper.child.kill('SIGTERM');
    const { code } = await sweeper.exited;
    expect(code, `the sweeper exits cleanly\n${sweeper.stderr}`).toBe(0);
  };
}

async function eventsOf(baton: Baton, agentId: string): Promise<BatonEvent['type'][]> {
  const types: BatonEvent['type'][] = [];
  for await (const event of baton.events({ follow: false })) {
    if (event.agentId === agentId && event.type.startsWith('agent.')) types.push(event.type);
  }
  return types;
}

/** Until an event of `type` by `agentId` is stored (a sweep records it), for up to 5 s. */
async function untilEvent(baton: Baton, agentId: string, type: BatonEvent['type']): Promise<void> {
  const signal = AbortSignal.timeout(5_000);
  for await (const event of baton.events({ signal })) {
    if (event.agentId === agentId && event.type === type) return;
  }
}

describe('the heartbeat thread', () => {
  it('is reused by a worker started after the last one stopped', async () => {
    const baton = await h.open();
    const first = await h.startWorker(baton, { handlers: { noop: () => null } });
    const id = heartbeatThreadId();
    expect(id).not.toBeNull();
    await first.stop();
    // No agent left: the thread lingers instead of ending at once.
    expect(heartbeatThreadId()).toBe(id);
    const second = await h.startWorker(baton, { handlers: { noop: () => null } });
    expect(heartbeatThreadId()).toBe(id);
    await second.stop();
  });

  it('does not keep a process alive while it lingers', async () => {
    const child = startNode(startStopScript, [`sqlite:${join(h.dir, 'exit.db')}`]);
    await child.waitFor(/^stopped \d+$/m);
    // From here the thread lingers 10 s with no agent; the process exits well before that (the
    // time to start it is not counted: a loaded machine takes seconds).
    const stoppedAt = Date.now();
    const { code } = await child.exited;
    expect(code, child.stderr).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
  });

  it('keeps an agent whose handler blocks the event loop past the agent TTL alive: the task succeeds once', async () => {
    const store = `sqlite:${join(h.dir, 'baton.db')}`;
    const baton = await h.open();
    const stopSweeper = await startSweeper(store);
    const worker = await h.startWorker(baton, {
      agentTtlMs: 3_000,
      handlers: {
        spin: () => {
          busyBlock(4_000);
          return 'done';
        },
      },
    });
    const { id } = await baton.submit({ type: 'spin', maxAttempts: 1 });
    const done = (await baton.wait(id)) as TaskRecord;
    expect(done.state, `${done.error?.message ?? ''}`).toBe('succeeded');
    expect(done.result).toBe('done');
    expect(done.attempts, 'one attempt: it was never taken away').toBe(1);
    expect((await baton.attempts(id)).map((a) => a.outcome)).toEqual(['succeeded']);

    await worker.onIdle();
    const agent = (await baton.agents()).find((a) => a.id === worker.agentId);
    expect(agent).toMatchObject({ state: 'active', version: expect.any(String) });
    expect(agent?.stats['spin']).toMatchObject({ succeeded: 1, failed: 0 });
    expect(agent?.stats['spin']?.meanRunMs).toBeGreaterThanOrEqual(4_000);
    expect(agent?.process.rssBytes, 'the thread reports the process memory').toBeGreaterThan(0);
    // The first sweep after the completion records the recovery: it may come after the
    // completion has been reported to us.
    await untilEvent(baton, worker.agentId, 'agent.recovered');
    await stopSweeper();
    await worker.stop();
    const types = await eventsOf(baton, worker.agentId);
    expect(types, 'never lost; stalled while blocked, recovered after').not.toContain('agent.lost');
    expect(types.filter((t) => t === 'agent.stalled')).toHaveLength(1);
    expect(types.indexOf('agent.recovered')).toBeGreaterThan(types.indexOf('agent.stalled'));
  });

  it('without it (heartbeatThread: false) the same block gets the agent declared lost', async () => {
    const store = `sqlite:${join(h.dir, 'baton.db')}`;
    const baton = await h.open();
    const stopSweeper = await startSweeper(store);
    const worker = await h.startWorker(baton, {
      heartbeatThread: false,
      agentTtlMs: 3_000,
      handlers: {
        spin: () => {
          busyBlock(4_000);
          return 'done';
        },
      },
    });
    const { id } = await baton.submit({ type: 'spin', maxAttempts: 1 });
    const done = (await baton.wait(id)) as TaskRecord;
    expect(done.state).toBe('failed');
    expect((await baton.attempts(id)).map((a) => a.outcome)).toEqual(['agent_lost']);
    await stopSweeper();
    await worker.stop();
    expect(await eventsOf(baton, worker.agentId)).toContain('agent.lost');
  });
});
