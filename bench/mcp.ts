/**
 * What an MCP tool call costs an agent: the latency of `get_state` called through the official
 * SDK's Client, over stdio (`baton mcp`, launched from the configuration `writeMcpConfig` writes,
 * with an attempt token) and over Streamable HTTP (`/mcp` of an in-process `baton server`), on a
 * SQLite store, side by side with the same read made in-process on the backend (the floor) and
 * with a read of the REST API on the same server (`GET /v1/tasks/:id`, the HTTP peer).
 * Prints one JSON object on stdout (progress goes to stderr).
 *
 *   npx node bench/mcp.ts [--calls 2000] [--warmup 200] [--rounds 3]
 *
 * Each round makes `--warmup` untimed calls, then `--calls` timed ones, one at a time (an agent
 * waits for each answer), on each transport in turn; rounds alternate the transports so drift
 * hits all of them. Reported per transport: p50, p99 and mean in ms over every timed call of
 * every round, and each round's p99. Target (issue 16): p99 under 5 ms on SQLite.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { writeMcpConfig } from '../src/mcp/config.ts';
import { Baton } from '../src/runtime/baton.ts';
import { buildServer } from '../src/server/server.ts';
import { percentile, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
  },
});
const CALLS = Number(values.calls);
const WARMUP = Number(values.warmup);
const ROUNDS = Number(values.rounds);

const progress = (message: string): void => {
  process.stderr.write(`[bench:mcp] ${message}\n`);
};

const dir = mkdtempSync(join(tmpdir(), 'baton-bench-mcp-'));
const store = `sqlite:${join(dir, 'baton.db')}`;
const keyFile = join(dir, 'mcp.key');
const baton = await Baton.open(store);
const b = baton.backend;
const agent = await b.registerAgent({ capabilities: [], concurrency: 1 });
const run = await baton.submitRun({ tasks: [{ key: 'a', type: 'x' }] });
const [lease] = await b.claim({
  agentId: agent.id,
  capabilities: [],
  max: 1,
  leaseTtlMs: 3_600_000,
});
if (lease === undefined) throw new Error('no lease');
await b.setState({
  scope: `run:${run.runId}`,
  key: 'plan',
  value: { step: 1, notes: 'x'.repeat(200) },
});

const attempt = {
  runId: run.runId,
  taskId: lease.taskId,
  attempt: lease.attempt,
  token: lease.token,
  agentId: agent.id,
};
const config = writeMcpConfig({
  attempt,
  dir,
  store,
  keyFile,
  filesRoot: join(dir, 'files'),
  env: {},
});

// stdio: baton mcp, as the agent would launch it.
const file = JSON.parse(readFileSync(config.path, 'utf8')) as {
  mcpServers: { baton: { command: string; args: string[]; env: Record<string, string> } };
};
const spec = file.mcpServers.baton;
const stdioClient = new Client({ name: 'bench', version: '1' });
await stdioClient.connect(
  new StdioClientTransport({
    command: spec.command,
    args: spec.args,
    env: { ...spec.env, PATH: process.env.PATH ?? '' },
    stderr: 'inherit',
  }),
);

// HTTP: /mcp of a server in this process.
const app = await buildServer({
  baton,
  host: '127.0.0.1',
  env: { BATON_MCP_KEY_FILE: keyFile },
  sweep: false,
  metrics: false,
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const port = typeof address === 'object' && address !== null ? address.port : 0;
const httpClient = new Client({ name: 'bench', version: '1' });
await httpClient.connect(
  new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${config.token}` } },
  }),
);

type Transport = 'inProcess' | 'stdio' | 'http' | 'httpRest';
const calls: Record<Transport, () => Promise<void>> = {
  inProcess: async () => {
    await b.getState(`run:${run.runId}`, 'plan');
  },
  stdio: async () => {
    const r = await stdioClient.callTool({ name: 'get_state', arguments: { key: 'plan' } });
    if (r.isError === true) throw new Error(JSON.stringify(r.content));
  },
  http: async () => {
    const r = await httpClient.callTool({ name: 'get_state', arguments: { key: 'plan' } });
    if (r.isError === true) throw new Error(JSON.stringify(r.content));
  },
  // The peer on the same server: one read of the REST API (GET /v1/tasks/:id), same fetch stack.
  httpRest: async () => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/tasks/${lease.taskId}`);
    if (r.status !== 200) throw new Error(`GET /v1/tasks: ${r.status}`);
    await r.json();
  },
};

const samples: Record<Transport, number[]> = { inProcess: [], stdio: [], http: [], httpRest: [] };
const roundP99: Record<Transport, number[]> = { inProcess: [], stdio: [], http: [], httpRest: [] };
const order: Transport[] = ['inProcess', 'stdio', 'http', 'httpRest'];
for (let r = 0; r < ROUNDS; r++) {
  const sequence = r % 2 === 0 ? order : [...order].reverse();
  for (const transport of sequence) {
    const call = calls[transport];
    for (let i = 0; i < WARMUP; i++) await call();
    const times: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const start = performance.now();
      await call();
      times.push(performance.now() - start);
    }
    samples[transport].push(...times);
    roundP99[transport].push(round(percentile(times, 99), 3));
    progress(
      `round ${r + 1} ${transport}: p50 ${round(percentile(times, 50), 3)} ms, p99 ${round(percentile(times, 99), 3)} ms`,
    );
  }
}

const summary = (xs: number[], perRound: number[]) => ({
  p50Ms: round(percentile(xs, 50), 3),
  p99Ms: round(percentile(xs, 99), 3),
  meanMs: round(xs.reduce((a, x) => a + x, 0) / xs.length, 3),
  roundP99Ms: perRound,
});

console.log(
  JSON.stringify(
    {
      bench: 'mcp get_state latency',
      store: 'sqlite',
      calls: CALLS,
      warmup: WARMUP,
      rounds: ROUNDS,
      machine: { cpus: cpus().length, loadavg: loadavg().map((l) => round(l, 2)) },
      node: process.version,
      inProcess: summary(samples.inProcess, roundP99.inProcess),
      stdio: summary(samples.stdio, roundP99.stdio),
      http: summary(samples.http, roundP99.http),
      httpRest: summary(samples.httpRest, roundP99.httpRest),
      targetP99Ms: 5,
    },
    null,
    2,
  ),
);

await stdioClient.close();
await httpClient.close();
await app.close();
await baton.close();
rmSync(dir, { recursive: true, force: true });
