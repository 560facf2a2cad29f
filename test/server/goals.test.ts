/**
 * `POST /v1/goals` (docs/planner.md): a goal in plain words becomes a run whose first task is a
 * `plan` task; a worker with the planner (here the CLI's handlers, calling the fake model service
 * over Anthropic's wire format) plans and runs it, and `GET /v1/runs/:id` shows the run's result.
 * A bad goal is a 400 that names the field, and stores nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { cliLlmHandler } from '../../src/cli/llm.ts';
import { cliPlanHandler } from '../../src/cli/planner.ts';
import type { RunRecord } from '../../src/core/types.ts';
import { asksForJson, startFakeLlm, type FakeLlmServer } from '../helpers/fake-llm.ts';
import { closeAll, startServer, type TestServer } from './harness.ts';

const KEY = 'sk-ant-goals-test-77b1';
let server: FakeLlmServer;

beforeEach(async () => {
  server = await startFakeLlm({ keys: [KEY] });
});

afterEach(async () => {
  await closeAll();
  await server.close();
});

async function expectNothingStored(s: TestServer): Promise<void> {
  expect((await s.baton.runs()).runs).toEqual([]);
  expect((await s.baton.tasks()).tasks).toEqual([]);
}

describe('POST /v1/goals', () => {
  it('creates a run whose plan task a worker plans and runs; GET /v1/runs/:id has the result', async () => {
    server.respond = ({ body }) =>
      asksForJson(body)
        ? {
            text: JSON.stringify({
              tasks: [
                {
                  key: 'factorial',
                  title: 'Compute 10!',
                  description: 'The product of 1 to 10',
                  requires: [],
                  dependsOn: [],
                  priority: 'high',
                  epic: '',
                  complexity: 'low',
                  prompt: 'Compute 10! and answer with the number only.',
                },
              ],
            }),
          }
        : { text: '3628800' };
    const s = await startServer();
    const created = await s.request('POST', '/v1/goals', {
      body: { description: 'Calculate factorial of 10', budget: { usd: 2 } },
    });
    expect(created.status).toBe(201);
    const { runId, planTaskId } = created.body as { runId: string; planTaskId: string };
    const planTask = await s.baton.get(planTaskId);
    expect(planTask).toMatchObject({
      runId,
      type: 'plan',
      key: 'plan',
      payload: { goal: 'Calculate factorial of 10' },
    });
    expect((await s.baton.costs({ runId })).budget?.limitUsd).toBe(2);

    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: server.url };
    const models = {
      model: 'anthropic:claude-sonnet-4-5',
      taskModel: 'anthropic:claude-haiku-4-5',
    };
    const worker = s.baton.worker({
      concurrency: 2,
      handlers: { llm: cliLlmHandler(env), plan: cliPlanHandler(env, s.baton, models) },
    });
    await worker.start();
    try {
      const run = (await s.baton.wait(runId, { timeoutMs: 20_000 })) as RunRecord;
      expect(run.state).toBe('succeeded');
    } finally {
      await worker.stop();
    }
    const detail = await s.request('GET', `/v1/runs/${runId}`);
    expect(detail.status).toBe(200);
    expect(detail.body.run.result).toEqual({ from: 'sinks', results: { factorial: '3628800' } });
    // The planned task calls the task model; the planner, the planner model.
    expect(server.requests.map((r) => r.body['model'])).toEqual([
      'claude-sonnet-4-5',
      'claude-haiku-4-5',
    ]);
  });

  it('refuses a description under 10 or over 5,000 characters (400, naming it), storing nothing', async () => {
    const s = await startServer();
    const short = await s.request('POST', '/v1/goals', { body: { description: 'too short' } });
    expect(short.status).toBe(400);
    expect(short.body.error.code).toBe('BATON_VALIDATION');
    expect(short.body.error.message).toContain(
      'description: is 9 characters long; a goal needs at least 10',
    );
    const blank = await s.request('POST', '/v1/goals', { body: { description: ' '.repeat(40) } });
    expect(blank.status).toBe(400);
    const long = await s.request('POST', '/v1/goals', {
      body: { description: 'x'.repeat(5001) },
    });
    expect(long.status).toBe(400);
    expect(long.body.error.message).toContain(
      'description: is 5001 characters long, over the limit of 5000',
    );
    const missing = await s.request('POST', '/v1/goals', { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain('description');
    await expectNothingStored(s);

    // The limits themselves are accepted.
    for (const description of ['x'.repeat(10), 'y'.repeat(5000)]) {
      const ok = await s.request('POST', '/v1/goals', { body: { description } });
      expect(ok.status).toBe(201);
    }
  });

  it('refuses a bad budget or agents list, and an unknown field (400), storing nothing', async () => {
    const s = await startServer();
    const goal = 'Calculate factorial of 10';
    const negative = await s.request('POST', '/v1/goals', {
      body: { description: goal, budget: { usd: -1 } },
    });
    expect(negative.status).toBe(400);
    expect(negative.body.error.message).toContain('budget.usd');
    const text = await s.request('POST', '/v1/goals', {
      body: { description: goal, budget: { usd: 'five' } },
    });
    expect(text.status).toBe(400);
    expect(text.body.error.message).toContain('budget.usd');
    const notObject = await s.request('POST', '/v1/goals', {
      body: { description: goal, budget: 5 },
    });
    expect(notObject.status).toBe(400);
    const agents = await s.request('POST', '/v1/goals', {
      body: { description: goal, agents: [] },
    });
    expect(agents.status).toBe(400);
    expect(agents.body.error.message).toContain('agents');
    const unknown = await s.request('POST', '/v1/goals', {
      body: { description: goal, deadline: 'tomorrow' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("'deadline'");
    await expectNothingStored(s);
  });
});
