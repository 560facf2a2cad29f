/**
 * The HTTP API under load: autocannon against a real `buildServer` on 127.0.0.1, on SQLite (a
 * temp file) and on Redis (a namespace of its own, deleted afterwards). Prints one JSON object.
 *
 *   node bench/http.ts [--duration 10] [--connections 50] [--rate N] [--redis redis://127.0.0.1:6379] [--only sqlite,redis]
 *
 * The server runs in a child process (`bench/fixtures/http-server.ts`), so autocannon does not
 * share its event loop.
 *
 * - getTask: `GET /v1/tasks/:id` of one stored task (task + attempts: two reads of the store).
 * - postTask: `POST /v1/tasks` of a small task (validation, one atomic submit).
 * Each reports requests/s (mean), latency p50/p90/p97.5/p99 (ms) from autocannon, p50/p95/p99 of
 * the response times as measured (`measured`), and non-2xx and error counts.
 * On SQLite, `submitsPerCommit` is how many submissions the group commit wrote per write
 * transaction on average (the seeded task and the POSTs, over the server's commits).
 * Auth is on (one bearer token), as in production; metrics are on (the default).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import autocannon from 'autocannon';
import { Redis } from 'ioredis';

import { Keys } from '../src/backends/redis/keys.ts';
import { percentile, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    only: { type: 'string', default: 'sqlite,redis' },
    // Requests per second across all connections; absent: as fast as the server answers.
    rate: { type: 'string' },
  },
});
const RATE = values.rate === undefined ? undefined : Number(values.rate);
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const TOKEN = 'bench-token';

interface Figures {
  requestsPerSec: number;
  latencyP50Ms: number;
  latencyP90Ms: number;
  /** autocannon reports no p95; p95 ≤ p97.5, so this bounds it from above. */
  latencyP97_5Ms: number;
  latencyP99Ms: number;
  /**
   * Percentiles of the 2xx response times as measured (µs precision), p95 included. autocannon's
   * own figures above come from its histogram, which at a fixed `--rate` also adds synthetic
   * samples for coordinated omission (with a 1 ms expected interval), inflating its tail.
   */
  measured: { p50Ms: number; p95Ms: number; p99Ms: number };
  requests: number;
  non2xx: number;
  errors: number;
}

async function load(options: autocannon.Options): Promise<Figures> {
  const times: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        connections: CONNECTIONS,
        duration: DURATION,
        ...(RATE === undefined ? {} : { overallRate: RATE }),
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        ...options,
      },
      (error: unknown, done) =>
        error ? reject(new Error('autocannon failed', { cause: error })) : resolve(done),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) times.push(ms);
    });
  });
  const measured = (p: number): number => round(percentile(times, p), 2);
  return {
    requestsPerSec: Math.round(result.requests.average),
    latencyP50Ms: result.latency.p50,
    latencyP90Ms: result.latency.p90,
    latencyP97_5Ms: result.latency.p97_5,
    latencyP99Ms: result.latency.p99,
    measured: { p50Ms: measured(50), p95Ms: measured(95), p99Ms: measured(99) },
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

const SERVER = fileURLToPath(new URL('./fixtures/http-server.ts', import.meta.url));

/** Serve `store` from a child process (its own event loop and core), load it, stop it. */
async function measure(
  store: string,
  namespace: string,
  name: string,
): Promise<{ getTask: Figures; postTask: Figures; submitsPerCommit: number | null }> {
  const child = spawn(process.execPath, [SERVER, store, namespace, TOKEN], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => {
    const next = await lines.next();
    if (next.done === true) throw new Error(`the ${name} bench server exited early`);
    return next.value;
  };
  let figures: { getTask: Figures; postTask: Figures };
  try {
    const { url, taskId } = JSON.parse(await nextLine()) as { url: string; taskId: string };
    process.stderr.write(`[bench:http] ${name}: GET /v1/tasks/:id\n`);
    const getTask = await load({ url: `${url}/v1/tasks/${taskId}` });
    process.stderr.write(`[bench:http] ${name}: POST /v1/tasks\n`);
    const postTask = await load({
      url: `${url}/v1/tasks`,
      method: 'POST',
      body: JSON.stringify({ type: 'bench', payload: { n: 1 } }),
    });
    figures = { getTask, postTask };
  } catch (error) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    throw error;
  }
  child.kill('SIGTERM');
  const { commits } = JSON.parse(await nextLine()) as { commits: number | null };
  if (child.exitCode === null) await once(child, 'exit');
  const submits = figures.postTask.requests + 1;
  return {
    ...figures,
    submitsPerCommit: commits === null ? null : Math.round((10 * submits) / commits) / 10,
  };
}

async function onSqlite(): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-http-'));
  try {
    return await measure(`sqlite:${join(dir, 'bench.db')}`, 'default', 'sqlite');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function onRedis(): Promise<unknown> {
  const namespace = `bench-http-${randomUUID()}`;
  try {
    return await measure(values.redis, namespace, 'redis');
  } finally {
    const client = new Redis(values.redis);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(
          cursor,
          'MATCH',
          new Keys(namespace).pattern(),
          'COUNT',
          1000,
        );
        cursor = next;
        if (keys.length > 0) await client.unlink(...keys);
      } while (cursor !== '0');
    } finally {
      client.disconnect();
    }
  }
}

const only = new Set(values.only.split(','));
const out: Record<string, unknown> = {
  node: process.version,
  durationS: DURATION,
  connections: CONNECTIONS,
};
if (only.has('sqlite')) out.sqlite = await onSqlite();
if (only.has('redis')) out.redis = await onRedis();
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
