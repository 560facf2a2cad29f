/**
 * When the queue runs dry, a worker makes one empty claim, not two: the claim it sends after
 * its last task's outcome reaches the store after that outcome (the settler's `whenSent`), so
 * when the outcome's answer comes back there is nothing new to look for, and the worker keeps
 * waiting (the store wakes it for new work). A fleet of 500 one-slot workers made 1,000 empty
 * claims at the end of every run before. Real workers on a SQLite file and on Redis; a dependent
 * task still starts after its dependency, which that claim must see.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { Baton } from '../../src/runtime/baton.ts';
import { REDIS_URL, deleteNamespaces, redisAnswers } from '../helpers/redis.ts';

const redisAvailable = await redisAnswers();
const ci = process.env.CI === 'true';
const namespaces: string[] = [];
afterAll(() => deleteNamespaces(namespaces));

/** Claims that came back empty after `armed` is set, counted on the worker's own backend. */
function countEmptyClaims(baton: Baton): { empty: () => number; arm: () => void } {
  const backend = baton.backend;
  const claim = backend.claim.bind(backend);
  let armed = false;
  let empty = 0;
  backend.claim = async (request) => {
    const leases = await claim(request);
    if (armed && leases.length === 0) empty++;
    return leases;
  };
  return { empty: () => empty, arm: () => (armed = true) };
}

async function drainOnce(baton: Baton): Promise<number> {
  const counter = countEmptyClaims(baton);
  const worker = baton.worker({
    concurrency: 1,
    // No idle timeout within the test: only the store's wake-ups end a wait.
    idleWaitMs: 600_000,
    heartbeatThread: false,
    handlers: { step: () => new Promise((resolve) => setTimeout(() => resolve(null), 5)) },
  });
  await worker.start();
  try {
    await worker.onIdle();
    counter.arm();
    const { runId } = await baton.submitRun({
      name: 'idle',
      tasks: [
        { key: 'a', type: 'step' },
        { key: 'b', type: 'step', dependsOn: ['a'] },
        { key: 'c', type: 'step', dependsOn: ['b'] },
      ],
    });
    const run = await baton.wait(runId, { timeoutMs: 30_000 });
    expect(run.state, 'each dependent ran after its dependency').toBe('succeeded');
    // Room for a second claim to happen, were one made (it follows the last answer at once).
    await new Promise((resolve) => setTimeout(resolve, 300));
    return counter.empty();
  } finally {
    await worker.stop();
  }
}

describe('a worker whose queue runs dry', () => {
  it('sqlite: one empty claim', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-idle-'));
    const baton = await Baton.open(`sqlite:${join(dir, 'baton.db')}`);
    try {
      expect(await drainOnce(baton), 'empty claims after the last task').toBe(1);
    } finally {
      await baton.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!redisAvailable && !ci)('redis: one empty claim', async () => {
    if (!redisAvailable) throw new Error('CI=true and no Redis answers on 127.0.0.1:6379');
    const namespace = `test-${randomUUID()}`;
    namespaces.push(namespace);
    const baton = await Baton.open(REDIS_URL, { namespace });
    try {
      expect(await drainOnce(baton), 'empty claims after the last task').toBe(1);
    } finally {
      await baton.close();
    }
  });
});
