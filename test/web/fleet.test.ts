/**
 * The dashboard's agents table and live stream in a real browser: a worker that joins appears,
 * one SIGKILLed is marked lost; a dropped event stream resumes with Last-Event-ID and shows every
 * event that happened while it was down.
 */
import { describe, expect, it } from 'vitest';

import { startProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { browserAvailable, useWeb } from './harness.ts';

const web = useWeb();

describe.skipIf(!browserAvailable)('the dashboard: agents and the live stream', () => {
  it('shows a worker that joins, and marks one that is SIGKILLed as lost', async () => {
    const { url } = await web.server({ args: ['--agent-ttl', '1s'] });
    const page = await web.page();
    await page.goto(`${url}/#/agents`);
    await page.getByText('No agents yet').waitFor();

    const keeper = web.worker('keeper', ['--capabilities', 'gpu,python']);
    await keeper.waitFor(/waiting for tasks/, 'stderr');
    const row = page.locator('[data-agent-id="keeper"]');
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getAttribute('data-health')).toBe('ok');
    expect(await row.textContent()).toContain('gpu, python, shell');

    const victim = web.worker('victim');
    await victim.waitFor(/waiting for tasks/, 'stderr');
    await page.locator('[data-agent-id="victim"][data-health="ok"]').waitFor({ timeout: 15_000 });
    victim.child.kill('SIGKILL');
    await page.locator('[data-agent-id="victim"][data-health="lost"]').waitFor({ timeout: 20_000 });
    expect(await row.getAttribute('data-health')).toBe('ok');

    // Filters: by capability and by health.
    await page.getByLabel('Capability').selectOption('gpu');
    await expect.poll(() => page.locator('[data-agent-id]').count()).toBe(1);
    await page.getByLabel('Capability').selectOption('');
    await page.getByLabel('Health').selectOption('lost');
    await expect.poll(() => page.locator('[data-agent-id]').count()).toBe(1);
    expect(await page.locator('[data-agent-id="victim"]').count()).toBe(1);
  });

  it('resumes a dropped event stream with Last-Event-ID and misses no event', async () => {
    const { port } = await web.server();
    const proxy: TcpProxy = await startProxy(port);
    try {
      const baton = await web.cli.open();
      const { runId, tasks } = await baton.submitRun({
        name: 'resume',
        tasks: ['t1', 't2', 't3', 't4'].map((key) => ({
          key,
          type: 'shell',
          payload: { command: 'true' },
          requires: ['nobody'],
        })),
      });
      const page = await web.page();
      await page.goto(`http://127.0.0.1:${proxy.port}/#/runs/${runId}`);
      await page.locator('.graph [data-task-key="t4"]').waitFor();
      await page.locator('[data-testid="live"].on').waitFor();

      // One event while connected, then the stream goes dark: what the server sends is lost on
      // the way, and the connection is cut.
      await baton.cancel(tasks[0]!.id, 'before the drop');
      await page.locator('[data-testid="feed"] [data-type="task.cancelled"]').waitFor();
      proxy.mode = 'drop-replies';
      await baton.cancel(tasks[1]!.id, 'during the drop');
      await baton.cancel(tasks[2]!.id, 'during the drop');
      await baton.cancel(tasks[3]!.id, 'during the drop');
      proxy.mode = 'pass';
      proxy.cut();

      await page.locator('.graph [data-task-key="t4"][data-state="cancelled"]').waitFor({
        timeout: 20_000,
      });
      // Every event of the run the store has, since the page opened, is in the feed, once.
      const stored: string[] = [];
      for await (const event of baton.events({ follow: false })) {
        if (
          event.runId === runId &&
          event.type !== 'run.submitted' &&
          event.type !== 'task.submitted'
        ) {
          stored.push(event.id);
        }
      }
      const feed = `[...document.querySelectorAll('[data-testid="feed"] [data-event-id]')]
        .map((item) => item.dataset.eventId).reverse()`;
      await expect.poll(() => page.evaluate<string[]>(feed)).toEqual(stored);
    } finally {
      await proxy.close();
    }
  });
});
