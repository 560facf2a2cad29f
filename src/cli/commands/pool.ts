/**
 * `baton pool`: supervise `baton worker` processes on the store and scale them with the
 * backlog (see `src/runtime/pool.ts`), until SIGINT/SIGTERM; then drain them and exit 0.
 */
import { once } from 'node:events';

import { Pool, type PoolOptions } from '../../runtime/pool.ts';
import type { CliContext } from '../context.ts';

export interface PoolCommandOptions {
  /** Capabilities of every worker besides `shell`. @default [] */
  capabilities?: string[];
  /** Tasks each worker runs at once. */
  concurrency: number;
  /** Fewest workers. */
  min: number;
  /** Most workers. */
  max: number;
  /** Eligible ready tasks per worker above which workers are added. */
  spawnThreshold: number;
  /** Idle time after which a worker is stopped, in ms. */
  idleTimeout: number;
  /** Resident memory limit per worker, in bytes. @default no limit */
  maxMemory?: number;
  /** How often the pool decides, in ms. @default the pool's (1 s) */
  tick?: number;
  /** After SIGTERM, how long a worker may drain before it is killed, in ms. @default the pool's (30 s) */
  stopGrace?: number;
  /** Passed on to each `baton worker`. */
  heartbeat?: number;
  agentTtl?: number;
  leaseTtl?: number;
  grace?: number;
}

export async function poolCommand(ctx: CliContext, options: PoolCommandOptions): Promise<number> {
  const workerArgs: string[] = ['--log-level', ctx.logger.level];
  const pass = (flag: string, ms: number | undefined): void => {
    if (ms !== undefined) workerArgs.push(flag, `${ms}ms`);
  };
  pass('--heartbeat', options.heartbeat);
  pass('--agent-ttl', options.agentTtl);
  pass('--lease-ttl', options.leaseTtl);
  pass('--grace', options.grace);

  const config: PoolOptions = {
    store: ctx.storeUrl,
    capabilities: options.capabilities ?? [],
    concurrency: options.concurrency,
    min: options.min,
    max: options.max,
    spawnThreshold: options.spawnThreshold,
    idleTimeoutMs: options.idleTimeout,
    workerArgs,
    logger: ctx.logger,
    // The first signal drains the workers, a second one tells them to stop at once.
    handleSignals: true,
  };
  if (ctx.namespace !== undefined) config.namespace = ctx.namespace;
  if (options.maxMemory !== undefined) config.maxMemoryBytes = options.maxMemory;
  if (options.tick !== undefined) config.tickMs = options.tick;
  if (options.stopGrace !== undefined) config.stopGraceMs = options.stopGrace;
  if (options.agentTtl !== undefined) config.sweep = { agentTtlMs: options.agentTtl };

  const pool = new Pool(config);
  const stopped = once(pool, 'stopped');
  await pool.start();
  ctx.logger.info(
    { store: ctx.storeUrl, namespace: ctx.namespace ?? 'default', workers: pool.size },
    'pool running; stop with Ctrl-C (SIGINT) or SIGTERM',
  );
  await stopped;
  return 0;
}
