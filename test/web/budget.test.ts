/**
 * The runs list's "Budget" column in a real browser against a real `baton server`: a run
 * submitted with a budget shows "$spent of $limit" and a meter, one without shows "—". The
 * budgets come with `GET /v1/runs` itself (no request per run).
 */
import { describe, expect, it } from 'vitest';

import { browserAvailable, useWeb } from './harness.ts';

const web = useWeb();

describe.skipIf(!browserAvailable)('the dashboard: budget used in the runs list', () => {
  it('shows a budgeted run’s spent of limit, and a dash for a run without a budget', async () => {
    const { url } = await web.server();
    const baton = await web.cli.open();
    const budgeted = await baton.submitRun({
      name: 'with-budget',
      budget: { usd: 2 },
      tasks: [{ key: 'a', type: 'echo' }],
    });
    const plain = await baton.submitRun({ name: 'no-budget', tasks: [{ key: 'a', type: 'echo' }] });

    const costRequests: string[] = [];
    const page = await web.page();
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/v1/costs')) costRequests.push(r.url());
    });
    await page.goto(`${url}/#/runs`);
    const withBudget = page.locator(`[data-run-id="${budgeted.runId}"] [data-testid="run-budget"]`);
    await withBudget.waitFor();
    expect((await withBudget.textContent())?.trim()).toBe('$0 of $2.00');
    expect(await withBudget.getByRole('meter').getAttribute('aria-label')).toBe(
      '$0 spent and $0 reserved of a $2.00 budget',
    );
    const without = page.locator(`[data-run-id="${plain.runId}"] [data-testid="run-budget"]`);
    expect((await without.textContent())?.trim()).toBe('—no budget');
    expect(await without.getByRole('meter').count()).toBe(0);
    // The page's costs come from one `?by=run` report, never one request per run.
    expect(costRequests.every((u) => !new URL(u).searchParams.has('run'))).toBe(true);
  });
});
