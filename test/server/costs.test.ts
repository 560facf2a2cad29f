/**
 * `GET /v1/costs` and budgets over HTTP (docs/costs.md, docs/http-api.md): totals of a run's model
 * calls (or the namespace's) by a group, with the run's budget; a budget submitted with a run, as
 * JSON or as a YAML plan; bad input refused with the Baton error shape, nothing stored. Each run
 * of `GET /v1/runs` with its budget (or null), on SQLite and on a real Redis.
 */
import { randomUUID } from 'node:crypto';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { REDIS_URL, deleteNamespaces, redisAnswers } from '../helpers/redis.ts';
import { closeAll, startServer, type TestServer } from './harness.ts';

afterEach(closeAll);

const namespaces: string[] = [];
const redisUp = await redisAnswers();
const ci = process.env.CI === 'true';

afterAll(async () => {
  if (redisUp) await deleteNamespaces(namespaces);
});

describe('GET /v1/costs', () => {
  it('totals a run by model with its budget, and the namespace by run', async () => {
    const s = await startServer();
    const submitted = await s.request('POST', '/v1/runs', {
      body: { name: 'r', budget: { usd: 2 }, tasks: [{ key: 'a', type: 'call', epic: 'e' }] },
    });
    expect(submitted.status).toBe(201);
    const runId = submitted.body.runId as string;
    const b = s.baton.backend;
    await b.registerAgent({ id: 'agt_h', capabilities: [], concurrency: 1 });
    const [lease] = await b.claim({
      agentId: 'agt_h',
      capabilities: [],
      max: 1,
      leaseTtlMs: 30_000,
    });
    const ref = { taskId: lease!.taskId, token: lease!.token, agentId: 'agt_h' };
    const held = await b.reserveBudget({ ...ref, usd: 0.5 });
    expect(held.status).toBe('ok');
    await b.recordUsage({
      ...ref,
      provider: 'openai',
      model: 'gpt-4.1-mini',
      inputTokens: 1000,
      outputTokens: 10,
      costUsd: 0.125,
      costBasis: 'table',
    });

    const res = await s.request('GET', `/v1/costs?run=${runId}&by=model`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      runId,
      total: {
        calls: 1,
        inputTokens: 1000,
        outputTokens: 10,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
        costUsd: 0.125,
      },
      by: 'model',
      groups: [
        {
          key: 'openai:gpt-4.1-mini',
          calls: 1,
          inputTokens: 1000,
          outputTokens: 10,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
          costUsd: 0.125,
        },
      ],
      budget: { limitUsd: 2, spentUsd: 0.125, reservedUsd: 0.5, leftUsd: 1.375 },
    });
    const all = await s.request('GET', '/v1/costs?by=run');
    expect(all.body).toMatchObject({ runId: null, by: 'run', budget: null });
    const groups = (all.body as { groups: { key: string }[] }).groups;
    expect(groups.map((g) => g.key)).toEqual([runId]);
  });

  it('refuses an unknown group, an unknown parameter and an unknown run with the Baton error shape', async () => {
    const s = await startServer();
    const group = await s.request('GET', '/v1/costs?by=planet');
    expect(group.status).toBe(400);
    expect(group.body.error.code).toBe('BATON_VALIDATION');
    expect(group.body.error.message).toContain('by');
    const param = await s.request('GET', '/v1/costs?runId=x');
    expect(param.status).toBe(400);
    expect(param.body.error.message).toContain("unknown query parameter 'runId'");
    const missing = await s.request('GET', '/v1/costs?run=run_01ARZ3NDEKTSV4RRFFQ69G5FAV');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({
      code: 'BATON_NOT_FOUND',
      message: 'run run_01ARZ3NDEKTSV4RRFFQ69G5FAV not found',
    });
  });
});

describe('budgets over HTTP', () => {
  it('takes a run budget from a YAML plan and a task budget from a TaskSpec', async () => {
    const s = await startServer();
    const plan = await s.request('POST', '/v1/runs', {
      raw: 'budget: { usd: 3 }\ntasks:\n  - { key: a, executor: call }\n',
      contentType: 'application/yaml',
    });
    expect(plan.status).toBe(201);
    expect(await s.baton.backend.budgetOf(plan.body.runId as string)).toMatchObject({
      limitUsd: 3,
    });
    const task = await s.request('POST', '/v1/tasks', {
      body: { type: 'call', budget: { usd: 0.25 } },
    });
    expect(task.status).toBe(201);
    expect(await s.baton.backend.budgetOf(task.body.id as string)).toMatchObject({
      limitUsd: 0.25,
    });
  });

  it('refuses a negative or non-number budget with a 400 naming it; nothing is stored', async () => {
    const s = await startServer();
    const negative = await s.request('POST', '/v1/runs', {
      body: { budget: { usd: -1 }, tasks: [{ type: 'call' }] },
    });
    expect(negative.status).toBe(400);
    expect(negative.body.error.code).toBe('BATON_VALIDATION');
    expect(negative.body.error.details.issues).toEqual([
      {
        path: 'budget.usd',
        message: 'must be a number of US dollars from 0 to 1000000; got the number -1',
      },
    ]);
    const text = await s.request('POST', '/v1/tasks', {
      body: { type: 'call', budget: { usd: 'lots' } },
    });
    expect(text.status).toBe(400);
    expect(text.body.error.code).toBe('BATON_VALIDATION');
    expect(JSON.stringify(text.body.error.details)).toContain('budget');
    expect((await s.baton.runs()).runs).toEqual([]);
    expect((await s.baton.tasks()).tasks).toEqual([]);
    expect(await s.baton.lastEventId()).toBeNull();
  });
});

/** A run with a budget lists its limit, spent and reserved in `GET /v1/runs`; one without, null. */
async function listsBudgets(s: TestServer): Promise<void> {
  const budgeted = await s.request('POST', '/v1/runs', {
    body: { name: 'with', budget: { usd: 2 }, tasks: [{ key: 'a', type: 'call' }] },
  });
  const plain = await s.request('POST', '/v1/runs', {
    body: { name: 'without', tasks: [{ key: 'a', type: 'other' }] },
  });
  expect([budgeted.status, plain.status]).toEqual([201, 201]);

  const before = await s.request('GET', '/v1/runs');
  expect(before.status).toBe(200);
  const byId = (body: { runs: { id: string; budget: unknown }[] }) =>
    new Map(body.runs.map((r) => [r.id, r.budget]));
  expect(byId(before.body).get(budgeted.body.runId)).toEqual({
    limitUsd: 2,
    spentUsd: 0,
    reservedUsd: 0,
  });
  expect(byId(before.body).get(plain.body.runId)).toBeNull();

  // A call spent and one in flight move the listed budget, as they move GET /v1/costs?run=.
  const b = s.baton.backend;
  await b.registerAgent({ id: 'agt_l', capabilities: [], concurrency: 1 });
  const [lease] = await b.claim({
    agentId: 'agt_l',
    capabilities: [],
    types: ['call'],
    max: 1,
    leaseTtlMs: 30_000,
  });
  const ref = { taskId: lease!.taskId, token: lease!.token, agentId: 'agt_l' };
  expect((await b.reserveBudget({ ...ref, usd: 0.5 })).status).toBe('ok');
  await b.recordUsage({
    ...ref,
    provider: 'openai',
    model: 'gpt-4.1-mini',
    inputTokens: 1000,
    outputTokens: 10,
    costUsd: 0.125,
    costBasis: 'table',
  });
  const costs = await s.request('GET', `/v1/costs?run=${budgeted.body.runId as string}`);
  const all = await s.request('GET', '/v1/runs');
  expect(byId(all.body).get(budgeted.body.runId)).toEqual({
    limitUsd: 2,
    spentUsd: 0.125,
    reservedUsd: 0.5,
  });
  expect(costs.body.budget).toMatchObject(byId(all.body).get(budgeted.body.runId) as object);
  expect(byId(all.body).get(plain.body.runId)).toBeNull();
}

describe('GET /v1/runs: each run with its budget', () => {
  it('on SQLite', async () => {
    await listsBudgets(await startServer());
  });

  it.skipIf(!redisUp && !ci)('on Redis', async () => {
    if (!redisUp) throw new Error('CI=true and no Redis answers on 127.0.0.1:6379');
    const namespace = `test-run-budgets-${randomUUID()}`;
    namespaces.push(namespace);
    await listsBudgets(await startServer({ store: REDIS_URL, namespace }));
  });
});
