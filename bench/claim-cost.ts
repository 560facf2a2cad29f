/**
 * What a claim costs inside Redis, routing on and off, next to a fleet of pulling agents. Prints
 * one JSON object.
 *
 *   node bench/claim-cost.ts [--baseline <checkout>] [--agents 500] [--claims 2000] [--rounds 2]
 *     [--warm 0] [--redis redis://127.0.0.1:6379 | --callgrind [--port 6394]]
 *
 * Registers `agents` agents of one slot, each of which claims once (so each is a live, pulling
 * peer of the others), submits `claims` tasks, then, from one client, lets the agents in turn
 * claim one task and complete it (with `--warm n`, each agent first runs `n` tasks so: from
 * `historyMinRuns` of a type on, a claim weighs its peers' records too). Over those pairs it reads redis-server's INFO: its CPU per
 * claim + complete (µs, user + system), the scripts' mean time per call (`evalsha`
 * usec_per_call) and the Redis commands the scripts ran per claim + complete, in all and by
 * name. The commands are counted, not timed: they are the same on any machine. Run it against
 * a private redis-server (it resets its stats): `redis-server --port 6393 --save "" --appendonly no`.
 *
 * With `--callgrind` it starts its own redis-server under `valgrind --tool=callgrind` (Debian's
 * `valgrind` package) and also counts redis-server's instructions per claim + complete, zeroing
 * and dumping the counts around the pairs (`callgrind_control`): a figure a noisy machine does not
 * move, so changes of a few percent can be told apart. (About 50 times slower: use fewer claims.)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type * as OpenModule from '../src/backends/open.ts';
import { wholeOption } from './options.ts';
import { deleteRedisNamespace } from './redis-namespace.ts';
import { median, round } from './stats.ts';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    agents: { type: 'string', default: '500' },
    claims: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '2' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    warm: { type: 'string', default: '0' },
    callgrind: { type: 'boolean', default: false },
    port: { type: 'string', default: '6394' },
  },
});
const AGENTS = wholeOption('agents', values.agents, 1);
const CLAIMS = wholeOption('claims', values.claims, 1);
const ROUNDS = wholeOption('rounds', values.rounds, 1);
const WARM = wholeOption('warm', values.warm);
const PORT = wholeOption('port', values.port, 1);
const URL = values.callgrind ? `redis://127.0.0.1:${PORT}` : values.redis;

/** A redis-server under callgrind: its pid (for callgrind_control) and where it dumps. */
interface Counted {
  server: ChildProcess;
  pid: number;
  dir: string;
}

async function startCounted(): Promise<Counted> {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    console.error('--callgrind needs valgrind (apt-get install valgrind)');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'baton-callgrind-'));
  const server = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${dir}/callgrind.out.%p`,
      'redis-server',
      '--port',
      String(PORT),
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'ignore' },
  );
  const probe = new Redis(URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      if (i > 300) throw new Error(`redis-server under valgrind did not answer on ${URL}`);
      await sleep(100);
    }
  }
  probe.disconnect();
  return { server, pid: server.pid!, dir };
}

/** Instructions redis-server ran since the last zeroing (the newest dump's total). */
function countedSinceZero(counted: Counted): number {
  execFileSync('callgrind_control', ['-d', String(counted.pid)], { stdio: 'ignore' });
  const part = (name: string): number => Number(name.split('.').pop());
  const newest = readdirSync(counted.dir)
    .filter((name) => name.startsWith(`callgrind.out.${counted.pid}.`))
    .sort((a, b) => part(a) - part(b))
    .at(-1)!;
  const text = readFileSync(join(counted.dir, newest), 'utf8');
  return Number(/^(?:summary|totals): (\d+)/m.exec(text)![1]);
}

interface Sample {
  cpuUs: number;
  scriptUs: number;
  /** redis-server's instructions per pair (with --callgrind), thousands. */
  kInstructions: number | null;
  commands: number;
  byName: Record<string, number>;
}

async function cpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)![1]);
  const system = Number(/used_cpu_sys:([\d.]+)/.exec(info)![1]);
  return (user + system) * 1e6;
}

async function measure(
  openBackend: typeof OpenModule.openBackend,
  redis: Redis,
  enabled: boolean,
): Promise<Sample> {
  const namespace = `bench-claim-${randomUUID().slice(0, 8)}`;
  const b = await openBackend(URL, { namespace, routing: { enabled, agentLiveMs: 600_000 } });
  try {
    for (let i = 0; i < AGENTS; i++) {
      const id = `agt_${i}`;
      await b.registerAgent({ id, name: id, capabilities: [], concurrency: 1 });
      await b.claim({ agentId: id, capabilities: [], max: 1, leaseTtlMs: 60_000 });
    }
    const pair = async (agentId: string): Promise<boolean> => {
      const leases = await b.claim({ agentId, capabilities: [], max: 1, leaseTtlMs: 60_000 });
      if (leases.length === 0) return false;
      await b.complete([
        { taskId: leases[0]!.taskId, token: leases[0]!.token, agentId, result: null },
      ]);
      return true;
    };
    if (WARM > 0) {
      await b.submitTasks(Array.from({ length: WARM * AGENTS }, () => ({ type: 'x' })));
      for (let done = 0, i = 0; done < WARM * AGENTS && i < 20 * WARM * AGENTS; i++) {
        if (await pair(`agt_${i % AGENTS}`)) done++;
      }
    }
    await b.submitTasks(Array.from({ length: CLAIMS }, () => ({ type: 'x' })));
    const before = await cpuUs(redis);
    await redis.config('RESETSTAT');
    if (counted)
      execFileSync('callgrind_control', ['-z', String(counted.pid)], { stdio: 'ignore' });
    let pairs = 0;
    for (let i = 0; i < CLAIMS; i++) if (await pair(`agt_${i % AGENTS}`)) pairs++;
    const instructions = counted ? countedSinceZero(counted) : null;
    const after = await cpuUs(redis);
    const stats = await redis.info('commandstats');
    const byName: Record<string, number> = {};
    let commands = 0;
    let scriptUs = 0;
    for (const line of stats.split('\n')) {
      const match = /^cmdstat_(\w+):calls=(\d+),usec=\d+,usec_per_call=([\d.]+)/.exec(line);
      if (!match) continue;
      if (match[1] === 'evalsha') scriptUs = Number(match[3]);
      if (['evalsha', 'eval', 'config', 'info'].includes(match[1]!)) continue;
      commands += Number(match[2]);
      byName[match[1]!] = round(Number(match[2]) / pairs, 2);
    }
    return {
      cpuUs: (after - before) / pairs,
      scriptUs,
      kInstructions: instructions === null ? null : instructions / pairs / 1000,
      commands: commands / pairs,
      byName,
    };
  } finally {
    await b.close();
    await deleteRedisNamespace(URL, namespace);
  }
}

const here = resolve(fileURLToPath(import.meta.url), '../..');
const sides: [string, typeof OpenModule.openBackend][] = [];
for (const [name, dir] of [
  ['current', here],
  ...(values.baseline ? [['baseline', resolve(values.baseline)]] : []),
] as const) {
  const mod = (await import(join(dir, 'src/backends/open.ts'))) as typeof OpenModule;
  sides.push([name, mod.openBackend]);
}
const counted = values.callgrind ? await startCounted() : null;
const redis = new Redis(URL);
const samples = new Map<string, Sample[]>();
try {
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const [name, openBackend] of order) {
      for (const enabled of r % 2 === 0 ? [true, false] : [false, true]) {
        const key = `${name}, routing ${enabled ? 'on' : 'off'}`;
        const sample = await measure(openBackend, redis, enabled);
        process.stderr.write(`${key}: ${JSON.stringify(sample)}\n`);
        samples.set(key, [...(samples.get(key) ?? []), sample]);
      }
    }
  }
} finally {
  redis.disconnect();
  if (counted) {
    counted.server.kill('SIGTERM');
    rmSync(counted.dir, { recursive: true, force: true });
  }
}
const results: Record<string, unknown> = {};
for (const [key, list] of samples) {
  results[key] = {
    redisCpuUsPerPair: round(median(list.map((s) => s.cpuUs))),
    scriptUsPerCall: round(median(list.map((s) => s.scriptUs)), 1),
    ...(counted
      ? { kInstructionsPerPair: round(median(list.map((s) => s.kInstructions ?? Number.NaN))) }
      : {}),
    commandsPerPair: round(median(list.map((s) => s.commands)), 2),
    commandsByName: list[0]!.byName,
  };
}
console.log(
  JSON.stringify(
    { bench: 'claim-cost', agents: AGENTS, claims: CLAIMS, warm: WARM, rounds: ROUNDS, results },
    null,
    2,
  ),
);
