/**
 * Budgets cannot be overshot by concurrency (docs/costs.md), with real concurrency: five worker
 * processes of ten slots each take 50 tasks of one run whose budget fits 20 of their calls, and
 * every call reserves its worst case at the same moment. On a real SQLite file and on the real
 * Redis at 127.0.0.1:6379 (a namespace of its own, deleted afterwards; under CI a missing Redis
 * fails the test): exactly 20 calls are made, the recorded spend is within the budget, and the
 * other 30 tasks fail with BATON_BUDGET_EXCEEDED after one attempt.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { Baton } from '../../src/runtime/baton.ts';
import { killAll, startNode, type NodeProcess } from '../helpers/node-process.ts';
import { REDIS_URL, deleteNamespaces, redisAnswers } from '../helpers/redis.ts';

const WORKER = new URL('./fixtures/budget-worker.ts', import.meta.url).pathname;
const TASKS = 50;
const PROCESSES = 5;
const BUDGET_USD = 1;
const CALL_USD = 0.05; // 20 of them fit

const available = await redisAnswers();
const ci = process.env.CI === 'true';
const dir = mkdtempSync(join(tmpdir(), 'baton-budget-'));
const namespaces: string[] = [];

afterEach(async () => {
  await killAll();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (available) await deleteNamespaces(namespaces);
});

async function overshootCheck(store: string): Promise<void> {
  const namespace = `test-budget-${randomUUID()}`;
  namespaces.push(namespace);
  const workers: NodeProcess[] = [];
  for (let i = 0; i < PROCESSES; i++) {
    workers.push(
      startNode(WORKER, [store, namespace, `agt_budget_${i}`, String(TASKS / PROCESSES)]),
    );
  }
  await Promise.all(workers.map((w) => w.waitFor(/"started"/)));
  const baton = await Baton.open(store, { namespace, logger: pino({ level: 'silent' }) });
  try {
    const startAt = Date.now() + 1_500;
    const { runId, tasks } = await baton.submitRun({
      name: 'budgeted',
      budget: { usd: BUDGET_USD },
      tasks: Array.from({ length: TASKS }, (_, i) => ({
        type: 'call',
        key: `call-${i}`,
        maxAttempts: 3,
        payload: { startAt, worstUsd: CALL_USD, actualUsd: CALL_USD },
      })),
    });
    const run = await baton.wait(runId, { timeoutMs: 30_000 });
    expect(run.state, 'some tasks failed').toBe('failed');

    const records = await Promise.all(tasks.map((t) => baton.get(t.id)));
    const succeeded = records.filter((t) => t?.state === 'succeeded');
    const failed = records.filter((t) => t?.state === 'failed');
    expect(succeeded.length, 'the calls the budget fits').toBe(20);
    expect(failed.length).toBe(30);
    for (const task of failed) {
      expect(task?.error?.code, task?.error?.message).toBe('BATON_BUDGET_EXCEEDED');
      expect(task?.attempts, 'not retried').toBe(1);
    }
    // The calls ran in several processes at once.
    const agents = new Set(succeeded.map((t) => t?.agentId));
    expect(agents.size, 'successes spread over the worker processes').toBeGreaterThan(1);

    const costs = await baton.costs({ runId, by: 'agent' });
    expect(costs.total.calls).toBe(20);
    expect(costs.total.costUsd).toBeLessThanOrEqual(BUDGET_USD);
    expect(costs.budget).toEqual({ limitUsd: 1, spentUsd: 1, reservedUsd: 0, leftUsd: 0 });
  } finally {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    await baton.close();
  }
}

describe('50 concurrent calls in 5 processes under a budget that fits 20', () => {
  it('on one SQLite file: 20 calls, spend within the budget, 30 tasks BATON_BUDGET_EXCEEDED', async () => {
    await overshootCheck(`sqlite:${join(dir, 'baton.db')}`);
  }, 60_000);

  describe.skipIf(!available && !ci)('on Redis', () => {
    beforeAll(() => {
      if (!available)
        throw new Error(
          'CI=true and no Redis answers on 127.0.0.1:6379: the budget test cannot run',
        );
    });
    it('20 calls, spend within the budget, 30 tasks BATON_BUDGET_EXCEEDED', async () => {
      await overshootCheck(REDIS_URL);
    }, 60_000);
  });
});
