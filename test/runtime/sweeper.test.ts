/**
 * The sweeper: a role of its own that any long-lived process hosts. How it judges silence:
 * - an agent of its own host whose process is alive is starved, not dead: spared until
 *   `maxSilenceMs`; a killed one is declared lost within the TTL;
 * - delays the sweeper met itself (its timer late, its sweeps slow) are allowed for;
 * - the workers of one process on one store share one sweeper.
 * Real processes, signals and SQLite files.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { openBackend } from '../../src/backends/open.ts';
import type { Backend } from '../../src/backends/backend.ts';
import { processAlive } from '../../src/runtime/local-process.ts';
import { Sweeper, shareSweeper } from '../../src/runtime/sweeper.ts';
import { killAll, startNode } from '../helpers/node-process.ts';
import { useHarness } from './harness.ts';
import { afterEach } from 'vitest';

const h = useHarness();
afterEach(killAll);
const silentAgentScript = fileURLToPath(new URL('./fixtures/silent-agent.ts', import.meta.url));

async function stateOf(backend: Backend, agentId: string): Promise<string | undefined> {
  return (await backend.listAgents()).find((a) => a.id === agentId)?.state;
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

function busyBlock(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin: no timer of this thread runs meanwhile
  }
}

describe('processAlive', () => {
  it('says this process is alive, an exited one is not, nor one that started after the time given', async () => {
    expect(processAlive(process.pid, Date.now())).toBe(true);
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid!;
    await new Promise((resolve) => child.once('exit', resolve));
    expect(processAlive(pid, Date.now())).toBe(false);
    if (process.platform === 'linux') {
      // This process started well before a minute ago? Its start is after "an hour ago".
      expect(processAlive(process.pid, Date.now() - 3_600_000)).toBe(false);
    }
    expect(processAlive(0, Date.now())).toBe(false);
    expect(processAlive(-1, Date.now())).toBe(false);
  });
});

describe('sweeper', () => {
  it('spares a silent agent whose process on this host is alive, and declares it lost once the process is killed', async () => {
    const store = `sqlite:${join(h.dir, 'b.db')}`;
    const backend = await openBackend(store, { namespace: 'spare' });
    const child = startNode(silentAgentScript, [store, 'spare']);
    await child.waitFor(/"event":"registered"/);
    const agentId = (JSON.parse(child.stdout.trim().split('\n')[0]!) as { agentId: string })
      .agentId;
    const sweeper = new Sweeper(backend, { intervalMs: 100, agentTtlMs: 1_000 });
    sweeper.start();
    try {
      // Three TTLs of silence: alive, so not lost.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await stateOf(backend, agentId)).toBe('active');
      child.child.kill('SIGKILL');
      await child.exited;
      expect(
        await until(async () => (await stateOf(backend, agentId)) === 'lost', 10_000),
        'declared lost once its process is gone',
      ).toBe(true);
    } finally {
      await sweeper.stop();
      await backend.close();
    }
  });

  it('declares a silent agent lost after maxSilenceMs even when its process is alive', async () => {
    const store = `sqlite:${join(h.dir, 'b.db')}`;
    const backend = await openBackend(store, { namespace: 'max' });
    const child = startNode(silentAgentScript, [store, 'max']);
    await child.waitFor(/"event":"registered"/);
    const agentId = (JSON.parse(child.stdout.trim().split('\n')[0]!) as { agentId: string })
      .agentId;
    const sweeper = new Sweeper(backend, {
      intervalMs: 100,
      agentTtlMs: 1_000,
      maxSilenceMs: 2_000,
    });
    sweeper.start();
    try {
      expect(await until(async () => (await stateOf(backend, agentId)) === 'lost', 15_000)).toBe(
        true,
      );
      expect(child.alive, 'the process still runs').toBe(true);
    } finally {
      await sweeper.stop();
      await backend.close();
    }
  });

  it('allows for its own delays: silence it could not observe while starved does not make an agent lost', async () => {
    for (const allowForDelays of [true, false]) {
      const backend = await openBackend(`sqlite:${join(h.dir, `d-${allowForDelays}.db`)}`);
      // No host or pid: the sweeper cannot look at its process, only at its silence.
      const agent = await backend.registerAgent({ capabilities: [], concurrency: 1 });
      const sweeper = new Sweeper(backend, { intervalMs: 50, agentTtlMs: 1_000, allowForDelays });
      sweeper.start();
      try {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await backend.heartbeat(agent.id);
        // This process, the sweeper's, is starved for 1.5 s: the agent's heartbeats would have
        // been too. The first sweep after it comes 1.5 s late.
        busyBlock(1_500);
        await new Promise((resolve) => setTimeout(resolve, 200));
        if (allowForDelays) {
          expect(sweeper.delayAllowanceMs).toBeGreaterThanOrEqual(1_000);
          expect(await stateOf(backend, agent.id)).toBe('active');
        } else {
          expect(sweeper.delayAllowanceMs).toBe(0);
          expect(await stateOf(backend, agent.id), 'judged by its silence alone').toBe('lost');
        }
      } finally {
        await sweeper.stop();
        await backend.close();
      }
    }
  });

  it('is shared by the workers of one process on one store, per set of options', async () => {
    const baton = await h.baton();
    const a = shareSweeper(baton.backend, { agentTtlMs: 3_000 });
    const b = shareSweeper(baton.backend, { agentTtlMs: 3_000 });
    const c = shareSweeper(baton.backend, { agentTtlMs: 5_000 });
    expect(a.sweeper).toBe(b.sweeper);
    expect(c.sweeper).not.toBe(a.sweeper);
    await a.release();
    expect(b.sweeper.running, 'still one user').toBe(true);
    await b.release();
    expect(b.sweeper.running, 'the last user left').toBe(false);
    await c.release();
  });

  it('refuses malformed options', () => {
    expect(() => new Sweeper({} as Backend, { intervalMs: 0 })).toThrow(
      /intervalMs: must be a positive integer/,
    );
    expect(() => new Sweeper({} as Backend, { maxSilenceMs: -1 })).toThrow(
      /maxSilenceMs: must be an integer ≥ 0/,
    );
    expect(
      () => new Sweeper({} as Backend, { allowForDelays: 'yes' as unknown as boolean }),
    ).toThrow(/allowForDelays: must be true or false/);
  });
});
