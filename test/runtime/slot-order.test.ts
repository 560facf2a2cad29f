/**
 * A worker's slot is leased once at a time, as the store sees it: the outcome of a slot's task
 * reaches the store before the claim of that slot's next task. So, on one-slot agents, the
 * recorded attempts of each agent never overlap (the next starts at or after the last one
 * finished), and the store never counts more running tasks than the agents have slots.
 * Real workers on a SQLite file and on Redis.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import type { AttemptRecord } from '../../src/core/types.ts';
import { Baton } from '../../src/runtime/baton.ts';
import type { Worker } from '../../src/runtime/worker.ts';
import { REDIS_URL, deleteNamespaces, redisAnswers } from '../helpers/redis.ts';

const redisAvailable = await redisAnswers();
const ci = process.env.CI === 'true';
const namespaces: string[] = [];
afterAll(() => deleteNamespaces(namespaces));

const AGENTS = 4;
const TASKS = 200;

async function runOneSlotAgents(baton: Baton): Promise<void> {
  const workers: Worker[] = [];
  for (let i = 0; i < AGENTS; i++) {
    workers.push(
      baton.worker({
        concurrency: 1,
        handlers: { tick: () => null },
      }),
    );
  }
  await Promise.all(workers.map((w) => w.start()));
  let maxRunning = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      maxRunning = Math.max(maxRunning, (await baton.stats()).byState.running);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  try {
    const { runId } = await baton.submitRun({
      name: 'slots',
      tasks: Array.from({ length: TASKS }, (_, i) => ({ key: `t${i}`, type: 'tick' })),
    });
    const run = await baton.wait(runId, { timeoutMs: 60_000 });
    expect(run.state).toBe('succeeded');
  } finally {
    sampling = false;
    await sampler;
    await Promise.all(workers.map((w) => w.stop()));
  }
  expect(maxRunning, 'running tasks the store counted at once').toBeLessThanOrEqual(AGENTS);

  const byAgent = new Map<string, AttemptRecord[]>();
  const { tasks } = await baton.tasks({ limit: 1000 });
  for (const task of tasks) {
    for (const attempt of await baton.attempts(task.id)) {
      const list = byAgent.get(attempt.agentId) ?? [];
      list.push(attempt);
      byAgent.set(attempt.agentId, list);
    }
  }
  let overlaps = 0;
  for (const attempts of byAgent.values()) {
    attempts.sort((a, b) => a.startedAt - b.startedAt || (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
    for (let i = 1; i < attempts.length; i++) {
      if (attempts[i]!.startedAt < attempts[i - 1]!.finishedAt!) overlaps++;
    }
  }
  expect(overlaps, 'attempts of one one-slot agent that started before its last one finished').toBe(
    0,
  );
}

describe('one lease per slot at a time, as the store records it', () => {
  it('sqlite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-slots-'));
    const baton = await Baton.open(`sqlite:${join(dir, 'b.db')}`);
    try {
      await runOneSlotAgents(baton);
    } finally {
      await baton.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!redisAvailable && !ci)('redis', async () => {
    if (!redisAvailable) throw new Error('CI=true and no Redis answers on 127.0.0.1:6379');
    const namespace = `test-${randomUUID()}`;
    namespaces.push(namespace);
    const baton = await Baton.open(REDIS_URL, { namespace });
    try {
      await runOneSlotAgents(baton);
    } finally {
      await baton.close();
    }
  });
});
