/**
 * What deeply nested input costs the HTTP server: for each case, a fresh server process
 * (`bench/fixtures/http-server.ts`, SQLite in a temp dir) gets the case's requests, and we
 * record the answer, the client's wall time (median), the server's CPU time per request (utime +
 * stime from /proc) and how far its peak RSS (VmHWM) rose above its RSS before the requests. Side by side
 * with another checkout of Baton (`--baseline <dir>`, e.g. `git archive <commit> | tar -x -C dir`
 * with a `node_modules` link), the two sides alternating, one fresh server per request. Prints
 * one JSON object (medians over `--runs`; ratios are this checkout / baseline). Linux only.
 *
 *   node bench/nesting.ts [--runs 3] [--baseline /tmp/baton-base] [--only yaml100k,json10k,…]
 *
 * Cases:
 * - yaml100k: `POST /v1/runs`, a YAML plan whose payload is a flow sequence nested 100,000 deep;
 * - json10k: `POST /v1/tasks`, a payload nested 10,000 deep;
 * - json1MiB: `POST /v1/tasks`, a flat payload of ~1 MiB (accepted), 20 times per server: the
 *   cost of measuring the depth of the largest body the server takes;
 * - plan500: `POST /v1/runs`, an ordinary YAML plan of 500 tasks in a chain (accepted), 10
 *   times per server: the cost of reading a plan's YAML token by token.
 *
 * And `checks`, in this process, the checks alone beside what they guard, alternating, medians
 * over `--iterations`: `jsonTextTooDeep` beside `JSON.parse` on the json1MiB body, and
 * `readYaml` (the plan reader with its depth checks) beside the `parseDocument` it replaces on
 * the plan500 body.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { LineCounter, parseDocument } from 'yaml';

import { jsonTextTooDeep } from '../src/core/nesting.ts';
import { readYaml } from '../src/runtime/plan-yaml.ts';
import { median, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    iterations: { type: 'string', default: '30' },
    baseline: { type: 'string' },
    only: { type: 'string', default: 'yaml100k,json10k,json1MiB,plan500,checks' },
  },
});
const RUNS = Number(values.runs);
const TOKEN = `bench-${randomUUID()}`;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const HERE = fileURLToPath(new URL('..', import.meta.url));

interface Case {
  method: 'POST';
  path: string;
  contentType: string;
  body: string;
  /** Requests per server: 1 for a refusal's cost on a fresh server, more for a warm figure. */
  requests: number;
}

const flow = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
const CASES: Record<string, Case> = {
  yaml100k: {
    method: 'POST',
    path: '/v1/runs',
    contentType: 'application/yaml',
    body: `tasks:\n  - key: a\n    executor: echo\n    payload: ${flow(100_000)}\n`,
    requests: 1,
  },
  json10k: {
    method: 'POST',
    path: '/v1/tasks',
    contentType: 'application/json',
    body: `{"type": "echo", "payload": ${flow(10_000)}}`,
    requests: 1,
  },
  json1MiB: {
    method: 'POST',
    path: '/v1/tasks',
    contentType: 'application/json',
    body: JSON.stringify({
      type: 'echo',
      payload: Array.from({ length: 10_000 }, (_, i) => `${i}`.padEnd(100, 'x')),
    }),
    requests: 20,
  },
  plan500: {
    method: 'POST',
    path: '/v1/runs',
    contentType: 'application/yaml',
    body: `name: chain\ntasks:\n${Array.from(
      { length: 500 },
      (_, i) =>
        `  - key: t${i}\n    executor: echo\n    payload: { n: ${i}, tags: [a, b, c] }\n${i === 0 ? '' : `    dependsOn: [t${i - 1}]\n`}`,
    ).join('')}`,
    requests: 10,
  },
};

interface Sample {
  status: number;
  code: string | null;
  /** The median of the server's requests. */
  wallMs: number;
  /** Per request. */
  cpuMs: number;
  rssGrowthMB: number;
}

function procStat(pid: number): { cpuTicks: number; rssKB: number; hwmKB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1]);
  return { cpuTicks, rssKB: kb('VmRSS'), hwmKB: kb('VmHWM') };
}

/** One fresh server from `root` (a Baton checkout), `c.requests` requests, the server stopped. */
async function measureOne(root: string, c: Case): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-nesting-'));
  const child = spawn(
    process.execPath,
    [join(root, 'bench/fixtures/http-server.ts'), `sqlite:${join(dir, 'b.db')}`, 'bench', TOKEN],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done === true) throw new Error(`the server in ${root} exited early`);
    const { url } = JSON.parse(first.value) as { url: string };
    // Let start-up settle, then take the "before" figures.
    await new Promise((r) => setTimeout(r, 300));
    const pid = child.pid!;
    const before = procStat(pid);
    const walls: number[] = [];
    let res: Response | undefined;
    let text = '';
    for (let i = 0; i < c.requests; i++) {
      const started = performance.now();
      res = await fetch(url + c.path, {
        method: c.method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': c.contentType },
        body: c.body,
      });
      text = await res.text();
      walls.push(performance.now() - started);
    }
    const after = procStat(pid);
    let code: string | null = null;
    try {
      code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? null;
    } catch {
      code = null;
    }
    return {
      status: res?.status ?? 0,
      code,
      wallMs: median(walls),
      cpuMs: ((after.cpuTicks - before.cpuTicks) * 1000) / CLK_TCK / c.requests,
      rssGrowthMB: Math.max(0, after.hwmKB - before.rssKB) / 1024,
    };
  } finally {
    const exited = child.exitCode === null ? once(child, 'exit') : Promise.resolve();
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

function summary(samples: Sample[]) {
  return {
    statuses: [...new Set(samples.map((s) => `${s.status} ${s.code ?? ''}`.trim()))],
    wallMs: round(median(samples.map((s) => s.wallMs)), 1),
    cpuMs: round(median(samples.map((s) => s.cpuMs)), 0),
    rssGrowthMB: round(median(samples.map((s) => s.rssGrowthMB)), 1),
  };
}

/** Median ms of `a` and `b` over `--iterations`, after a warm-up, alternating which goes first. */
function sideBySide(a: () => unknown, b: () => unknown): [number, number] {
  const times: [number[], number[]] = [[], []];
  const iterations = Number(values.iterations);
  // Warm up both first, so neither is measured while it is being compiled.
  for (let i = 0; i < 5; i++) {
    a();
    b();
  }
  for (let i = 0; i < iterations; i++) {
    const order = i % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const);
    for (const which of order) {
      const started = performance.now();
      (which === 0 ? a : b)();
      times[which].push(performance.now() - started);
    }
  }
  return [round(median(times[0]), 2), round(median(times[1]), 2)];
}

function checks(): Record<string, unknown> {
  const json = CASES['json1MiB']!.body;
  const [scanMs, parseMs] = sideBySide(
    () => jsonTextTooDeep(json),
    () => JSON.parse(json),
  );
  const plan = CASES['plan500']!.body;
  const [readYamlMs, parseDocumentMs] = sideBySide(
    () => readYaml(plan, 'plan.yaml', new LineCounter()),
    () =>
      parseDocument(plan, {
        lineCounter: new LineCounter(),
        prettyErrors: false,
        merge: true,
        uniqueKeys: true,
      }),
  );
  return {
    json1MiB: {
      jsonTextTooDeepMs: scanMs,
      jsonParseMs: parseMs,
      ratio: round(scanMs / parseMs, 3),
    },
    plan500: {
      readYamlMs,
      parseDocumentMs,
      ratio: round(readYamlMs / parseDocumentMs, 3),
    },
  };
}

const sides: [string, string][] = [['current', HERE]];
if (values.baseline !== undefined) sides.push(['baseline', resolve(values.baseline)]);
const results: Record<string, Record<string, unknown>> = {};
for (const name of values.only.split(',')) {
  if (name === 'checks') {
    process.stderr.write('[bench:nesting] checks\n');
    results[name] = checks();
    continue;
  }
  const c = CASES[name];
  if (c === undefined)
    throw new Error(`unknown case ${name}; cases: ${Object.keys(CASES).join(', ')}`);
  const samples: Record<string, Sample[]> = {};
  for (let run = 0; run < RUNS; run++) {
    for (const [side, root] of run % 2 === 0 ? sides : [...sides].reverse()) {
      process.stderr.write(`[bench:nesting] ${name} ${side} run ${run + 1}/${RUNS}\n`);
      (samples[side] ??= []).push(await measureOne(root, c));
    }
  }
  const out: Record<string, unknown> = {
    bodyBytes: Buffer.byteLength(c.body),
    requestsPerServer: c.requests,
  };
  for (const [side] of sides) out[side] = summary(samples[side] ?? []);
  if (samples['baseline'] !== undefined) {
    const cur = summary(samples['current'] ?? []);
    const base = summary(samples['baseline']);
    out['ratio'] = {
      wallMs: round(cur.wallMs / base.wallMs, 3),
      cpuMs: base.cpuMs === 0 ? null : round(cur.cpuMs / base.cpuMs, 3),
    };
  }
  results[name] = out;
}
process.stdout.write(
  `${JSON.stringify({ runs: RUNS, clkTck: CLK_TCK, baseline: values.baseline ?? null, cases: results }, null, 2)}\n`,
);
