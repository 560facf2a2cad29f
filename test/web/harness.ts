/**
 * The dashboard's browser tests: a real `baton server` (the command, as a child process) on a
 * real SQLite store, real `baton worker`s, and Debian's Chromium driven by playwright-core with a
 * fresh profile per test. The dashboard is built first when web/dist is missing or older than
 * web/src, so the tests see what the server would serve.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterEach, beforeAll } from 'vitest';

import { REPO, useCli, type CliHarness, type CliProcess } from '../helpers/cli.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

const ci = process.env['CI'] === 'true';
/** Whether the browser exists; under CI=true its absence fails the tests instead. */
export const browserAvailable = existsSync(CHROMIUM);
if (!browserAvailable && ci) {
  throw new Error(
    `${CHROMIUM} is missing; CI=true needs it for the dashboard tests (apt-get install -y chromium, as .ci/run does)`,
  );
}

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Build web/dist unless it is newer than every source of the dashboard. */
export function ensureDashboardBuilt(): void {
  const index = join(REPO, 'web', 'dist', 'index.html');
  const sources = Math.max(
    newest(join(REPO, 'web', 'src')),
    statSync(join(REPO, 'web', 'index.html')).mtimeMs,
    statSync(join(REPO, 'src', 'server', 'schemas.ts')).mtimeMs,
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const result = spawnSync(
    process.execPath,
    [
      join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'web/vite.config.ts',
    ],
    // vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
    { cwd: REPO, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } },
  );
  if (result.status !== 0) {
    throw new Error(`vite build failed:\n${result.stdout}\n${result.stderr}`);
  }
}

export interface WebHarness {
  cli: CliHarness;
  /** Start `baton server` on the test's store; resolves with its base URL. */
  server(options?: { env?: NodeJS.ProcessEnv; args?: string[] }): Promise<{
    url: string;
    port: number;
    proc: CliProcess;
  }>;
  /** Start `baton worker` on the test's store. */
  worker(name: string, args?: string[], env?: NodeJS.ProcessEnv): CliProcess;
  /** A page in a fresh browser profile (closed after the test). */
  page(): Promise<Page>;
}

export function useWeb(): WebHarness {
  const cli = useCli();
  let contexts: BrowserContext[] = [];
  let profiles: string[] = [];

  beforeAll(() => {
    if (browserAvailable) ensureDashboardBuilt();
  }, 120_000);

  afterEach(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    contexts = [];
    await Promise.all(profiles.map((p) => rm(p, { recursive: true, force: true })));
    profiles = [];
  });

  return {
    cli,
    async server(options = {}) {
      const proc = cli.start(
        ['server', '--port', '0', '--store', cli.store, ...(options.args ?? [])],
        options.env === undefined ? {} : { env: options.env },
      );
      await proc.waitFor(/API listening on (http:\/\/[^\s;]+)/, 'stderr');
      // The line about the dashboard follows, unless it is off.
      if (!(options.args ?? []).includes('--no-dashboard')) {
        await proc.waitFor(/dashboard: /, 'stderr');
      }
      const url = /API listening on (http:\/\/[^\s;]+)/.exec(proc.stderr)![1]!;
      return { url, port: Number(new URL(url).port), proc };
    },
    worker(name, args = [], env) {
      return cli.start(
        [
          'worker',
          '--store',
          cli.store,
          '--name',
          name,
          '--agent-id',
          name,
          '--heartbeat',
          '200ms',
          '--agent-ttl',
          '1s',
          ...args,
        ],
        env === undefined ? {} : { env },
      );
    },
    async page() {
      const profile = await mkdtemp(join(tmpdir(), 'baton-chromium-'));
      profiles.push(profile);
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: CHROMIUM_ARGS,
        headless: true,
        viewport: { width: 1400, height: 900 },
      });
      contexts.push(context);
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('dialog', (dialog) => void dialog.accept());
      // Fail a wait with what it waited for, before the test's own timeout says nothing.
      page.setDefaultTimeout(15_000);
      return page;
    },
  };
}

/**
 * Record, in the page, every state each task card shows (by task key), as the DOM changes: what
 * a person watching would have seen, in order, without repeats.
 */
export async function recordCardStates(page: Page): Promise<void> {
  // A string, evaluated in the page: the tests' TypeScript has no DOM types.
  await page.evaluate(`(() => {
    const seen = {};
    window.__states = seen;
    const scan = () => {
      for (const el of document.querySelectorAll('.graph [data-task-key]')) {
        const key = el.dataset.taskKey ?? '';
        const state = el.dataset.state ?? '';
        const list = (seen[key] ??= []);
        if (list[list.length - 1] !== state) list.push(state);
      }
    };
    scan();
    new MutationObserver(scan).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-state'],
    });
  })()`);
}

export async function cardStates(page: Page): Promise<Record<string, string[]>> {
  return await page.evaluate<Record<string, string[]>>('window.__states');
}

/** The card of task `key` in the run graph. */
export function card(page: Page, key: string) {
  return page.locator(`.graph [data-task-key="${key}"]`);
}

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** axe-core's serious and critical violations on the page as it is now. */
export async function axeViolations(page: Page): Promise<{ id: string; nodes: string[] }[]> {
  await page.addScriptTag({ path: AXE });
  return await page.evaluate<{ id: string; nodes: string[] }[]>(`
    axe.run(document, { resultTypes: ['violations'] }).then((r) =>
      r.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.html.slice(0, 160)) })))`);
}
