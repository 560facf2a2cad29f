/**
 * What the dashboard shows since the planner, model choice and worktrees arrived, in a real
 * browser against a real `baton server`, store and workers: the model `auto` chose for each
 * attempt and why; a coding task's branch, integration branch, merge commit and conflict; and a
 * goal submitted from the UI (the server's refusals next to their field, a `read` token shown
 * no form).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { startFakeLlm, type FakeLlmServer } from '../helpers/fake-llm.ts';
import { g, makeRepo } from '../workspace/repo.ts';
import { axeViolations, browserAvailable, card, useWeb } from './harness.ts';

const web = useWeb();
const KEY = 'sk-ant-web-auto-5a1c';
const TIERS =
  'strong=anthropic:claude-opus-4-1,balanced=anthropic:claude-sonnet-4-5,fast=anthropic:claude-haiku-4-5';
const READ = 'read-token-goal-0123456789';

function drawer(page: Page) {
  return page.getByRole('dialog');
}

describe.skipIf(!browserAvailable)('the task drawer: model choice', () => {
  let llm: FakeLlmServer;
  beforeEach(async () => {
    llm = await startFakeLlm({
      keys: [KEY],
      fallback: { text: 'Done.', usage: { input: 50, output: 10 } },
    });
  });
  afterEach(async () => {
    await llm.close();
  });

  it('shows, per attempt, the model auto chose, its reason and what the attempt cost', async () => {
    // The fast model answers prose where JSON is asked (attempt 1 fails); the retry moves up a
    // tier, whose answer fits. Each call reports its own usage.
    llm.respond = ({ body }) =>
      body.model === 'claude-haiku-4-5'
        ? { text: 'Sure! Here it is.', usage: { input: 1000, output: 100 } }
        : { text: '{"n":1}', usage: { input: 2000, output: 300 } };
    const { url } = await web.server();
    const baton = await web.cli.open();
    const { runId, tasks } = await baton.submitRun({
      name: 'auto',
      tasks: [
        {
          key: 'count',
          type: 'llm',
          maxAttempts: 3,
          backoff: { baseMs: 10, maxMs: 10, jitter: 'none' },
          payload: {
            model: 'auto',
            prompt: 'Count to one',
            complexity: 'low',
            maxTokens: 100,
            output: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
          },
        },
      ],
    });
    web.worker('llm-worker', [], {
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_BASE_URL: llm.url,
      BATON_MODEL_TIERS: TIERS,
    });
    const id = tasks[0]!.id;
    await expect
      .poll(async () => (await baton.get(id))?.state, { timeout: 30_000 })
      .toBe('succeeded');
    const attempts = await baton.attempts(id);
    expect(attempts.map((a) => a.model?.model)).toEqual([
      'anthropic:claude-haiku-4-5',
      'anthropic:claude-sonnet-4-5',
    ]);
    const usage = await baton.usage(id);
    const costOf = (attempt: number) =>
      usage.filter((u) => u.attempt === attempt).reduce((sum, u) => sum + u.costUsd, 0);
    expect(costOf(1)).toBeGreaterThan(0);
    expect(costOf(2)).toBeGreaterThan(costOf(1));

    const page = await web.page();
    await page.goto(`${url}/#/runs/${runId}/tasks/${id}`);
    const models = drawer(page).getByTestId('attempt-model');
    await expect.poll(() => models.count()).toBe(2);
    expect(await models.nth(0).textContent()).toContain(
      'anthropic:claude-haiku-4-5 (fast tier, low complexity)',
    );
    expect(await models.nth(1).textContent()).toContain(
      'anthropic:claude-sonnet-4-5 (balanced tier, low complexity)',
    );
    const reasons = drawer(page).getByTestId('attempt-model-reason');
    expect(await reasons.allTextContents()).toEqual(attempts.map((a) => a.model!.reason));
    expect(await reasons.nth(1).textContent()).toContain('the last attempt failed on fast');
    const costs = drawer(page).getByTestId('attempt-cost');
    await expect.poll(() => costs.nth(1).getAttribute('data-cost-usd')).toBe(String(costOf(2)));
    expect(await costs.nth(0).getAttribute('data-cost-usd')).toBe(String(costOf(1)));
    expect(await costs.nth(0).textContent()).toContain('in 1 call');
    // Not a coding task: no branch or merge to show.
    expect(await drawer(page).getByTestId('code-facts').count()).toBe(0);
  }, 60_000);
});

describe.skipIf(!browserAvailable)('the task drawer: a coding run', () => {
  it('shows each task’s branch and merge, a conflict’s files and who resolved it, and the integration branch', async () => {
    const repo = makeRepo(join(web.cli.dir, 'repo'), { 'a.txt': 'base\n' });
    const plan = join(web.cli.dir, 'plan.yaml');
    const sh = (script: string) => `    command: sh\n    args: [-c, ${JSON.stringify(script)}]`;
    // left and right both edit a.txt; each sleeps first, so both worktrees are cut from the
    // integration branch before either merges, and the second to merge conflicts.
    writeFileSync(
      plan,
      `name: clash
repo: repo
worktrees:
  resolver:
    command: sh
    args: [-c, 'printf "left\\nright\\n" > a.txt']
tasks:
  - key: left
${sh('sleep 1; echo left > a.txt')}
  - key: right
${sh('sleep 1; echo right > a.txt')}
  - key: other
${sh('echo other > b.txt')}
    dependsOn: [left, right]
`,
    );
    const ran = await web.cli.run(['run', plan, '--store', web.cli.store, '--json']);
    expect(ran.code, ran.stderr).toBe(0);
    const runId = (JSON.parse(ran.stdout) as { runId: string }).runId;
    const baton = await web.cli.open();
    const all = (await baton.tasks({ runId, limit: 100 })).tasks;
    const byKey = new Map(all.map((t) => [t.key, t]));
    const resolver = all.find((t) => t.key?.startsWith('resolve-conflict.'))!;
    const loser = byKey.get(resolver.key!.slice('resolve-conflict.'.length))!;
    const other = byKey.get('other')!;
    type Ws = { merge: string; branch: string; integrationBranch: string; resolvedBy?: string };
    const ws = (t: typeof other) => (t.result as { workspace: Ws }).workspace;

    const { url } = await web.server();
    const page = await web.page();
    await page.goto(`${url}/#/runs/${runId}/tasks/${other.id}`);
    const facts = drawer(page).getByTestId('code-facts');
    await facts.waitFor();
    expect(await facts.getAttribute('data-merge-status')).toBe('merged');
    expect(await facts.getByTestId('code-branch').textContent()).toBe(ws(other).branch);
    expect(await facts.getByTestId('code-integration').textContent()).toBe(
      ws(other).integrationBranch,
    );
    expect(await facts.getByTestId('code-merge-sha').getAttribute('title')).toBe(ws(other).merge);
    expect(g(repo, 'rev-parse', ws(other).integrationBranch)).toBe(ws(other).merge);
    expect(await facts.getByTestId('code-conflict-files').count()).toBe(0);

    // The task whose merge conflicted: its files, from its resolve-conflict task, and who
    // resolved it.
    await page.goto(`${url}/#/runs/${runId}/tasks/${loser.id}`);
    await expect
      .poll(() => drawer(page).getByRole('heading', { level: 2 }).textContent())
      .toBe(loser.key);
    await facts.getByTestId('code-conflict-files').waitFor();
    expect(await facts.getByTestId('code-conflict-files').textContent()).toBe('a.txt');
    expect(await facts.getByTestId('code-merge').textContent()).toContain(
      `resolved by ${resolver.key}`,
    );
    expect(ws(loser).resolvedBy).toBe(resolver.key);
    expect(await axeViolations(page)).toEqual([]);
  }, 120_000);
});

describe.skipIf(!browserAvailable)('the task drawer: a conflict that fails', () => {
  it('shows a task whose merge conflicted under conflict: fail as not merged, with its error', async () => {
    makeRepo(join(web.cli.dir, 'repo'), { 'a.txt': 'base\n' });
    const plan = join(web.cli.dir, 'plan.yaml');
    const sh = (script: string) => `    command: sh\n    args: [-c, ${JSON.stringify(script)}]`;
    writeFileSync(
      plan,
      `name: clash
repo: repo
worktrees:
  conflict: fail
tasks:
  - key: left
${sh('sleep 1; echo left > a.txt')}
  - key: right
${sh('sleep 1; echo right > a.txt')}
`,
    );
    const ran = await web.cli.run(['run', plan, '--store', web.cli.store, '--json']);
    expect(ran.code).not.toBe(0);
    const runId = (JSON.parse(ran.stdout) as { runId: string }).runId;
    const baton = await web.cli.open();
    const all = (await baton.tasks({ runId, limit: 100 })).tasks;
    const failed = all.find((t) => t.state === 'failed')!;
    const merged = all.find((t) => t.state === 'succeeded')!;
    expect(failed.error?.code).toBe('BATON_MERGE_CONFLICT');

    const { url } = await web.server();
    const page = await web.page();
    await page.goto(`${url}/#/runs/${runId}/tasks/${failed.id}`);
    const facts = drawer(page).getByTestId('code-facts');
    await facts.waitFor();
    expect(await facts.getAttribute('data-merge-status')).toBe('conflict-failed');
    expect(await facts.getByTestId('code-merge').textContent()).toContain('conflict in a.txt');
    // Its branch, by the workers' naming rule, is the one git kept its work on.
    const branch = (await facts.getByTestId('code-branch').textContent())!;
    expect(failed.error?.message).toContain(`on branch ${branch} `);
    await page.goto(`${url}/#/runs/${runId}/tasks/${merged.id}`);
    await expect
      .poll(() => drawer(page).getByTestId('code-facts').getAttribute('data-merge-status'))
      .toBe('merged');
  }, 120_000);
});

describe.skipIf(!browserAvailable)('submitting a goal', () => {
  it('shows the server’s refusal next to its field, then creates a run whose plan task appears', async () => {
    const { url } = await web.server();
    const baton = await web.cli.open();
    const page = await web.page();
    await page.goto(`${url}/`);
    await page.getByRole('link', { name: 'Submit a goal' }).click();
    const goal = page.getByLabel('Goal', { exact: true });
    await goal.waitFor();
    expect(await page.getByTestId('goal-rule').textContent()).toContain('10 to 5,000 characters');

    // Too short: the server's own words, beside the field, and nothing stored.
    await goal.fill('Do it');
    await page.getByRole('button', { name: 'Submit goal' }).click();
    const descriptionError = page.getByTestId('goal-description-error');
    await descriptionError.waitFor();
    expect(await descriptionError.textContent()).toContain(
      'is 5 characters long; a goal needs at least 10',
    );
    expect(await goal.getAttribute('aria-invalid')).toBe('true');
    expect(await axeViolations(page)).toEqual([]);

    // A budget the server refuses, beside the budget.
    await goal.fill('Calculate factorial of 10');
    await page.getByLabel('Budget in USD (optional)').fill('-1');
    await page.getByRole('button', { name: 'Submit goal' }).click();
    const budgetError = page.getByTestId('goal-budget-error');
    await budgetError.waitFor();
    expect(await page.getByTestId('goal-description-error').count()).toBe(0);
    expect((await baton.runs({})).runs).toHaveLength(0);

    await page.getByLabel('Budget in USD (optional)').fill('0.5');
    await page.getByRole('button', { name: 'Submit goal' }).click();
    await page.waitForURL(/#\/runs\/run_\w+\/tasks\/tsk_/);
    await card(page, 'plan').waitFor();
    const runId = /#\/runs\/(run_\w+)/.exec(page.url())![1]!;
    const { tasks } = await baton.tasks({ runId });
    expect(tasks.map((t) => [t.key, t.type])).toEqual([['plan', 'plan']]);
    expect((tasks[0]!.payload as { goal: string }).goal).toBe('Calculate factorial of 10');
    expect((await baton.backend.budgetOf(runId))?.limitUsd).toBe(0.5);
    await expect
      .poll(() => drawer(page).getByRole('heading', { level: 2 }).textContent())
      .toBe('plan');
  }, 60_000);

  it('is hidden from a read token', async () => {
    const { url } = await web.server({ env: { BATON_API_TOKENS: `${READ}:read` } });
    const page = await web.page();
    await page.goto(`${url}/`);
    await page.getByLabel('API token').fill(READ);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('scopes').waitFor();
    expect(await page.getByRole('link', { name: 'Submit a goal' }).count()).toBe(0);
    await page.goto(`${url}/#/goal`);
    await page.getByTestId('no-submit').waitFor();
    expect(await page.getByLabel('Goal', { exact: true }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Submit goal' }).count()).toBe(0);
  });
});
