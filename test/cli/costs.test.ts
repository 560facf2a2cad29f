/**
 * What model calls cost, through the real `baton` command (docs/costs.md): `baton costs` as a
 * table and as JSON, by group; the cost line of `baton status` and of the `baton run` summary.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { CostReport } from '../../src/core/ledger.ts';
import type { Baton } from '../../src/runtime/baton.ts';
import { useCli } from '../helpers/cli.ts';
import { startFakeLlm } from '../helpers/fake-llm.ts';

const cli = useCli();

/** A run with a $2 budget whose two tasks made three model calls, and a run without calls. */
async function seed(baton: Baton): Promise<{ runId: string; idle: string }> {
  const b = baton.backend;
  const { runId } = await baton.submitRun({
    name: 'costly',
    budget: { usd: 2 },
    tasks: [
      { key: 'research', type: 'call', epic: 'discovery' },
      { key: 'write', type: 'call' },
    ],
  });
  const idle = (await baton.submitRun({ name: 'idle', tasks: [{ type: 'call' }] })).runId;
  await b.registerAgent({ id: 'agt_writer', capabilities: [], concurrency: 2 });
  const leases = await b.claim({
    agentId: 'agt_writer',
    capabilities: [],
    max: 2,
    leaseTtlMs: 60_000,
  });
  const record = (i: number, model: string, costUsd: number, inputTokens: number) =>
    b.recordUsage({
      taskId: leases[i]!.taskId,
      token: leases[i]!.token,
      agentId: 'agt_writer',
      provider: 'anthropic',
      model,
      inputTokens,
      outputTokens: 500,
      cacheReadTokens: 1000,
      costUsd,
      costBasis: 'table',
    });
  await record(0, 'claude-sonnet-4-5', 0.25, 12_000);
  await record(0, 'claude-sonnet-4-5', 0.5, 20_000);
  await record(1, 'claude-haiku-4-5', 0.0004, 3_000);
  return { runId, idle };
}

describe('baton costs', () => {
  it("prints a run's totals by model, with its budget", async () => {
    const { runId } = await seed(await cli.open());
    const res = await cli.run(['costs', runId, '--store', cli.store]);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`model calls of run ${runId}`);
    expect(lines[2]).toMatch(
      /^MODEL\s+CALLS\s+INPUT\s+OUTPUT\s+CACHE READ\s+CACHE WRITE\s+REASONING\s+COST$/,
    );
    expect(lines[4]).toMatch(
      /^anthropic:claude-sonnet-4-5\s+2\s+32,000\s+1,000\s+2,000\s+0\s+0\s+\$0\.75$/,
    );
    expect(lines[5]).toMatch(
      /^anthropic:claude-haiku-4-5\s+1\s+3,000\s+500\s+1,000\s+0\s+0\s+\$0\.0004$/,
    );
    expect(lines[6]).toMatch(/^total\s+3\s+35,000\s+1,500\s+3,000\s+0\s+0\s+\$0\.75$/);
    expect(lines.at(-1)).toBe('budget $2.00: $0.75 spent, $1.25 left');
  });

  it('groups by epic, task or agent, and every run by run, as JSON', async () => {
    const { runId, idle } = await seed(await cli.open());
    const byEpic = await cli.run(['costs', runId, '--by', 'epic', '--json', '--store', cli.store]);
    expect(byEpic.code, byEpic.stderr).toBe(0);
    const report = JSON.parse(byEpic.stdout) as CostReport;
    expect(report).toMatchObject({ runId, by: 'epic' });
    expect(report.groups.map((g) => [g.key, g.calls, g.costUsd])).toEqual([
      ['discovery', 2, 0.75],
      [null, 1, 0.0004],
    ]);
    expect(report.total.costUsd).toBe(0.7504);
    expect(report.budget).toEqual({
      limitUsd: 2,
      spentUsd: 0.7504,
      reservedUsd: 0,
      leftUsd: 1.2496,
    });

    const byAgent = await cli.run(['costs', runId, '--by', 'agent', '--store', cli.store]);
    expect(byAgent.stdout).toMatch(/^agt_writer\s+3\s/m);
    const byRun = JSON.parse(
      (await cli.run(['costs', '--by', 'run', '--json', '--store', cli.store])).stdout,
    ) as CostReport;
    expect(byRun).toMatchObject({ runId: null, by: 'run', budget: null });
    expect(byRun.groups.map((g) => g.key)).toEqual([runId]);
    const none = await cli.run(['costs', idle, '--store', cli.store]);
    expect(none.stdout.trim()).toBe(`no model calls recorded for run ${idle}`);
  });

  it('an unknown run is an error; an unknown group is a usage error that opens nothing', async () => {
    await seed(await cli.open());
    const missing = await cli.run([
      'costs',
      'run_01ARZ3NDEKTSV4RRFFQ69G5FAV',
      '--store',
      cli.store,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      'error [BATON_NOT_FOUND]: run run_01ARZ3NDEKTSV4RRFFQ69G5FAV not found',
    );
    const store = `sqlite:${join(cli.dir, 'untouched.db')}`;
    const bad = await cli.run(['costs', '--by', 'planet', '--store', store]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("argument 'planet' is invalid");
    expect(existsSync(join(cli.dir, 'untouched.db')), 'no store was created').toBe(false);
  });
});

describe('BATON_PRICES', () => {
  it('refuses prices that are not JSON, or not prices, naming the variable, before opening the store', async () => {
    const store = `sqlite:${join(cli.dir, 'untouched.db')}`;
    const notJson = await cli.run(['costs', '--store', store], { env: { BATON_PRICES: 'cheap' } });
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain('error [BATON_VALIDATION]: BATON_PRICES: is not JSON');
    const negative = await cli.run(['costs', '--store', store], {
      env: { BATON_PRICES: '{"openai:gpt-4.1-mini":{"inputMtok":-1,"outputMtok":1}}' },
    });
    expect(negative.code).toBe(1);
    expect(negative.stderr).toContain(
      'BATON_PRICES["openai:gpt-4.1-mini"].inputMtok: must be a price in USD per million tokens',
    );
    expect(existsSync(join(cli.dir, 'untouched.db')), 'no store was created').toBe(false);
  });
});

describe('cost in baton status and the run summary', () => {
  it('baton status shows the run cost and budget, and --json carries them', async () => {
    const { runId, idle } = await seed(await cli.open());
    const text = await cli.run(['status', runId, '--store', cli.store]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      'cost: $0.75 in 3 model calls; budget $2.00: $0.75 spent, $1.25 left',
    );
    const idleText = await cli.run(['status', idle, '--store', cli.store]);
    expect(idleText.stdout, 'no calls, no budget: no cost line').not.toContain('cost:');
    const json = JSON.parse(
      (await cli.run(['status', runId, '--json', '--store', cli.store])).stdout,
    ) as { costs: CostReport };
    expect(json.costs.total).toMatchObject({ calls: 3, costUsd: 0.7504 });
    expect(json.costs.budget?.limitUsd).toBe(2);
  });

  it('the summary of baton run has the cost line of a run with a budget', async () => {
    const plan = join(cli.dir, 'budgeted.yaml');
    await writeFile(
      plan,
      [
        'name: budgeted',
        'budget: { usd: 1.5 }',
        'tasks:',
        '  - { key: hello, command: "true" }',
        '',
      ].join('\n'),
    );
    const res = await cli.run(['run', plan, '--store', cli.store]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(
      /^cost\s+\$0\.00 in 0 model calls; budget \$1\.50: \$0\.00 spent, \$1\.50 left$/m,
    );
    const json = await cli.run(['run', plan, '--store', cli.store, '--json']);
    expect(JSON.parse(json.stdout).cost).toMatchObject({
      calls: 0,
      costUsd: 0,
      budget: { limitUsd: 1.5, spentUsd: 0, reservedUsd: 0, leftUsd: 1.5 },
    });
  });
});

describe('llm tasks of baton run in the ledger', () => {
  it("records each model call's usage, priced from the table or as the provider reported it", async () => {
    const server = await startFakeLlm({
      keys: ['sk-ant-costs-1', 'sk-openai-costs-2', 'gw-costs-3'],
    });
    try {
      server.answers.push(
        {
          text: 'Bees dance.',
          usage: { input: 1000, output: 200, cacheRead: 500, cacheWrite: 100 },
        },
        { text: 'Dancing bees', usage: { input: 300, output: 20 } },
        { text: 'ok', usage: { input: 7, output: 2, cost: 0.0042 } },
      );
      const plan = join(cli.dir, 'llm.yaml');
      await writeFile(
        plan,
        [
          'name: headlines',
          'budget: { usd: 1 }',
          'tasks:',
          '  - { key: research, epic: notes, executor: llm, model: anthropic:claude-sonnet-4-5, prompt: Bees? }',
          '  - key: headline',
          '    executor: llm',
          '    model: openai:gpt-4.1-mini',
          '    prompt: "Headline for: {{ deps.research.result }}"',
          '    dependsOn: [research]',
          '  - key: check',
          '    executor: llm',
          '    model: openai-compatible:gateway:meta/llama-3.1:8b',
          '    prompt: "Is this a headline? {{ deps.headline.result }}"',
          '    dependsOn: [headline]',
          '',
        ].join('\n'),
      );
      const env = {
        ANTHROPIC_API_KEY: 'sk-ant-costs-1',
        ANTHROPIC_BASE_URL: server.url,
        OPENAI_API_KEY: 'sk-openai-costs-2',
        OPENAI_BASE_URL: server.baseUrl,
        BATON_OPENAI_COMPATIBLE_GATEWAY_BASE_URL: server.baseUrl,
        BATON_OPENAI_COMPATIBLE_GATEWAY_API_KEY: 'gw-costs-3',
        // The gateway's models are in no table: a price lets the budget hold their calls. The
        // gateway's own report of what a call cost still wins when it is recorded.
        BATON_PRICES: JSON.stringify({ 'gateway:*': { inputMtok: 1, outputMtok: 1 } }),
      };
      const run = await cli.run(['run', plan, '--store', cli.store], { env });
      expect(run.code, run.stderr).toBe(0);
      // claude-sonnet-4-5: $3 in, $0.30 cache read, $3.75 cache write, $15 out per million;
      // gpt-4.1-mini: $0.40 in, $1.60 out; the gateway reports its own cost.
      const research = (1000 * 3 + 500 * 0.3 + 100 * 3.75 + 200 * 15) / 1e6;
      const headline = (300 * 0.4 + 20 * 1.6) / 1e6;
      expect(run.stdout).toMatch(
        /^cost\s+\$0\.01 in 3 model calls; budget \$1\.00: \$0\.01 spent, \$0\.99 left$/m,
      );
      const runId = /run (run_\w+) \(headlines\) succeeded/.exec(run.stdout)![1]!;
      const costs = JSON.parse(
        (await cli.run(['costs', runId, '--json', '--store', cli.store])).stdout,
      ) as CostReport;
      expect(costs.total.calls).toBe(3);
      expect(costs.total.costUsd).toBeCloseTo(research + headline + 0.0042, 9);
      expect(costs.groups.map((g) => g.key)).toEqual([
        'anthropic:claude-sonnet-4-5',
        'gateway:meta/llama-3.1:8b',
        'openai:gpt-4.1-mini',
      ]);
      const baton = await cli.open();
      const tasks = (await baton.tasks({ runId })).tasks;
      const usageOf = (key: string) => baton.usage(tasks.find((t) => t.key === key)!.id);
      const [first] = await usageOf('research');
      expect(first).toMatchObject({
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        epic: 'notes',
        attempt: 1,
        inputTokens: 1600,
        cacheReadTokens: 500,
        cacheWriteTokens: 100,
        outputTokens: 200,
        costBasis: 'table',
      });
      expect(first!.costUsd).toBeCloseTo(research, 12);
      expect((await usageOf('headline'))[0]).toMatchObject({ costBasis: 'table' });
      expect(await usageOf('check')).toMatchObject([
        { provider: 'gateway', model: 'meta/llama-3.1:8b', costUsd: 0.0042, costBasis: 'provider' },
      ]);
    } finally {
      await server.close();
    }
  });
});

describe('llm tasks of baton run under a budget', () => {
  it('holds each call before it is made: calls the budget cannot take fail with BATON_BUDGET_EXCEEDED and send nothing', async () => {
    const server = await startFakeLlm({ keys: ['sk-ant-budget-1'] });
    try {
      // Every call is slow, so all five are in flight (or refused) at once.
      for (let i = 0; i < 5; i++)
        server.answers.push({
          text: `answer ${i}`,
          delayMs: 1500,
          usage: { input: 10, output: 5 },
        });
      // Each call's worst case: (2 bytes + 64) input tokens at the $3.75 cache-write rate and 1000
      // output tokens at $15 per million, about $0.0152; $0.04 holds two of them.
      const plan = join(cli.dir, 'budgeted-llm.yaml');
      await writeFile(
        plan,
        [
          'name: budgeted',
          'budget: { usd: 0.04 }',
          'defaults: { executor: llm, model: anthropic:claude-sonnet-4-5, maxTokens: 1000 }',
          'tasks:',
          ...[0, 1, 2, 3, 4].map((i) => `  - { key: q${i}, prompt: hi }`),
          '',
        ].join('\n'),
      );
      const env = { ANTHROPIC_API_KEY: 'sk-ant-budget-1', ANTHROPIC_BASE_URL: server.url };
      const run = await cli.run(['run', plan, '--store', cli.store, '--json'], { env });
      expect(run.code, run.stderr).toBe(1);
      const summary = JSON.parse(run.stdout) as {
        runId: string;
        tasks: { state: string }[];
      };
      const baton = await cli.open();
      const tasks = (await baton.tasks({ runId: summary.runId })).tasks;
      const succeeded = tasks.filter((t) => t.state === 'succeeded');
      const failed = tasks.filter((t) => t.state === 'failed');
      expect(succeeded.length + failed.length).toBe(5);
      expect(failed.length, 'calls the budget could not hold').toBeGreaterThanOrEqual(1);
      for (const task of failed) {
        expect(task.error?.code, task.error?.message).toBe('BATON_BUDGET_EXCEEDED');
        expect(task.attempts, 'not retried').toBe(1);
      }
      expect(server.requests.length, 'a refused call sends no request').toBe(succeeded.length);
      const budget = (await baton.costs({ runId: summary.runId })).budget!;
      expect(budget.spentUsd).toBeLessThanOrEqual(0.04);
      expect(budget.reservedUsd, 'every hold settled or given back').toBe(0);
      expect((await baton.costs({ runId: summary.runId })).total.calls).toBe(succeeded.length);
    } finally {
      await server.close();
    }
  });
});
