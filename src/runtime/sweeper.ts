/**
 * The sweeper: the role that runs the backend's housekeeping `sweep` on an interval — leases
 * that ran out, attempts past their timeout, delayed tasks that are due, agents that went silent
 * (declared lost, their leases released at once) and agents that stalled. Nothing else recovers
 * lost work, so every long-lived Baton process hosts one: each process with workers (its workers
 * on one store share one sweeper), `baton pool`, and `baton server`, whose HTTP agents have no
 * SDK worker of their own.
 *
 * Several sweepers on one namespace need no leader: a sweep is one atomic, idempotent step, and
 * on Redis the backend lets one process sweep per interval (a lock the sweeping process renews,
 * `sweepLockMs`); the others' calls return at once.
 *
 * @example
 * ```ts
 * const sweeper = new Sweeper(baton.backend, { agentTtlMs: 3000 });
 * sweeper.start();
 * // …
 * await sweeper.stop();
 * ```
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { hostname } from 'node:os';
import type { Backend, SilentAgent, SweepResult } from '../backends/backend.ts';
import { BatonError, ValidationError, type ValidationIssue } from '../core/errors.ts';
import { describeValue } from '../core/text.ts';
import { processAlive } from './local-process.ts';

/** How often a sweeper sweeps, in ms. */
export const DEFAULT_SWEEP_INTERVAL_MS = 500;
/**
 * Silence after which an agent is declared lost, in ms: three heartbeats of the default 1 s, so
 * a killed agent's tasks run elsewhere within about 4 s.
 */
export const DEFAULT_AGENT_TTL_MS = 3_000;
/** An agent whose loop made no progress this long, while it owed some, is stalled. */
export const DEFAULT_STALL_AFTER_MS = 10_000;

export interface SweeperOptions {
  /** How often to sweep, in ms. @default 500 */
  intervalMs?: number;
  /**
   * An active agent silent (no heartbeat, no renew) for longer than this is declared lost and
   * its leases are released.
   * @default 3000
   */
  agentTtlMs?: number;
  /**
   * An agent whose loop made no progress for longer than this while it held a task (or owed
   * the report of a timed-out attempt) is declared stalled (`SweepOptions.stallAfterMs`).
   * @default 10000
   */
  stallAfterMs?: number;
  /**
   * Judge agents lost after `agentTtlMs` plus the delays this sweeper itself met lately (its
   * timer firing late, its sweeps taking long: a starved machine or a congested store), so a
   * healthy but starved agent, whose heartbeats meet the same delays, is not declared lost and
   * its tasks run twice. On a quiet machine the allowance is a few ms. `false` judges by
   * `agentTtlMs` alone.
   * @default true
   */
  allowForDelays?: boolean;
  /**
   * A silent agent that registered from this host, whose process is still alive (the OS says so;
   * on Linux also that the pid was not reused since), is starved or blocked, not dead: it is not
   * declared lost until it has been silent this long, in ms. Its leases still run out on their
   * own. 0 judges every agent by its silence alone.
   * @default 30000, or 10 agent TTLs when that is longer
   */
  maxSilenceMs?: number;
  /** Where the sweeper logs what it did. @default none */
  logger?: Logger;
}

/** Typed events of a {@link Sweeper}. */
export type SweeperEventMap = {
  /** A sweep that changed something (`expired + timedOut + promoted + released`, or agents). */
  swept: [result: SweepResult];
  /** A sweep failed; the sweeper tries again at the next interval. */
  error: [error: unknown];
};

/** How long a delay the sweeper met counts towards its allowance, in ms. */
const DELAY_MEMORY_MS = 30_000;
/** The largest allowance for delays, in ms: past this, silence means a dead agent. */
const MAX_DELAY_ALLOWANCE_MS = 60_000;

export class Sweeper extends EventEmitter<SweeperEventMap> {
  readonly #backend: Backend;
  readonly #intervalMs: number;
  readonly #agentTtlMs: number;
  readonly #stallAfterMs: number;
  readonly #allowForDelays: boolean;
  readonly #maxSilenceMs: number;
  readonly #host = hostname();
  /** Agents of this host spared by the last sweep (logged once per spell of silence). */
  #spared = new Set<string>();
  readonly #log: Logger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  /** When the last tick fired (performance.now()). */
  #lastTickAt: number | undefined;
  /** Delays met lately: a tick's lateness plus its sweep's duration, oldest first. */
  #delays: { at: number; ms: number }[] = [];
  /** When a call to the store last failed because it could not be reached (performance.now()). */
  #unreachableAt = Number.NEGATIVE_INFINITY;

  constructor(backend: Backend, options: SweeperOptions = {}) {
    super();
    validateSweeperOptions(options);
    this.#backend = backend;
    this.#intervalMs = options.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    this.#agentTtlMs = options.agentTtlMs ?? DEFAULT_AGENT_TTL_MS;
    this.#stallAfterMs = options.stallAfterMs ?? DEFAULT_STALL_AFTER_MS;
    this.#allowForDelays = options.allowForDelays ?? true;
    this.#maxSilenceMs = options.maxSilenceMs ?? Math.max(30_000, 10 * this.#agentTtlMs);
    this.#log = options.logger;
  }

  /** True between `start()` and `stop()`. */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Sweep every interval from now on. Idempotent. The timer never keeps the process alive. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Stop sweeping; resolves once a sweep under way has answered. Idempotent. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /**
   * The store could not be reached from this process (now). Silence this process may have seen
   * only because of its own outage is no evidence: right after it every agent's last heartbeat
   * looks old. Agents are judged lost again only once the store has answered for a whole TTL,
   * so live agents have had the time to heartbeat.
   */
  noteUnreachable(): void {
    this.#unreachableAt = performance.now();
  }

  /** Sweep once now (or join the sweep under way). */
  sweep(): Promise<void> {
    return this.#sweepOnce(0);
  }

  /**
   * What this sweeper allows for delays when it judges silence, in ms: the longest delay it met
   * in the last {@link DELAY_MEMORY_MS} (0 with `allowForDelays: false`).
   */
  get delayAllowanceMs(): number {
    if (!this.#allowForDelays) return 0;
    const since = performance.now() - DELAY_MEMORY_MS;
    while (this.#delays.length > 0 && this.#delays[0]!.at < since) this.#delays.shift();
    let longest = 0;
    for (const delay of this.#delays) longest = Math.max(longest, delay.ms);
    return Math.min(Math.round(longest), MAX_DELAY_ALLOWANCE_MS);
  }

  /**
   * Whether a silent agent's process is alive on this host and not silent for too long. An
   * adapter may ask about an agent a little short of the TTL (its script's clock may be ahead of
   * this one): that agent is not lost either way, and is not reported as spared.
   */
  #spare(agent: SilentAgent, spared: Set<string>, agentTtlMs: number): boolean {
    if (agent.host !== this.#host || agent.pid === null) return false;
    const silentMs = Date.now() - agent.lastHeartbeatAt;
    if (silentMs >= this.#maxSilenceMs) return false;
    if (!processAlive(agent.pid, agent.startedAt)) return false;
    if (silentMs <= agentTtlMs) return true;
    spared.add(agent.id);
    if (!this.#spared.has(agent.id)) {
      this.#log?.warn(
        { agentId: agent.id, pid: agent.pid, silentMs, maxSilenceMs: this.#maxSilenceMs },
        `agent ${agent.id} has been silent for ${silentMs} ms, but its process ${agent.pid} on this host is alive (starved or blocked): not declared lost unless silent for ${this.#maxSilenceMs} ms`,
      );
    }
    return true;
  }

  #sweepOnce(lateMs: number): Promise<void> {
    this.#running ??= this.#sweep(lateMs).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #tick(): void {
    const now = performance.now();
    const lateMs =
      this.#lastTickAt === undefined ? 0 : Math.max(0, now - this.#lastTickAt - this.#intervalMs);
    this.#lastTickAt = now;
    if (this.#running !== undefined) return; // the previous sweep is still out
    void this.#sweepOnce(lateMs);
  }

  async #sweep(lateMs: number): Promise<void> {
    const startedAt = performance.now();
    const judgeLost = startedAt - this.#unreachableAt >= this.#agentTtlMs;
    // A heartbeat sent while this process was starved, or while the store was congested, met
    // the same delays as this sweeper (this tick's lateness too): silence that short proves
    // nothing.
    const allowance = this.#allowForDelays
      ? Math.min(Math.max(this.delayAllowanceMs, Math.round(lateMs)), MAX_DELAY_ALLOWANCE_MS)
      : 0;
    const agentTtlMs = this.#agentTtlMs + allowance;
    let result: SweepResult;
    const spared = new Set<string>();
    try {
      result = await this.#backend.sweep({
        agentTtlMs: judgeLost ? agentTtlMs : Number.MAX_SAFE_INTEGER,
        stallAfterMs: this.#stallAfterMs,
        ...(this.#maxSilenceMs > 0
          ? { spare: (agent) => this.#spare(agent, spared, agentTtlMs) }
          : {}),
      });
    } catch (error) {
      if (error instanceof BatonError && error.code === 'BATON_STORE_UNAVAILABLE') {
        this.noteUnreachable();
      }
      this.#log?.error({ err: error, where: 'sweep' }, 'sweep failed');
      if (this.listenerCount('error') > 0) this.emit('error', error);
      return;
    } finally {
      const now = performance.now();
      this.#delays.push({ at: now, ms: lateMs + (now - startedAt) });
      this.#spared = spared;
    }
    const changed =
      result.expired + result.timedOut + result.promoted + result.released > 0 ||
      result.agentsLost.length + result.agentsStalled.length + result.agentsRecovered.length > 0;
    if (!changed) return;
    this.#log?.debug({ sweep: result }, 'sweep');
    for (const agentId of result.agentsLost) {
      this.#log?.warn(
        { lostAgent: agentId, agentTtlMs },
        `agent ${agentId} was declared lost: no heartbeat for over ${agentTtlMs} ms; its tasks are released`,
      );
    }
    for (const agentId of result.agentsStalled) {
      this.#log?.warn(
        { stalledAgent: agentId, stallAfterMs: this.#stallAfterMs },
        `agent ${agentId} is stalled: alive, but its loop made no progress for over ${this.#stallAfterMs} ms while it owed some`,
      );
    }
    this.emit('swept', result);
  }
}

interface SharedSweeper {
  sweeper: Sweeper;
  users: number;
}

/** One sweeper per backend instance and set of options: the workers of a process share it. */
const shared = new WeakMap<Backend, Map<string, SharedSweeper>>();

/** A share of a process-wide {@link Sweeper}; `release()` stops it when the last user leaves. */
export interface SweeperShare {
  readonly sweeper: Sweeper;
  release(): Promise<void>;
}

/**
 * Join (or start) the sweeper of this backend instance with these options. The workers of one
 * process on one store sweep once per interval between them instead of once each (`baton run`
 * starts several agents in one process).
 */
export function shareSweeper(
  backend: Backend,
  options: Omit<SweeperOptions, 'logger'> & { logger?: Logger },
): SweeperShare {
  const key = [
    options.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
    options.agentTtlMs ?? DEFAULT_AGENT_TTL_MS,
    options.stallAfterMs ?? DEFAULT_STALL_AFTER_MS,
    options.allowForDelays ?? true,
    options.maxSilenceMs ?? 'default',
  ].join('/');
  let byOptions = shared.get(backend);
  if (byOptions === undefined) {
    byOptions = new Map();
    shared.set(backend, byOptions);
  }
  let entry = byOptions.get(key);
  if (entry === undefined) {
    entry = { sweeper: new Sweeper(backend, options), users: 0 };
    byOptions.set(key, entry);
    entry.sweeper.start();
  }
  entry.users++;
  const joined = entry;
  let released = false;
  return {
    sweeper: joined.sweeper,
    release: async () => {
      if (released) return;
      released = true;
      joined.users--;
      if (joined.users > 0) return;
      if (byOptions.get(key) === joined) byOptions.delete(key);
      await joined.sweeper.stop();
    },
  };
}

/** @throws ValidationError naming each option that is not a positive integer. */
export function validateSweeperOptions(options: SweeperOptions): void {
  const issues: ValidationIssue[] = [];
  for (const name of ['intervalMs', 'agentTtlMs', 'stallAfterMs'] as const) {
    const value = options[name];
    if (
      value !== undefined &&
      (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    ) {
      issues.push({
        path: name,
        message: `must be a positive integer, got ${describeValue(value)}`,
      });
    }
  }
  const silence = options.maxSilenceMs;
  if (
    silence !== undefined &&
    (typeof silence !== 'number' || !Number.isSafeInteger(silence) || silence < 0)
  ) {
    issues.push({
      path: 'maxSilenceMs',
      message: `must be an integer ≥ 0, got ${describeValue(silence)}`,
    });
  }
  if (options.allowForDelays !== undefined && typeof options.allowForDelays !== 'boolean') {
    issues.push({
      path: 'allowForDelays',
      message: `must be true or false, got ${describeValue(options.allowForDelays)}`,
    });
  }
  if (issues.length > 0) {
    throw new ValidationError(
      issues,
      `invalid sweeper options:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
    );
  }
}
