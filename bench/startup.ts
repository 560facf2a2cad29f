/**
 * How long the `baton` command takes to start and answer: each case is a fresh
 * `node bin/baton.js …` process, timed from spawn to exit (wall time), in a temp directory with
 * its own SQLite store. Side by side with another checkout of Baton (`--baseline <dir>`, e.g.
 * `git archive <commit> | tar -x -C <dir>` with a `node_modules` link), the two sides
 * alternating case by case. Prints one JSON object: medians over `--runs` (ratios are this
 * checkout / baseline).
 *
 *   node bench/startup.ts [--runs 7] [--baseline /tmp/startup-base] [--only version,help,…]
 *
 * Cases:
 * - version: `baton --version`;
 * - help: `baton --help`;
 * - status: `baton status` (the recent runs) on a store holding one finished run;
 * - statusRun: `baton status <runId>` of that run;
 * - run1: `baton run` of a one-task plan (`true`), to the summary.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { median, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    baseline: { type: 'string' },
    only: { type: 'string', default: 'version,help,status,statusRun,run1' },
  },
});
const RUNS = Number(values.runs);
const HERE = fileURLToPath(new URL('..', import.meta.url));

interface Side {
  name: 'current' | 'baseline';
  root: string;
  /** A temp directory with a store holding one finished run. */
  dir: string;
  runId: string;
}

type Case = (side: Side) => string[];
const CASES: Record<string, Case> = {
  version: () => ['--version'],
  help: () => ['--help'],
  status: () => ['status'],
  statusRun: (side) => ['status', side.runId],
  run1: () => ['run', 'one.yaml'],
};

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function baton(root: string, dir: string, args: readonly string[]): Promise<Outcome> {
  const env = { ...process.env };
  delete env['BATON_STORE'];
  delete env['BATON_LOG_LEVEL'];
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'bin/baton.js'), ...args], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

async function prepare(name: Side['name'], root: string): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), `baton-bench-startup-${name}-`));
  writeFileSync(
    join(dir, 'one.yaml'),
    'name: one\ntasks:\n  - key: only\n    command: "true"\n',
    'utf8',
  );
  const first = await baton(root, dir, ['run', 'one.yaml', '--json']);
  if (first.code !== 0) throw new Error(`baton run in ${root} failed:\n${first.stderr}`);
  const { runId } = JSON.parse(first.stdout) as { runId: string };
  return { name, root, dir, runId };
}

const sides: Side[] = [await prepare('current', HERE)];
if (values.baseline !== undefined) sides.push(await prepare('baseline', resolve(values.baseline)));

const wanted = values.only.split(',').filter((c) => c in CASES);
const samples = new Map<string, number[]>();
try {
  for (const name of wanted) {
    const args = CASES[name]!;
    // One warm-up per side (the file system cache), then the runs, alternating which goes first.
    for (const side of sides) await baton(side.root, side.dir, args(side));
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const out = await baton(side.root, side.dir, args(side));
        if (out.code !== 0) {
          throw new Error(
            `${side.name}: baton ${args(side).join(' ')} exited ${out.code}:\n${out.stderr}`,
          );
        }
        const key = `${name}:${side.name}`;
        samples.set(key, [...(samples.get(key) ?? []), out.ms]);
      }
    }
  }
} finally {
  for (const side of sides) rmSync(side.dir, { recursive: true, force: true });
}

const cases: Record<string, Record<string, number | null>> = {};
for (const name of wanted) {
  const current = median(samples.get(`${name}:current`) ?? []);
  const base = samples.get(`${name}:baseline`);
  const baselineMs = base === undefined ? null : median(base);
  cases[name] = {
    currentMs: round(current, 0),
    ...(baselineMs === null
      ? {}
      : { baselineMs: round(baselineMs, 0), ratio: round(current / baselineMs, 2) }),
  };
}
console.log(
  JSON.stringify(
    {
      bench: 'startup',
      node: process.version,
      runs: RUNS,
      baseline: values.baseline ?? null,
      cases,
    },
    null,
    2,
  ),
);
