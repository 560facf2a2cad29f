/**
 * The dashboard in a real browser against a real `baton server`, store and workers: a plan
 * submitted in the UI whose cards move live, a failure's stderr in the task drawer, cancel and
 * retry from the UI changing the store. Takes the README's screenshot (docs/dashboard.png).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { REPO } from '../helpers/cli.ts';
import { browserAvailable, card, cardStates, recordCardStates, useWeb } from './harness.ts';

const web = useWeb();

const PLAN = `name: ui-plan
tasks:
  - key: a
    epic: build
    command: sleep
    args: ['1']
  - key: b
    epic: build
    command: sleep
    args: ['1']
    dependsOn: [a]
    requires: [gpu]
  - key: c
    epic: docs
    command: echo
    args: [documented]
`;

describe.skipIf(!browserAvailable)('the dashboard, live', () => {
  it('submits a plan typed in the UI and shows its cards go blocked, ready, running, succeeded', async () => {
    const { url } = await web.server();
    const page = await web.page();
    await page.goto(`${url}/#/submit`);
    await page.getByLabel('Plan', { exact: true }).fill(PLAN);
    await page.getByRole('button', { name: 'Submit plan' }).click();
    await page.waitForURL(/#\/runs\/run_/);
    await card(page, 'b').waitFor();
    await recordCardStates(page);
    await expect.poll(() => card(page, 'a').getAttribute('data-state')).toBe('ready');
    expect(await card(page, 'b').getAttribute('data-state')).toBe('blocked');

    // A worker without gpu runs a and c; b waits, ready, for an agent that can take it.
    web.worker('cpu-1');
    await expect
      .poll(() => card(page, 'b').getAttribute('data-state'), { timeout: 20_000 })
      .toBe('ready');
    web.worker('gpu-1', ['--capabilities', 'gpu']);
    await expect
      .poll(() => card(page, 'b').getAttribute('data-state'), { timeout: 20_000 })
      .toBe('succeeded');

    const seen = await cardStates(page);
    expect(seen['a']).toEqual(['ready', 'running', 'succeeded']);
    expect(seen['b']).toEqual(['blocked', 'ready', 'running', 'succeeded']);
    await expect.poll(() => page.locator('.run').getAttribute('data-state')).toBe('succeeded');

    const baton = await web.cli.open();
    const { tasks } = await baton.tasks({});
    expect(tasks.map((t) => [t.key, t.state]).sort()).toEqual([
      ['a', 'succeeded'],
      ['b', 'succeeded'],
      ['c', 'succeeded'],
    ]);
    // The README's picture: taken here, written into docs/ when asked (UPDATE_SCREENSHOTS=1),
    // so an ordinary test run leaves the checkout as it was.
    const shot = await page.screenshot();
    expect(shot.subarray(1, 4).toString()).toBe('PNG');
    if (process.env['UPDATE_SCREENSHOTS'] === '1') {
      await writeFile(join(REPO, 'docs', 'dashboard.png'), shot);
    }
  });

  it('shows a failed shell task’s stderr in its drawer; retry and cancel from the UI change the store', async () => {
    const { url } = await web.server();
    const baton = await web.cli.open();
    const { runId, tasks } = await baton.submitRun({
      name: 'failing',
      tasks: [
        {
          key: 'boom',
          type: 'shell',
          payload: { command: 'echo boom-on-stderr >&2; exit 3', shell: true },
          maxAttempts: 1,
        },
        {
          key: 'later',
          type: 'shell',
          payload: { command: 'echo', args: ['never'] },
          requires: ['nobody'],
        },
      ],
    });
    const boom = tasks.find((t) => t.key === 'boom')!.id;
    const later = tasks.find((t) => t.key === 'later')!.id;
    web.worker('w1');
    const page = await web.page();
    await page.goto(`${url}/#/runs/${runId}`);
    await expect
      .poll(() => card(page, 'boom').getAttribute('data-state'), { timeout: 20_000 })
      .toBe('failed');
    await card(page, 'boom').click();
    const drawer = page.getByRole('dialog');
    await expect
      .poll(() => drawer.getByTestId('task-log').textContent())
      .toContain('boom-on-stderr');
    expect(await drawer.locator('[data-stream="stderr"]').first().textContent()).toContain(
      'boom-on-stderr',
    );
    expect(await drawer.getByTestId('task-error').textContent()).toMatch(/exit|code 3|3/);

    await drawer.getByRole('button', { name: 'Retry task' }).click();
    await expect.poll(async () => (await baton.get(boom))?.attempts).toBe(2);
    await expect
      .poll(() => card(page, 'boom').getAttribute('data-state'), { timeout: 20_000 })
      .toBe('failed');

    await page.goto(`${url}/#/runs/${runId}/tasks/${later}`);
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel task' }).click();
    await expect.poll(async () => (await baton.get(later))?.state).toBe('cancelled');
    await expect.poll(() => card(page, 'later').getAttribute('data-state')).toBe('cancelled');
  });
});
