/**
 * What the `agent` executor adds to a coding agent's session: the fake `claude`
 * (test/helpers/fake-claude.mjs) writing a session of `--lines` assistant messages in stream-json,
 * run through the `agent` handler (stream parsed line by line into the log, usage into a ledger
 * stand-in, prompt on stdin) beside the same program and the same output run through the `shell`
 * handler (output split into log lines, nothing parsed), in one process, interleaved. Prints one
 * JSON object.
 *
 *   npx node bench/agent-stream.ts [--rounds 15] [--lines 2000]
 *
 * `overheadMs` is the median of the per-round differences (agent − shell); `ratio` the ratio of
 * the medians.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { agentHandler } from '../src/executors/agent/index.ts';
import { shellHandler } from '../src/executors/shell.ts';
import { median, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    lines: { type: 'string', default: '2000' },
  },
});
const ROUNDS = Number(values.rounds);
const LINES = Number(values.lines);
const FAKE = resolve(import.meta.dirname, '../test/helpers/fake-claude.mjs');

const dir = mkdtempSync(join(tmpdir(), 'baton-bench-agent-'));
const prompt = Array.from({ length: LINES }, (_, i) => `fake: say line ${i} of the session`).join(
  '\n',
);
const promptFile = join(dir, 'prompt.md');
writeFileSync(promptFile, prompt);

let logged = 0;
const log = {
  info: () => void logged++,
  warn: () => void logged++,
  write: () => void logged++,
};
let recorded = 0;
const costs = {
  reserve: () => Promise.resolve({ id: 'r' }),
  record: () => {
    recorded++;
    return Promise.resolve({});
  },
};
const signal = new AbortController().signal;
const agent = agentHandler({ binaries: { claude: FAKE }, workdir: () => dir });
const shell = shellHandler();

async function viaAgent(): Promise<number> {
  const started = performance.now();
  await agent({
    task: { id: 'tsk_bench', title: null },
    payload: { kind: 'claude', prompt: prompt.replaceAll('{{', '\\{{') },
    attempt: 1,
    signal,
    dependencies: {},
    log,
    costs,
  });
  return performance.now() - started;
}

async function viaShell(): Promise<number> {
  const started = performance.now();
  await shell({
    payload: {
      command: '"$1" -p --output-format stream-json --verbose --max-budget-usd 5 < "$2"',
      shell: true,
      args: [FAKE, promptFile],
      cwd: dir,
    },
    signal,
    log: { write: () => void logged++ },
  });
  return performance.now() - started;
}

const agentMs: number[] = [];
const shellMs: number[] = [];
const diffs: number[] = [];
try {
  await viaAgent();
  await viaShell();
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? [viaAgent, viaShell] : [viaShell, viaAgent];
    const times = new Map<unknown, number>();
    for (const run of order) times.set(run, await run());
    agentMs.push(times.get(viaAgent)!);
    shellMs.push(times.get(viaShell)!);
    diffs.push(times.get(viaAgent)! - times.get(viaShell)!);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (recorded !== ROUNDS + 1)
  throw new Error(`expected a usage record per session, got ${recorded}`);
console.log(
  JSON.stringify({
    bench: 'agent-stream',
    rounds: ROUNDS,
    lines: LINES,
    medianMs: { agent: round(median(agentMs), 1), shell: round(median(shellMs), 1) },
    overheadMs: round(median(diffs), 1),
    overheadPerLineUs: round((median(diffs) * 1000) / LINES, 2),
    ratio: round(median(agentMs) / median(shellMs), 3),
  }),
);
