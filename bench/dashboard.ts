/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core), against a real
 * `baton server` (the command, as a child process) on a SQLite store holding a run of 2,000 tasks
 * (10 epics × 20 levels × 10 tasks, each depending on the task before it in its epic, every fifth
 * also on one of the neighbouring epic):
 *
 * - firstRender: from `page.goto` of the run's page to its graph on screen (the first card
 *   painted, after a requestAnimationFrame), a fresh browser profile each time (cold: nothing
 *   cached) and then reloads (warm: the hashed assets cached); also the run's API answer alone
 *   (`GET /v1/runs/:id`), which the page waits for;
 * - expandAll: from the click on "Expand all epics" to 2,000 cards painted;
 * - eventToPaint: from just before a task is cancelled through the client (the event is written
 *   by the store) to the browser painting that task's card as cancelled, with every card of the
 *   run on screen. The page's clock and this process's clock are the machine's wall clock.
 *
 * Targets (issue 15): first render under 1.5 s, event to paint under 500 ms.
 *
 *   npx node bench/dashboard.ts [--runs 5] [--events 15]
 *
 * Prints one JSON object (medians and p95 in ms). Builds web/dist first if it is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { chromium, type BrowserContext, type Page } from 'playwright-core';

import { Baton } from '../src/runtime/baton.ts';
import type { TaskSpec } from '../src/core/types.ts';
import { median, percentile, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    events: { type: 'string', default: '15' },
  },
});
const RUNS = Number(values.runs);
const EVENTS = Number(values.events);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

if (!existsSync(join(ROOT, 'web', 'dist', 'index.html'))) {
  const built = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'web/vite.config.ts',
    ],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } },
  );
  if (built.status !== 0) process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'baton-bench-dashboard-'));
const store = `sqlite:${join(dir, 'b.db')}`;

const EPICS = 10;
const LEVELS = 20;
const PER_CELL = 10;
const tasks: TaskSpec[] = [];
for (let e = 0; e < EPICS; e++) {
  for (let l = 0; l < LEVELS; l++) {
    for (let i = 0; i < PER_CELL; i++) {
      const deps = l === 0 ? [] : [`e${e}-l${l - 1}-${i}`];
      if (l > 0 && i % 5 === 0) deps.push(`e${(e + 1) % EPICS}-l${l - 1}-${i}`);
      tasks.push({
        key: `e${e}-l${l}-${i}`,
        epic: `epic-${e}`,
        type: 'shell',
        payload: { command: 'true' },
        // No agent has it: the run stays as submitted while the browser looks at it.
        requires: ['nobody'],
        dependsOn: deps,
      });
    }
  }
}

const baton = await Baton.open(store);
const { runId, tasks: submitted } = await baton.submitRun({ name: 'bench-2000', tasks });
const idByKey = new Map(submitted.map((t) => [t.key!, t.id]));

const server = spawn(
  process.execPath,
  [join(ROOT, 'bin', 'baton.js'), 'server', '--port', '0', '--store', store],
  { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
);
const url = await new Promise<string>((resolve, reject) => {
  let stderr = '';
  server.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    const found = /API listening on (http:\/\/[^\s;]+)/.exec(stderr);
    if (found !== null) resolve(found[1]!);
  });
  server.once('exit', () => reject(new Error(`baton server exited:\n${stderr}`)));
});

const contexts: BrowserContext[] = [];
async function freshPage(): Promise<Page> {
  const profile = mkdtempSync(join(dir, 'profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: ARGS,
    headless: true,
    viewport: { width: 1400, height: 900 },
  });
  contexts.push(context);
  return context.pages()[0] ?? (await context.newPage());
}

/** In the page: resolves with the wall-clock time of the frame after `selector` exists. */
const paintedAt = (selector: string): string => `new Promise((resolve) => {
  const done = () => requestAnimationFrame(() => resolve(performance.timeOrigin + performance.now()));
  if (document.querySelector(${JSON.stringify(selector)})) return done();
  const observer = new MutationObserver(() => {
    if (document.querySelector(${JSON.stringify(selector)})) { observer.disconnect(); done(); }
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true });
})`;

const runUrl = `${url}/#/runs/${runId}`;
const cold: number[] = [];
const warm: number[] = [];
const api: number[] = [];
const expand: number[] = [];
const eventToPaint: number[] = [];
try {
  for (let r = 0; r < RUNS; r++) {
    const started = performance.now();
    await fetch(`${url}/v1/runs/${runId}`).then((response) => response.arrayBuffer());
    api.push(performance.now() - started);
  }
  for (let r = 0; r < RUNS; r++) {
    const page = await freshPage();
    const t0 = Date.now();
    await page.goto(runUrl);
    cold.push((await page.evaluate<number>(paintedAt('.graph .card'))) - t0);
    for (let w = 0; w < 2; w++) {
      const t1 = Date.now();
      await page.reload();
      warm.push((await page.evaluate<number>(paintedAt('.graph .card'))) - t1);
    }
    if (r === 0) {
      const t2 = Date.now();
      await page.getByRole('button', { name: 'Expand all epics' }).click();
      await page.waitForFunction(
        `document.querySelectorAll('.graph .card[data-task-id]').length >= ${tasks.length}`,
        undefined,
        { timeout: 60_000 },
      );
      expand.push((await page.evaluate<number>(paintedAt('.graph .card[data-task-id]'))) - t2);
      // Event to paint, with all 2,000 cards on screen: cancel leaves (nothing downstream).
      await page.locator('[data-testid="live"].on').waitFor();
      for (let i = 0; i < EVENTS; i++) {
        const id = idByKey.get(`e${i % EPICS}-l${LEVELS - 1}-${Math.floor(i / EPICS)}`)!;
        const painted = page.evaluate<number>(
          paintedAt(`.graph [data-task-id="${id}"][data-state="cancelled"]`),
        );
        const t3 = Date.now();
        await baton.cancel(id, 'bench');
        eventToPaint.push((await painted) - t3);
      }
    }
    await contexts.pop()!.close();
  }
} finally {
  await Promise.all(contexts.map((c) => c.close()));
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('close', resolve));
  await baton.close();
  rmSync(dir, { recursive: true, force: true });
}

const stats = (xs: number[]) => ({
  median: round(median(xs)),
  p95: round(percentile(xs, 95)),
  n: xs.length,
});
console.log(
  JSON.stringify(
    {
      bench: 'dashboard',
      tasks: tasks.length,
      browser: 'chromium (Debian), headless',
      apiRunMs: stats(api),
      firstRenderColdMs: stats(cold),
      firstRenderWarmMs: stats(warm),
      expandAllMs: stats(expand),
      eventToPaintMs: stats(eventToPaint),
      targets: { firstRenderMs: 1500, eventToPaintMs: 500 },
    },
    null,
    2,
  ),
);
