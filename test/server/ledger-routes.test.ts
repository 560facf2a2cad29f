/**
 * The ledger for agents over HTTP (docs/costs.md#agents-over-http): an agent that claimed a task
 * through the worker protocol and calls models itself records each call's usage and holds each
 * call's worst case against the budgets, through the same Ledger a worker's `ctx.costs` uses.
 * Over real HTTP, on a SQLite file and on a real Redis: the usage shows in `GET /v1/costs` and in
 * `baton costs`; a budget that fits N reservations refuses the next; a call from an attempt whose
 * lease was since lost is still recorded; bad bodies store nothing.
 */
import { randomUUID } from 'node:crypto';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { useCli } from '../helpers/cli.ts';
import { REDIS_URL, deleteNamespaces, redisAnswers } from '../helpers/redis.ts';
import { closeAll, startServer, type TestServer } from './harness.ts';

afterEach(closeAll);

const cli = useCli();
const namespaces: string[] = [];
const redisUp = await redisAnswers();
const ci = process.env.CI === 'true';

afterAll(async () => {
  if (redisUp) await deleteNamespaces(namespaces);
});

/** A run with a budget, one task of it claimed by an agent registered over HTTP. */
async function claimed(s: TestServer, budget: number, taskBudget?: number) {
  const run = await s.request('POST', '/v1/runs', {
    body: {
      name: 'remote-llm',
      budget: { usd: budget },
      tasks: [
        {
          key: 'think',
          type: 'remote-llm',
          epic: 'e',
          maxAttempts: 2,
          ...(taskBudget === undefined ? {} : { budget: { usd: taskBudget } }),
        },
      ],
    },
  });
  expect(run.status).toBe(201);
  const agent = await s.request('POST', '/v1/agents', {
    body: { name: 'py', capabilities: [], concurrency: 1 },
  });
  const agentId = agent.body.id as string;
  const claim = await s.request('POST', `/v1/agents/${agentId}/claim`, { body: { max: 1 } });
  const lease = claim.body.leases[0] as { taskId: string; token: number };
  return { runId: run.body.runId as string, agentId, taskId: lease.taskId, token: lease.token };
}

const CALL = {
  provider: 'anthropic',
  model: 'claude-sonnet-4-5',
  inputTokens: 1000,
  outputTokens: 200,
  cacheReadTokens: 100,
};

function behaviours(
  open: () => Promise<TestServer>,
  /** The `--store` (and `--namespace`) by which `baton costs` finds the server's store. */
  storeArgs: (s: TestServer) => string[],
) {
  it('records a call against the attempt; it shows in GET /v1/costs (and baton costs)', async () => {
    const s = await open();
    const { runId, agentId, taskId, token } = await claimed(s, 5);
    const store = storeArgs(s);
    const reserved = await s.request('POST', `/v1/leases/${taskId}/reservations`, {
      body: {
        agentId,
        token,
        call: {
          provider: CALL.provider,
          model: CALL.model,
          inputTokens: 1200,
          maxOutputTokens: 500,
        },
      },
    });
    expect(reserved.status, JSON.stringify(reserved.body)).toBe(201);
    expect(reserved.body.id).toMatch(/^rsv_/);
    expect(reserved.body.usd).toBeGreaterThan(0);
    expect((await s.baton.backend.budgetOf(runId))!.reservedUsd).toBe(reserved.body.usd);

    const recorded = await s.request('POST', `/v1/leases/${taskId}/usage`, {
      body: { agentId, token, ...CALL, reservationId: reserved.body.id },
    });
    expect(recorded.status).toBe(201);
    expect(recorded.body).toMatchObject({
      taskId,
      attempt: token,
      runId,
      epic: 'e',
      agentId,
      ...CALL,
      costBasis: 'table',
    });
    const cost = recorded.body.costUsd as number;
    expect(cost).toBeGreaterThan(0);
    expect(cost).toBeLessThanOrEqual(reserved.body.usd);

    // A provider-reported cost wins over the table.
    const reported = await s.request('POST', `/v1/leases/${taskId}/usage`, {
      body: {
        agentId,
        token,
        provider: 'openai',
        model: 'gpt-4.1-mini',
        inputTokens: 10,
        outputTokens: 1,
        costUsd: 0.25,
      },
    });
    expect(reported.body).toMatchObject({ costUsd: 0.25, costBasis: 'provider' });
    // A call that died mid-stream says how its tokens were worked out.
    const partial = await s.request('POST', `/v1/leases/${taskId}/usage`, {
      body: { agentId, token, ...CALL, outputTokens: 0, basis: 'estimate' },
    });
    expect(partial.body).toMatchObject({ costBasis: 'estimate' });

    const costs = await s.request('GET', `/v1/costs?run=${runId}&by=model`);
    expect(costs.status).toBe(200);
    expect(costs.body.total).toMatchObject({ calls: 3, inputTokens: 2010, outputTokens: 201 });
    expect(costs.body.total.costUsd).toBeCloseTo(cost + 0.25 + (partial.body.costUsd as number), 9);
    const groups = costs.body.groups as { key: string }[];
    expect(groups.map((g) => g.key).sort()).toEqual([
      'anthropic:claude-sonnet-4-5',
      'openai:gpt-4.1-mini',
    ]);
    expect(costs.body.budget).toMatchObject({ limitUsd: 5, reservedUsd: 0 });
    expect(costs.body.budget.spentUsd).toBeCloseTo(
      cost + 0.25 + (partial.body.costUsd as number),
      9,
    );

    {
      const out = await cli.run(['costs', runId, '--by', 'model', '--json', ...store]);
      expect(out.code, out.stderr).toBe(0);
      const report = JSON.parse(out.stdout) as { total: { calls: number; costUsd: number } };
      expect(report.total.calls).toBe(3);
      expect(report.total.costUsd).toBeCloseTo(cost + 0.25 + (partial.body.costUsd as number), 9);
    }
  });

  it('a budget that fits three reservations refuses the fourth with BATON_BUDGET_EXCEEDED; a release makes room', async () => {
    const s = await open();
    const { runId, agentId, taskId, token } = await claimed(s, 1);
    const hold = () =>
      s.request('POST', `/v1/leases/${taskId}/reservations`, {
        body: { agentId, token, usd: 0.3 },
      });
    const held = [await hold(), await hold(), await hold()];
    expect(held.map((r) => r.status)).toEqual([201, 201, 201]);
    const fourth = await hold();
    expect(fourth.status).toBe(409);
    expect(fourth.body.error.code).toBe('BATON_BUDGET_EXCEEDED');
    expect((await s.baton.backend.budgetOf(runId))!.reservedUsd).toBeCloseTo(0.9, 9);
    // Another task's reservation is not its agent's to give back: refused, still held.
    const other = await claimed(s, 10);
    const foreign = await s.request(
      'DELETE',
      `/v1/leases/${other.taskId}/reservations/${held[1]!.body.id as string}?agentId=${other.agentId}&token=${other.token}`,
    );
    expect(foreign.body).toEqual({ released: false });
    expect((await s.baton.backend.budgetOf(runId))!.reservedUsd).toBeCloseTo(0.9, 9);

    const rid = held[0]!.body.id as string;
    const released = await s.request(
      'DELETE',
      `/v1/leases/${taskId}/reservations/${rid}?agentId=${agentId}&token=${token}`,
    );
    expect(released.status, JSON.stringify(released.body)).toBe(200);
    expect(released.body).toEqual({ released: true });
    const twice = await s.request(
      'DELETE',
      `/v1/leases/${taskId}/reservations/${rid}?agentId=${agentId}&token=${token}`,
    );
    expect(twice.body).toEqual({ released: false });
    expect((await hold()).status).toBe(201);
    // The task's own budget counts as well.
    const tight = await claimed(s, 10, 0.1);
    const refused = await s.request('POST', `/v1/leases/${tight.taskId}/reservations`, {
      body: { agentId: tight.agentId, token: tight.token, usd: 0.2 },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('BATON_BUDGET_EXCEEDED');
  });

  it('records a call of a lost lease (the money was spent) but holds nothing for it; a stranger is refused', async () => {
    const s = await open();
    const { runId, agentId, taskId, token } = await claimed(s, 5);
    // The attempt ends (here: failed, to be retried): its lease is no longer held.
    const failed = await s.request('POST', `/v1/leases/${taskId}/fail`, {
      body: { agentId, token, error: { message: 'model call broke', code: 'LLM_STREAM' } },
    });
    expect(failed.status, JSON.stringify(failed.body)).toBe(200);
    const late = await s.request('POST', `/v1/leases/${taskId}/usage`, {
      body: { agentId, token, ...CALL },
    });
    expect(late.status).toBe(201);
    expect(late.body.attempt).toBe(token);
    const hold = await s.request('POST', `/v1/leases/${taskId}/reservations`, {
      body: { agentId, token, usd: 0.1 },
    });
    expect(hold.status).toBe(409);
    expect(hold.body.error.code).toBe('BATON_LEASE_LOST');

    const other = await s.request('POST', '/v1/agents', {
      body: { name: 'other', capabilities: [], concurrency: 1 },
    });
    const stranger = await s.request('POST', `/v1/leases/${taskId}/usage`, {
      body: { agentId: other.body.id, token, ...CALL },
    });
    expect(stranger.status).toBe(409);
    const strangerRelease = await s.request(
      'DELETE',
      `/v1/leases/${taskId}/reservations/rsv_x?agentId=${other.body.id as string}&token=${token}`,
    );
    expect(strangerRelease.status).toBe(409);
    expect(strangerRelease.body.error.code).toBe('BATON_LEASE_LOST');
    const missing = await s.request('POST', `/v1/leases/tsk_nope/usage`, {
      body: { agentId, token, ...CALL },
    });
    expect(missing.status).toBe(404);
    const costs = await s.request('GET', `/v1/costs?run=${runId}`);
    expect(costs.body.total.calls).toBe(1);
  });

  it('refuses bad bodies with a 400 naming the field, and stores nothing', async () => {
    const s = await open();
    const { runId, agentId, taskId, token } = await claimed(s, 5);
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ['usage', { agentId, token, ...CALL, inputTokens: -1 }, /inputTokens/],
      ['usage', { agentId, token, ...CALL, outputTokens: 1.5 }, /outputTokens/],
      ['usage', { agentId, token, ...CALL, surprise: true }, /surprise/],
      ['usage', { agentId, token, ...CALL, basis: 'table' }, /basis/],
      ['usage', { agentId, token, ...CALL, inputTokens: 'NaN' }, /inputTokens/],
      ['usage', { agentId, token, ...CALL, inputTokens: 1e300 }, /inputTokens/],
      ['usage', { agentId, token, ...CALL, costUsd: -0.5 }, /costUsd/],
      ['usage', { agentId, token, ...CALL, model: 'm'.repeat(100_000) }, /model/],
      ['usage', { agentId, token, ...CALL, cacheReadTokens: 5000 }, /cacheReadTokens/],
      ['usage', { agentId, ...CALL }, /token/],
      ['reservations', { agentId, token, usd: -1 }, /usd/],
      ['reservations', { agentId, token }, /exactly one of usd/],
      [
        'reservations',
        { agentId, token, usd: 1, call: { ...CALL, maxOutputTokens: 10 } },
        /exactly one/,
      ],
      ['reservations', { agentId, token, usd: 1, extra: 1 }, /extra/],
      [
        'reservations',
        { agentId, token, call: { provider: 'anthropic', model: 'x', inputTokens: 1 } },
        /maxOutputTokens/,
      ],
    ];
    for (const [route, body, named] of bad) {
      const res = await s.request('POST', `/v1/leases/${taskId}/${route}`, { body });
      expect(res.status, JSON.stringify(body).slice(0, 200) + JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.code).toBe('BATON_VALIDATION');
      expect(JSON.stringify(res.body.error)).toMatch(named);
    }
    const nan = await s.request('POST', `/v1/leases/${taskId}/usage`, {
      raw: `{"agentId":"${agentId}","token":${token},"provider":"a","model":"b","inputTokens":NaN,"outputTokens":1}`,
    });
    expect(nan.status).toBe(400);
    const badQuery = await s.request(
      'DELETE',
      `/v1/leases/${taskId}/reservations/rsv_x?agentId=${agentId}&token=abc`,
    );
    expect(badQuery.status).toBe(400);
    expect(await s.baton.backend.usageOf(taskId)).toEqual([]);
    expect(await s.baton.backend.budgetOf(runId)).toEqual({
      limitUsd: 5,
      spentUsd: 0,
      reservedUsd: 0,
      leftUsd: 5,
    });
  });
}

describe('the ledger for HTTP agents, on SQLite', () => {
  behaviours(
    () => startServer(),
    (s) => ['--store', `sqlite:${s.dir!}/baton.db`],
  );

  it('is refused without the work scope', async () => {
    const reader = 'reader-token-0123456789abcdef';
    const worker = 'worker-token-0123456789abcdef';
    const s = await startServer({ env: { BATON_API_TOKENS: `${reader}:read,${worker}:work` } });
    const call = (token: string) =>
      s.request('POST', '/v1/leases/tsk_x/usage', {
        body: { agentId: 'agt_x', token: 1, ...CALL },
        headers: { authorization: `Bearer ${token}` },
      });
    const refused = await call(reader);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/'work' scope/);
    // The work token gets through to the route (no such agent: 409).
    expect((await call(worker)).status).toBe(409);
  });
});

if (!redisUp && !ci) {
  describe('the ledger for HTTP agents, on Redis', () => {
    it.skip("needs Redis on 127.0.0.1:6379 (start one with 'redis-server'); skipped outside CI", () => {});
  });
} else {
  describe('the ledger for HTTP agents, on Redis', () => {
    beforeAll(() => {
      if (!redisUp) throw new Error('CI=true and no Redis answers on 127.0.0.1:6379');
    });
    behaviours(
      () => {
        const namespace = `test-ledger-http-${randomUUID()}`;
        namespaces.push(namespace);
        return startServer({ store: REDIS_URL, namespace });
      },
      () => ['--store', REDIS_URL, '--namespace', namespaces.at(-1)!],
    );
  });
}
