/**
 * The Agents page's pool scaling list in a real browser: a scaling decision recorded before the
 * page was opened is listed (read from `GET /v1/events/recent`), and one made while the page is
 * open comes in live above it.
 */
import { describe, expect, it } from 'vitest';

import { browserAvailable, useWeb } from './harness.ts';

const web = useWeb();

describe.skipIf(!browserAvailable)('the dashboard: pool scaling history', () => {
  it('shows a scaling event that happened before the page opened, then live ones above it', async () => {
    const { url } = await web.server();
    const baton = await web.cli.open();
    // Recorded the way Pool records its decisions (src/runtime/pool.ts).
    await baton.backend.recordEvent({
      type: 'pool.scaled_up',
      agentId: 'pool-w1',
      data: { reason: 'queue depth 7 over 1 worker', workers: 2 },
    });
    await baton.submit({ type: 'shell', payload: { command: 'true' }, requires: ['nobody'] });

    const page = await web.page();
    await page.goto(`${url}/#/agents`);
    const list = page.locator('[data-testid="pool-events"]');
    const before = list.locator('li[data-type="pool.scaled_up"][data-worker="pool-w1"]');
    await before.waitFor({ timeout: 15_000 });
    expect(await before.textContent()).toContain('queue depth 7 over 1 worker');
    await page.locator('[data-testid="live"].on').waitFor();

    await baton.backend.recordEvent({
      type: 'pool.scaled_down',
      agentId: 'pool-w1',
      data: { reason: 'idle for 30s', workers: 1 },
    });
    await list.locator('li[data-type="pool.scaled_down"]').waitFor({ timeout: 15_000 });
    const types = await Promise.all(
      (await list.locator('li').all()).map((li) => li.getAttribute('data-type')),
    );
    expect(types).toEqual(['pool.scaled_down', 'pool.scaled_up']);
  });
});
