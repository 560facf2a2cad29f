/**
 * Merging a finished coding run from the dashboard, in a real browser against a real
 * `baton server` on the store a real `baton run` used, over a real git repository: the branch
 * moved on, so the page shows what a merge commit would do and changes nothing until the person
 * confirms; then the branch moves. A token without the `admin` scope is shown no button.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';

import { fingerprint, g, makeRepo } from '../workspace/repo.ts';
import { axeViolations, browserAvailable, useWeb } from './harness.ts';

const web = useWeb();
const SUBMIT = 'submit-token-merge-0123456789';
const ADMIN = 'admin-token-merge-0123456789';

async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('scopes').waitFor();
}

describe.skipIf(!browserAvailable)('the dashboard: merging a coding run', () => {
  it('shows what a merge commit would do, merges once confirmed, and the branch moves', async () => {
    const repo = makeRepo(join(web.cli.dir, 'repo'), { 'a.txt': 'base\n' });
    g(repo, 'branch', 'release');
    const plan = join(web.cli.dir, 'plan.yaml');
    writeFileSync(
      plan,
      `name: feature
repo: repo
worktrees: { merge: { into: release } }
tasks:
  - key: feature
    command: sh
    args: [-c, 'echo feature > feature.txt']
`,
    );
    // release moves on before the run ends (a hotfix), so the run cannot fast-forward it.
    g(repo, 'checkout', '-q', 'release');
    writeFileSync(join(repo, 'hotfix.txt'), 'fix\n');
    g(repo, 'add', 'hotfix.txt');
    g(repo, 'commit', '-q', '-m', 'hotfix');
    g(repo, 'checkout', '-q', 'main');
    const ran = await web.cli.run(['run', plan, '--store', web.cli.store, '--json']);
    expect(ran.code, ran.stderr).toBe(0);
    const runId = (JSON.parse(ran.stdout) as { runId: string }).runId;
    const release = g(repo, 'rev-parse', 'release');
    expect(g(repo, 'show', `${release}:hotfix.txt`)).toBe('fix');
    const before = fingerprint(repo).replace(/refs\/heads\/release \S+/, '');

    const { url } = await web.server({
      env: { BATON_API_TOKENS: `${SUBMIT}:read+submit,${ADMIN}:admin` },
    });
    const page = await web.page();
    const button = page.getByRole('button', { name: 'Merge into release' });

    // A read+submit token: the run's page, without the button.
    await signIn(page, url, SUBMIT);
    await page.goto(`${url}/#/runs/${runId}`);
    await page.locator('.run[data-state="succeeded"]').waitFor();
    expect(await page.getByTestId('merge-run').count()).toBe(0);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, url, ADMIN);
    await page.goto(`${url}/#/runs/${runId}`);
    await button.waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await button.click();

    const panel = page.getByTestId('merge-run');
    await expect.poll(() => panel.getAttribute('data-outcome')).toBe('would-merge');
    const message = await page.getByTestId('merge-message').textContent();
    expect(message).toContain('cannot fast-forward');
    expect(message).toContain('nothing was changed');
    expect(g(repo, 'rev-parse', 'release')).toBe(release);
    expect(await axeViolations(page)).toEqual([]);

    // Not now: nothing sent, the button is back.
    await page.getByRole('button', { name: "Don't merge" }).click();
    await button.waitFor();
    expect(g(repo, 'rev-parse', 'release')).toBe(release);

    await button.click();
    await page.getByRole('button', { name: 'Make the merge commit on release' }).click();
    await expect.poll(() => panel.getAttribute('data-outcome')).toBe('merged');
    const tip = g(repo, 'rev-parse', 'release');
    expect(tip).not.toBe(release);
    expect(await page.getByTestId('merge-message').getAttribute('data-sha')).toBe(tip);
    expect(g(repo, 'rev-list', '--parents', '-n', '1', tip).split(' ')).toHaveLength(3);
    expect(g(repo, 'show', 'release:feature.txt')).toBe('feature');
    expect(g(repo, 'show', 'release:hotfix.txt')).toBe('fix');
    // The checkout (on main) is as it was.
    expect(fingerprint(repo).replace(/refs\/heads\/release \S+/, '')).toBe(before);
  }, 120_000);
});
