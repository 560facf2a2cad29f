/**
 * The dashboard's access and accessibility in a real browser: with tokens it asks for one; a
 * `read` token sees no action it cannot use and the API refuses it anyway; axe-core finds no
 * serious or critical violation on any page; the cost panel shows what `GET /v1/costs` says
 * for a run of `llm` tasks against the fake model server, with its budget. Also what the server
 * answers at `/` (cache headers, `--no-dashboard`).
 */
import type { Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { startFakeLlm, type FakeLlmServer } from '../helpers/fake-llm.ts';
import { axeViolations, browserAvailable, card, useWeb } from './harness.ts';

const web = useWeb();
const READ = 'read-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';
const TOKENS = `${READ}:read,${ADMIN}:admin`;

async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('scopes').waitFor();
}

describe.skipIf(!browserAvailable)('the dashboard with tokens', () => {
  it('asks for a token; a read token sees no action and cannot submit through the API', async () => {
    const { url } = await web.server({ env: { BATON_API_TOKENS: TOKENS } });
    const baton = await web.cli.open();
    const { runId, tasks } = await baton.submitRun({
      name: 'guarded',
      tasks: [{ key: 'only', type: 'shell', payload: { command: 'true' }, requires: ['nobody'] }],
    });
    const page = await web.page();
    await signIn(page, url, READ);
    expect(await page.getByTestId('scopes').textContent()).toBe('token: read');

    await page.goto(`${url}/#/submit`);
    await page.getByTestId('no-submit').waitFor();
    expect(await page.getByRole('button', { name: 'Submit plan' }).count()).toBe(0);
    expect(await page.getByLabel('Plan', { exact: true }).count()).toBe(0);

    await page.goto(`${url}/#/runs/${runId}/tasks/${tasks[0]!.id}`);
    await page.getByRole('dialog').getByText('Attempts').first().waitFor();
    expect(await page.getByRole('button', { name: /Cancel/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Retry/ }).count()).toBe(0);

    // The API refuses the token whatever the page shows.
    const refused = await page.evaluate<{ status: number; code: string }>(`
      fetch('/v1/runs', {
        method: 'POST',
        headers: { authorization: 'Bearer ${READ}', 'content-type': 'application/yaml' },
        body: 'tasks:\\n  - key: x\\n    command: echo\\n',
      }).then(async (r) => ({ status: r.status, code: (await r.json()).error.code }))`);
    expect(refused).toEqual({ status: 403, code: 'BATON_FORBIDDEN' });
    expect((await baton.runs({})).runs).toHaveLength(1);

    // An admin token may: the same page has the buttons, and a bad plan's errors name lines.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, url, ADMIN);
    await page.goto(`${url}/#/submit`);
    await page.getByLabel('Plan', { exact: true }).fill('tasks:\n  - key: x\n    comand: echo\n');
    await page.getByRole('button', { name: 'Submit plan' }).click();
    const issue = page.getByTestId('plan-issues').locator('li').first();
    await issue.waitFor();
    expect(await issue.getAttribute('data-line')).toBe('3');
    expect((await baton.runs({})).runs).toHaveLength(1);
  });

  it('refuses a wrong token at sign-in, saying so', async () => {
    const { url } = await web.server({ env: { BATON_API_TOKENS: TOKENS } });
    const page = await web.page();
    await page.goto(`${url}/`);
    await page.getByLabel('API token').fill('not-a-token-of-this-server');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('the bearer token is not valid').waitFor();
  });
});

describe.skipIf(!browserAvailable)('the dashboard, accessible', () => {
  it('has no serious or critical axe violations on any page', async () => {
    const { url } = await web.server();
    const baton = await web.cli.open();
    const { runId, tasks } = await baton.submitRun({
      name: 'axe',
      tasks: [
        { key: 'ok', epic: 'one', type: 'shell', payload: { command: 'echo', args: ['hi'] } },
        {
          key: 'bad',
          epic: 'two',
          type: 'shell',
          payload: { command: 'false' },
          maxAttempts: 1,
          dependsOn: ['ok'],
        },
      ],
    });
    web.worker('axe-worker');
    const page = await web.page();
    await page.goto(`${url}/#/runs/${runId}`);
    await card(page, 'bad').and(page.locator('[data-state="failed"]')).waitFor({ timeout: 20_000 });
    const found: Record<string, unknown> = {};
    found['run'] = await axeViolations(page);
    await page.goto(`${url}/#/runs/${runId}/tasks/${tasks[1]!.id}`);
    await page.getByTestId('task-error').waitFor();
    found['drawer'] = await axeViolations(page);
    for (const hash of ['#/runs', '#/agents', '#/logs', '#/submit', '#/goal']) {
      await page.goto(`${url}/${hash}`);
      await page.locator('h1').waitFor();
      // Every section's loading line gone (a page may show several while its reads are out).
      await page.getByText('Loading…').first().waitFor({ state: 'detached' });
      found[hash] = await axeViolations(page);
    }
    expect(found).toEqual({
      run: [],
      drawer: [],
      '#/runs': [],
      '#/agents': [],
      '#/logs': [],
      '#/submit': [],
      '#/goal': [],
    });
  }, 60_000);

  it('is used with the keyboard: tab to a card, Enter opens its drawer, Escape closes it', async () => {
    const { url } = await web.server();
    const baton = await web.cli.open();
    const { runId } = await baton.submitRun({
      name: 'keys',
      tasks: [{ key: 'k', type: 'shell', payload: { command: 'true' }, requires: ['nobody'] }],
    });
    const page = await web.page();
    await page.goto(`${url}/#/runs/${runId}`);
    await card(page, 'k').waitFor();
    let focused = '';
    for (let i = 0; i < 40 && focused !== 'k'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate<string>(`document.activeElement?.dataset?.taskKey ?? ''`);
    }
    expect(focused).toBe('k');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
  });
});

describe.skipIf(!browserAvailable)('the cost panel', () => {
  let llm: FakeLlmServer;
  beforeEach(async () => {
    llm = await startFakeLlm({ keys: ['sk-ant-web-test-1234'] });
  });
  afterEach(async () => {
    await llm.close();
  });

  it('shows what GET /v1/costs says for a run of llm tasks, with its budget', async () => {
    const { url } = await web.server();
    llm.fallback = { text: 'An answer.', usage: { input: 1200, output: 300 } };
    const page = await web.page();
    await page.goto(`${url}/#/submit`);
    await page
      .getByLabel('Plan', { exact: true })
      .fill(
        [
          'name: priced',
          'budget: { usd: 2 }',
          'defaults: { maxTokens: 200 }',
          'tasks:',
          '  - key: ask',
          '    epic: research',
          '    executor: llm',
          '    model: anthropic:claude-sonnet-4-5',
          '    prompt: "Say something"',
          '  - key: again',
          '    epic: writing',
          '    executor: llm',
          '    model: anthropic:claude-sonnet-4-5',
          '    prompt: "Say more"',
          '    dependsOn: [ask]',
          '',
        ].join('\n'),
      );
    await page.getByRole('button', { name: 'Submit plan' }).click();
    await page.waitForURL(/#\/runs\/run_/);
    const runId = /#\/runs\/(run_\w+)/.exec(page.url())![1]!;
    web.worker('llm-worker', [], {
      ANTHROPIC_API_KEY: 'sk-ant-web-test-1234',
      ANTHROPIC_BASE_URL: llm.url,
    });
    await page.locator('.run[data-state="succeeded"]').waitFor({ timeout: 30_000 });

    const response = await fetch(`${url}/v1/costs?run=${runId}&by=epic`);
    const report = (await response.json()) as {
      total: { costUsd: number; calls: number };
      budget: { limitUsd: number };
      groups: { key: string; costUsd: number }[];
    };
    expect(report.total.calls).toBe(2);
    expect(report.total.costUsd).toBeGreaterThan(0);
    await expect
      .poll(() => page.getByTestId('cost-total').getAttribute('data-cost-usd'))
      .toBe(String(report.total.costUsd));
    expect(await page.getByTestId('budget').getAttribute('data-limit-usd')).toBe('2');
    const byEpic = await page.evaluate<Record<string, string>>(`Object.fromEntries(
      [...document.querySelectorAll('[data-testid="cost-by-epic"] tbody tr')].map((tr) => [
        tr.querySelector('th').textContent, tr.querySelector('[data-cost-usd]').dataset.costUsd]))`);
    expect(byEpic).toEqual(
      Object.fromEntries(report.groups.map((g) => [g.key, String(g.costUsd)])),
    );
  });
});

describe('what the server answers at /', () => {
  it('serves index.html no-cache and hashed assets immutable; --no-dashboard turns it off', async () => {
    const [on, off] = await Promise.all([web.server(), web.server({ args: ['--no-dashboard'] })]);
    expect(on.proc.stderr).toContain(`dashboard: open ${on.url}/ in a browser`);
    const index = await fetch(`${on.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${on.url}/${asset!}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    await js.arrayBuffer();
    // The API's own 404 is unchanged.
    const missing = await fetch(`${on.url}/v1/nothing`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe(
      'BATON_ROUTE_NOT_FOUND',
    );

    expect(off.proc.stderr).not.toContain('dashboard:');
    const none = await fetch(`${off.url}/`);
    expect(none.status).toBe(404);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe(
      'BATON_ROUTE_NOT_FOUND',
    );
  });
});
