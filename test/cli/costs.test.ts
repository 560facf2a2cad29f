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
