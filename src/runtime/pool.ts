/**
 * The pool: supervises worker *processes* on one store and scales them with the backlog.
 *
 * Every tick it reads `stats()` (ready tasks by `requires` set) and `agents()` (tasks in flight
 * per agent), and
 * - starts workers when the eligible depth per worker is over the threshold (as many as the
 *   backlog calls for at once, up to `max`), and stops workers idle past the idle timeout,
 *   idle longest first, down to `min` — both decided by the pure `decideScale` (src/core);
 * - restarts a worker whose resident memory is over the limit: its tasks are given back (they
 *   run again elsewhere) and a replacement starts;
 * - and, between ticks, replaces a worker that exits without being asked to.
 *
 * Each decision is logged and emitted as a typed event (`pool.scaled_up`, `pool.scaled_down`,
 * `pool.restarted`) with its reason.
 *
 * Every child gets its own agent id, so the pool can find it in `agents()`; a replacement gets
 * a new one, so a dead worker's agent is declared lost (and its leases released) rather than
 * revived by its successor's heartbeats.
 *
 * Children run in their own process group (`detached`): a Ctrl-C in a terminal reaches only
 * the pool, which then drains its workers once. (A worker that got SIGINT from the terminal
 * and SIGTERM from the pool would take it as "stop at once" and give its running tasks back.)
 *
 * @example
 * ```ts
 * const pool = new Pool({ store: 'sqlite:.baton/baton.db', capabilities: ['python'], max: 8 });
 * pool.on('pool.scaled_up', (e) => console.log(e.workerId, e.reason));
 * await pool.start();
 * // …
 * await pool.stop();   // drains every worker, then resolves
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Stats } from '../backends/backend.ts';
import { newAgentId } from '../backends/ids.ts';
import { DEFAULT_STORE_URL, parseStoreUrl } from '../backends/open.ts';
import { ConflictError, ValidationError, type ValidationIssue } from '../core/errors.ts';
import {
  decideScale,
  eligibleDepth,
  formatBytes,
  formatMs,
  scaleLimitIssues,
  type ScaleWorker,
} from '../core/scaling.ts';
import type { AgentRecord } from '../core/types.ts';
import { Baton } from './baton.ts';
import { readRssBytes } from './process-memory.ts';
import { Sweeper, validateSweeperOptions, type SweeperOptions } from './sweeper.ts';
import { getDefaultLogger } from './worker.ts';

/** The `baton` executable of this package (`bin/baton.js`, from `src/runtime` or `dist/runtime`). */
export const BATON_BIN = fileURLToPath(new URL('../../bin/baton.js', import.meta.url));

/** What the pool knows when it starts a worker. */
export interface SpawnWorkerContext {
  /** The agent id the worker must register with: the pool finds the worker by it. */
  agentId: string;
  /** A name for the agent, `<pool name>-<n>`. */
  name: string;
  /** The pool's store URL. */
  store: string;
  /** The pool's namespace, when one was given. */
  namespace: string | undefined;
  /** The pool's capabilities. */
  capabilities: readonly string[];
  /** Tasks each worker runs at once. */
  concurrency: number;
}

/** A program to start: run directly (no shell), so its pid is the worker's own. */
export interface WorkerCommand {
  command: string;
  args: string[];
  /** @default the pool's environment */
  env?: NodeJS.ProcessEnv;
  /** @default the pool's working directory */
  cwd?: string;
}

export interface PoolOptions {
  /**
   * The store the workers share. It must be reachable from several processes: a SQLite file
   * or Redis, not `sqlite::memory:`.
   * @default DEFAULT_STORE_URL (`sqlite:.baton/baton.db`)
   */
  store?: string;
  /** Isolates queues that share one store. @default the backend's (`default`) */
  namespace?: string;
  /**
   * Capabilities of every worker; only ready tasks whose `requires` are all among them count
   * towards the backlog. With the default `spawnWorker` (`baton worker`), `shell` is always
   * added, as `baton worker` adds it.
   * @default []
   */
  capabilities?: string[];
  /** Tasks each worker runs at once (`baton worker --concurrency`). @default 4 */
  concurrency?: number;
  /** Fewest workers, even with nothing to do. @default 1 */
  min?: number;
  /** Most workers, however long the backlog. @default 10 */
  max?: number;
  /**
   * Start workers when the ready tasks the workers could claim, per worker, exceed this.
   * @default 5
   */
  spawnThreshold?: number;
  /** Stop a worker that has held no task for this long, in ms (down to `min`). @default 60000 */
  idleTimeoutMs?: number;
  /**
   * Restart a worker whose resident memory (RSS) is over this many bytes: its tasks are given
   * back and run again. Measures the worker process itself, not the programs its tasks start.
   * @default no limit
   */
  maxMemoryBytes?: number;
  /** How often the pool reads the store and decides, in ms. @default 1000 */
  tickMs?: number;
  /**
   * How to start a worker. The worker must register as `ctx.agentId` and stop gracefully on
   * SIGTERM (stop at once on a second SIGTERM), as `baton worker` does.
   * @default `process.execPath bin/baton.js worker --store … --agent-id … --name … --concurrency … --capabilities … [--namespace …]` followed by `workerArgs`
   * @example (ctx) => ({ command: 'node', args: ['my-worker.js', ctx.agentId] })
   */
  spawnWorker?: (ctx: SpawnWorkerContext) => WorkerCommand;
  /**
   * Extra arguments for the default `baton worker` command (ignored with `spawnWorker`).
   * @default []
   * @example ['--heartbeat', '500ms', '--agent-ttl', '3s', '--log-level', 'warn']
   */
  workerArgs?: string[];
  /** Where the workers' stdout and stderr go. @default 'inherit' */
  stdio?: 'inherit' | 'ignore';
  /**
   * After SIGTERM, how long a worker stopped by scale-down or by `stop()` may drain before it
   * is killed (SIGKILL), in ms. Longer than the worker's own grace (`baton worker --grace`,
   * 10 s by default), so a draining worker is not cut short.
   * @default 30000
   */
  stopGraceMs?: number;
  /** After SIGTERM, how long a worker over its memory limit may take to exit before SIGKILL, in ms. @default 5000 */
  restartGraceMs?: number;
  /** Stop gracefully on SIGINT/SIGTERM; a second signal tells the workers to stop at once. @default false */
  handleSignals?: boolean;
  /** A name for logs and for the workers' agent names (`<name>-<n>`). @default `pool-<pid>` */
  name?: string;
  /** Where the pool logs its decisions. @default pino on stderr at `BATON_LOG_LEVEL` (or `warn`) */
  logger?: Logger;
  /**
   * The pool process sweeps the store too (`src/runtime/sweeper.ts`), so lost work is
   * recovered while it runs even when no worker of its own is up (`min: 0`, all crashed).
   * Give it the same `agentTtlMs` as the workers' `--agent-ttl`. `false`: no sweep here.
   * @default on, with the sweeper's defaults (every 500 ms, agents lost after 3 s of silence)
   */
  sweep?: Omit<SweeperOptions, 'logger'> | false;
}

/** A decision the pool carried out. */
export interface PoolDecisionEvent {
  type: 'pool.scaled_up' | 'pool.scaled_down' | 'pool.restarted';
  /** The worker started (`scaled_up`), stopped (`scaled_down`) or replaced (`restarted`). */
  workerId: string;
  /** Why, with the numbers: `eligible depth 40 over 2 agents = 20 > threshold 5`. */
  reason: string;
  /** Workers the pool counts after the decision. */
  workers: number;
  /** `pool.restarted`: the agent id of the replacement. */
  replacementId?: string;
  /** Epoch ms. */
  at: number;
}

/** Typed events of a {@link Pool} (node:events map: name → listener args). */
export type PoolEventMap = {
  'pool.scaled_up': [event: PoolDecisionEvent];
  'pool.scaled_down': [event: PoolDecisionEvent];
  'pool.restarted': [event: PoolDecisionEvent];
  /** A tick failed (e.g. the store was unreachable); the pool keeps going. */
  error: [error: unknown];
  stopped: [];
};

/** One worker as the pool sees it. */
export interface PoolWorkerInfo {
  /** Its agent id. */
  id: string;
  name: string;
  pid: number | undefined;
  /** `starting`: not seen in `agents()` yet; `stopping`: asked to stop (scale-down, memory, shutdown). */
  state: 'starting' | 'idle' | 'busy' | 'stopping';
  /** Tasks it held at the last tick. */
  inFlight: number;
  /** Resident memory at the last tick, when a limit is set. */
  rssBytes: number | null;
  startedAt: number;
}

type Leaving = 'scale_down' | 'memory' | 'shutdown';

interface Child {
  readonly id: string;
  readonly name: string;
  readonly process: ChildProcess;
  readonly startedAt: number;
  registered: boolean;
  inFlight: number;
  lastBusyAt: number | null;
  rssBytes: number | null;
  /** Why the pool asked it to stop; `null` while it is one of the pool's live workers. */
  leaving: Leaving | null;
  exited: boolean;
  readonly whenExited: Promise<void>;
  timers: NodeJS.Timeout[];
}

type PoolState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/** A worker that exits sooner than this after starting counts towards the crash-loop backoff. */
const QUICK_EXIT_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** Between the two SIGTERMs of a memory restart: the second one means "stop at once". */
const SECOND_SIGTERM_DELAY_MS = 100;

export class Pool extends EventEmitter<PoolEventMap> {
  readonly name: string;

  readonly #store: string;
  readonly #namespace: string | undefined;
  readonly #capabilities: string[];
  readonly #concurrency: number;
  readonly #min: number;
  readonly #max: number;
  readonly #spawnThreshold: number;
  readonly #idleTimeoutMs: number;
  readonly #maxMemoryBytes: number | undefined;
  readonly #tickMs: number;
  readonly #spawnWorker: (ctx: SpawnWorkerContext) => WorkerCommand;
  readonly #stdio: 'inherit' | 'ignore';
  readonly #stopGraceMs: number;
  readonly #restartGraceMs: number;
  readonly #handleSignals: boolean;
  readonly #log: Logger;

  #state: PoolState = 'new';
  #baton: Baton | undefined;
  readonly #sweep: Omit<SweeperOptions, 'logger'> | false;
  #sweeper: Sweeper | undefined;
  /** Decisions being appended to the store's event stream; `stop()` waits for them. */
  readonly #recording = new Set<Promise<void>>();
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  #tickTimer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  readonly #children = new Map<string, Child>();
  /** Replacements waiting out the crash-loop backoff; they count as workers when deciding. */
  readonly #pendingRestarts = new Map<NodeJS.Timeout, string>();
  #spawned = 0;
  #quickExits = 0;
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    if (this.#stopPromise === undefined) {
      this.#log.info(
        { signal },
        `received ${signal}: draining the workers (send it again to stop them at once)`,
      );
    } else {
      this.#log.warn({ signal }, `received ${signal} again: telling the workers to stop at once`);
    }
    this.stop(this.#stopPromise === undefined ? {} : { graceMs: 0 }).catch((error: unknown) =>
      this.#log.error({ err: error }, 'the pool failed to stop'),
    );
  };

  constructor(options: PoolOptions = {}) {
    super();
    this.#store = options.store ?? DEFAULT_STORE_URL;
    this.#namespace = options.namespace;
    this.#concurrency = options.concurrency ?? 4;
    this.#min = options.min ?? 1;
    this.#max = options.max ?? 10;
    this.#spawnThreshold = options.spawnThreshold ?? 5;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.#maxMemoryBytes = options.maxMemoryBytes;
    this.#tickMs = options.tickMs ?? 1_000;
    this.#stdio = options.stdio ?? 'inherit';
    this.#stopGraceMs = options.stopGraceMs ?? 30_000;
    this.#restartGraceMs = options.restartGraceMs ?? 5_000;
    this.#handleSignals = options.handleSignals ?? false;
    this.#sweep = options.sweep ?? {};
    if (this.#sweep !== false) validateSweeperOptions(this.#sweep);
    this.name = options.name ?? `pool-${process.pid}`;
    this.#log = (options.logger ?? getDefaultLogger()).child({ pool: this.name });
    const capabilities = options.capabilities ?? [];
    if (options.spawnWorker === undefined) {
      const extra = [...(options.workerArgs ?? [])];
      this.#spawnWorker = (ctx) => defaultWorkerCommand(ctx, extra);
      // `baton worker` can always run shell tasks, so they count towards its backlog.
      this.#capabilities = [...new Set(['shell', ...capabilities])].sort();
    } else {
      this.#spawnWorker = options.spawnWorker;
      this.#capabilities = [...new Set(capabilities)].sort();
    }
    validatePoolOptions(this.#store, {
      min: this.#min,
      max: this.#max,
      spawnThreshold: this.#spawnThreshold,
      idleTimeoutMs: this.#idleTimeoutMs,
      concurrency: this.#concurrency,
      tickMs: this.#tickMs,
      maxMemoryBytes: this.#maxMemoryBytes,
      stopGraceMs: this.#stopGraceMs,
      restartGraceMs: this.#restartGraceMs,
    });
  }

  /** Workers the pool counts: live and not asked to stop (replacements waiting to start included). */
  get size(): number {
    return this.#live().length + this.#pendingRestarts.size;
  }

  /** Every worker process still running, including those asked to stop. */
  get workers(): PoolWorkerInfo[] {
    return [...this.#children.values()].map((child) => ({
      id: child.id,
      name: child.name,
      pid: child.process.pid,
      state:
        child.leaving !== null
          ? 'stopping'
          : !child.registered
            ? 'starting'
            : child.inFlight > 0
              ? 'busy'
              : 'idle',
      inFlight: child.inFlight,
      rssBytes: child.rssBytes,
      startedAt: child.startedAt,
    }));
  }

  /** Open the store, start `min` workers and begin ticking; resolves after the first tick. */
  start(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      return Promise.reject(
        new ConflictError(
          `pool ${this.name} was stopped and cannot start again; create a new Pool`,
        ),
      );
    }
    this.#startPromise ??= this.#start();
    return this.#startPromise;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    try {
      this.#baton = await Baton.open(this.#store, {
        logger: this.#log,
        ...(this.#namespace === undefined ? {} : { namespace: this.#namespace }),
      });
    } catch (error) {
      this.#state = 'stopped';
      throw error;
    }
    if (this.#stopPromise !== undefined) return;
    this.#state = 'running';
    if (this.#sweep !== false) {
      this.#sweeper = new Sweeper(this.#baton.backend, { ...this.#sweep, logger: this.#log });
      this.#sweeper.start();
    }
    if (this.#handleSignals) {
      process.on('SIGINT', this.#onSignal);
      process.on('SIGTERM', this.#onSignal);
    }
    this.#log.info(
      {
        store: this.#store,
        namespace: this.#namespace ?? 'default',
        capabilities: this.#capabilities,
        concurrency: this.#concurrency,
        min: this.#min,
        max: this.#max,
        spawnThreshold: this.#spawnThreshold,
        idleTimeoutMs: this.#idleTimeoutMs,
        maxMemoryBytes: this.#maxMemoryBytes ?? null,
      },
      'pool started',
    );
    await this.#runTick();
  }

  /**
   * Stop: no more starts or restarts; every worker gets SIGTERM (it drains: running tasks may
   * finish within its own grace) and is killed if still running after `graceMs`. Resolves when
   * every worker has exited and the store is closed. Idempotent; a later call with `graceMs: 0`
   * sends the workers a second SIGTERM (`baton worker`: stop at once, giving running tasks back).
   */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    if (this.#stopPromise !== undefined) {
      if (options.graceMs === 0) this.#hurry();
      return this.#stopPromise;
    }
    this.#stopPromise = this.#stop(options.graceMs ?? this.#stopGraceMs);
    return this.#stopPromise;
  }

  async #stop(graceMs: number): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      this.emit('stopped');
      return;
    }
    if (this.#state === 'starting') await this.#startPromise?.catch(() => undefined);
    this.#state = 'stopping';
    clearTimeout(this.#tickTimer);
    await this.#ticking;
    for (const timer of this.#pendingRestarts.keys()) clearTimeout(timer);
    this.#pendingRestarts.clear();

    const children = [...this.#children.values()];
    this.#log.info({ workers: children.length, graceMs }, 'pool stopping: draining the workers');
    for (const child of children) {
      if (child.leaving === null) {
        child.leaving = 'shutdown';
        this.#signal(child, 'SIGTERM');
      }
      // Workers already leaving keep their own deadline unless this one comes first.
      this.#killAfter(child, graceMs);
    }
    await Promise.all(children.map((child) => child.whenExited));
    await Promise.all(this.#recording);
    await this.#sweeper?.stop();
    await this.#baton?.close();
    if (this.#handleSignals) {
      process.off('SIGINT', this.#onSignal);
      process.off('SIGTERM', this.#onSignal);
    }
    this.#state = 'stopped';
    this.#log.info('pool stopped');
    this.emit('stopped');
  }

  /** Second stop request: the workers stop at once (their running tasks go back to the queue). */
  #hurry(): void {
    for (const child of this.#children.values()) {
      this.#signal(child, 'SIGTERM');
      this.#killAfter(child, this.#restartGraceMs);
    }
  }

  #scheduleTick(): void {
    if (this.#state !== 'running') return;
    this.#tickTimer = setTimeout(() => {
      this.#runTick().catch(() => undefined);
    }, this.#tickMs);
  }

  async #runTick(): Promise<void> {
    this.#ticking = this.#tick()
      .catch((error: unknown) => {
        this.#log.warn({ err: error }, 'pool tick failed; trying again next tick');
        if (this.listenerCount('error') > 0) this.emit('error', error);
      })
      .finally(() => {
        this.#ticking = undefined;
        this.#scheduleTick();
      });
    await this.#ticking;
  }

  async #tick(): Promise<void> {
    const baton = this.#baton;
    if (baton === undefined || this.#state !== 'running') return;
    const [stats, agents] = await Promise.all([baton.stats(), baton.agents()]);
    if (this.#state !== 'running') return;
    const now = Date.now();
    this.#observe(agents, now);
    await this.#checkMemory();
    if (this.#state !== 'running') return;
    this.#scale(stats, Date.now());
  }

  /** Record, per worker, whether it holds tasks: busy now, or idle since when. */
  #observe(agents: AgentRecord[], now: number): void {
    const byId = new Map(agents.map((agent) => [agent.id, agent]));
    for (const child of this.#children.values()) {
      const agent = byId.get(child.id);
      if (agent === undefined) continue;
      child.registered = true;
      child.inFlight = agent.inFlight.length;
      if (child.inFlight > 0) child.lastBusyAt = now;
    }
  }

  async #checkMemory(): Promise<void> {
    const limit = this.#maxMemoryBytes;
    if (limit === undefined) return;
    const live = this.#live();
    const readings = await Promise.all(
      live.map((child) =>
        child.process.pid === undefined ? Promise.resolve(null) : readRssBytes(child.process.pid),
      ),
    );
    live.forEach((child, index) => {
      const rss = readings[index] ?? null;
      child.rssBytes = rss;
      if (rss !== null && rss > limit && child.leaving === null && !child.exited) {
        this.#restartForMemory(child, rss, limit);
      }
    });
  }

  #scale(stats: Stats, now: number): void {
    const workers: ScaleWorker[] = this.#live().map((child) => ({
      id: child.id,
      busy: child.inFlight > 0,
      idleSinceMs: child.inFlight > 0 ? null : (child.lastBusyAt ?? child.startedAt),
    }));
    for (const id of this.#pendingRestarts.values()) {
      workers.push({ id, busy: true, idleSinceMs: null });
    }
    const depth = eligibleDepth(stats.readyByRequires, this.#capabilities);
    const decisions = decideScale({
      eligibleDepth: depth,
      workers,
      min: this.#min,
      max: this.#max,
      spawnThreshold: this.#spawnThreshold,
      idleTimeoutMs: this.#idleTimeoutMs,
      now,
    });
    for (const decision of decisions) {
      if (decision.kind === 'scale_up') {
        const child = this.#spawn();
        this.#announce({ type: 'pool.scaled_up', workerId: child.id, reason: decision.reason });
      } else {
        const child = this.#children.get(decision.workerId);
        if (child === undefined || child.leaving !== null) continue;
        child.leaving = 'scale_down';
        this.#signal(child, 'SIGTERM');
        this.#killAfter(child, this.#stopGraceMs);
        this.#announce({ type: 'pool.scaled_down', workerId: child.id, reason: decision.reason });
      }
    }
  }

  /**
   * Over its memory limit: SIGTERM, then a second SIGTERM, which `baton worker` takes as "stop
   * at once" (its running tasks are aborted and given back, to run again elsewhere), then
   * SIGKILL if it is still there after the restart grace. The replacement starts right away.
   */
  #restartForMemory(child: Child, rss: number, limit: number): void {
    child.leaving = 'memory';
    this.#signal(child, 'SIGTERM');
    const again = setTimeout(() => this.#signal(child, 'SIGTERM'), SECOND_SIGTERM_DELAY_MS);
    child.timers.push(again);
    this.#killAfter(child, this.#restartGraceMs);
    const replacement = this.#spawn();
    this.#announce({
      type: 'pool.restarted',
      workerId: child.id,
      replacementId: replacement.id,
      reason: `memory ${formatBytes(rss)} > ${formatBytes(limit)}`,
    });
  }

  /** A worker exited. Unless the pool asked it to, replace it (backing off in a crash loop). */
  #onExit(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    if (child.exited) return;
    child.exited = true;
    for (const timer of child.timers) clearTimeout(timer);
    this.#children.delete(child.id);
    const how = signal === null ? `code ${code ?? 'unknown'}` : `signal ${signal}`;
    if (child.leaving !== null) {
      this.#log.info(
        { workerId: child.id, code, signal, cause: child.leaving },
        `worker exited with ${how}`,
      );
      return;
    }
    const reason = `exited with ${how}`;
    if (this.#state !== 'running' && this.#state !== 'starting') {
      this.#log.info({ workerId: child.id, code, signal }, `worker ${reason}`);
      return;
    }
    const uptime = Date.now() - child.startedAt;
    this.#quickExits = uptime < QUICK_EXIT_MS ? this.#quickExits + 1 : 0;
    const delayMs =
      this.#quickExits <= 1 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 500 * 2 ** (this.#quickExits - 2));
    const restart = (): void => {
      const replacement = this.#spawn();
      this.#announce({
        type: 'pool.restarted',
        workerId: child.id,
        replacementId: replacement.id,
        reason,
      });
    };
    if (delayMs === 0) {
      restart();
      return;
    }
    this.#log.warn(
      { workerId: child.id, code, signal, uptimeMs: uptime, delayMs },
      `worker ${reason} ${formatMs(uptime)} after it started (${this.#quickExits} in a row): restarting it in ${formatMs(delayMs)}`,
    );
    const timer = setTimeout(() => {
      this.#pendingRestarts.delete(timer);
      if (this.#state === 'running') restart();
    }, delayMs);
    this.#pendingRestarts.set(timer, `restart-of-${child.id}`);
  }

  #spawn(): Child {
    this.#spawned += 1;
    const id = newAgentId();
    const name = `${this.name}-${this.#spawned}`;
    const command = this.#spawnWorker({
      agentId: id,
      name,
      store: this.#store,
      namespace: this.#namespace,
      capabilities: this.#capabilities,
      concurrency: this.#concurrency,
    });
    const proc = spawn(command.command, command.args, {
      env: command.env ?? process.env,
      cwd: command.cwd ?? process.cwd(),
      stdio: ['ignore', this.#stdio, this.#stdio],
      detached: true,
    });
    let resolveExited: () => void = () => undefined;
    const whenExited = new Promise<void>((resolve) => (resolveExited = resolve));
    const child: Child = {
      id,
      name,
      process: proc,
      startedAt: Date.now(),
      registered: false,
      inFlight: 0,
      lastBusyAt: null,
      rssBytes: null,
      leaving: null,
      exited: false,
      whenExited,
      timers: [],
    };
    this.#children.set(id, child);
    proc.once('exit', (code, signal) => {
      this.#onExit(child, code, signal);
      resolveExited();
    });
    proc.on('error', (error) => {
      // The program could not be started (no 'exit' follows) or could not be signalled.
      this.#log.error(
        { err: error, workerId: id, command: command.command },
        'worker process error',
      );
      if (proc.pid === undefined) {
        this.#onExit(child, null, null);
        resolveExited();
      }
    });
    this.#log.debug(
      { workerId: id, pid: proc.pid, command: command.command, args: command.args },
      'worker started',
    );
    return child;
  }

  /**
   * The one place a decision leaves the pool: logged, emitted as a typed event, and appended to
   * the store's event stream (the worker's agent id as `agentId`; reason, workers and any
   * replacement as data), where `baton run`, the SDK's `events()` and other processes see it.
   */
  #announce(decision: Omit<PoolDecisionEvent, 'workers' | 'at'>): void {
    const event: PoolDecisionEvent = { ...decision, workers: this.size, at: Date.now() };
    this.#log.info(
      {
        event: event.type,
        workerId: event.workerId,
        ...(event.replacementId === undefined ? {} : { replacementId: event.replacementId }),
        workers: event.workers,
        reason: event.reason,
      },
      `${event.type}: ${event.reason}`,
    );
    try {
      this.emit(event.type, event);
    } catch (error) {
      this.#log.error({ err: error, event: event.type }, `a "${event.type}" listener threw`);
    }
    const baton = this.#baton;
    if (baton === undefined) return;
    const recording = baton.backend
      .recordEvent({
        type: event.type,
        agentId: event.workerId,
        data: {
          reason: event.reason,
          workers: event.workers,
          ...(event.replacementId === undefined ? {} : { replacementId: event.replacementId }),
        },
      })
      .then(
        () => undefined,
        (error: unknown) =>
          this.#log.warn({ err: error, event: event.type }, 'could not record the decision'),
      )
      .finally(() => this.#recording.delete(recording));
    this.#recording.add(recording);
  }

  /** The pool's live workers: running and not asked to stop. */
  #live(): Child[] {
    return [...this.#children.values()].filter((child) => child.leaving === null && !child.exited);
  }

  #signal(child: Child, signal: NodeJS.Signals): void {
    if (child.exited) return;
    try {
      child.process.kill(signal);
    } catch (error) {
      this.#log.warn({ err: error, workerId: child.id, signal }, 'could not signal a worker');
    }
  }

  /** SIGKILL the worker (and its process group) if it is still running after `ms`. */
  #killAfter(child: Child, ms: number): void {
    if (child.exited) return;
    const timer = setTimeout(() => {
      if (child.exited) return;
      this.#log.warn(
        { workerId: child.id, afterMs: ms },
        'worker did not exit in time: killing it',
      );
      const pid = child.process.pid;
      try {
        // Its own process group (detached): whatever it started in that group goes too.
        if (pid !== undefined) process.kill(-pid, 'SIGKILL');
        else child.process.kill('SIGKILL');
      } catch {
        child.process.kill('SIGKILL');
      }
    }, ms);
    child.timers.push(timer);
  }
}

/**
 * The default worker: this package's `baton worker` on the pool's store, with the agent id the
 * pool chose, followed by `extraArgs`.
 */
export function defaultWorkerCommand(
  ctx: SpawnWorkerContext,
  extraArgs: readonly string[] = [],
): WorkerCommand {
  const args = [
    BATON_BIN,
    'worker',
    '--store',
    ctx.store,
    '--agent-id',
    ctx.agentId,
    '--name',
    ctx.name,
    '--concurrency',
    String(ctx.concurrency),
  ];
  if (ctx.capabilities.length > 0) args.push('--capabilities', ctx.capabilities.join(','));
  if (ctx.namespace !== undefined) args.push('--namespace', ctx.namespace);
  args.push(...extraArgs);
  return { command: process.execPath, args };
}

function validatePoolOptions(
  store: string,
  o: {
    min: number;
    max: number;
    spawnThreshold: number;
    idleTimeoutMs: number;
    concurrency: number;
    tickMs: number;
    maxMemoryBytes: number | undefined;
    stopGraceMs: number;
    restartGraceMs: number;
  },
): void {
  const issues: ValidationIssue[] = scaleLimitIssues(o);
  const positive = (path: string, value: number | undefined, integer: boolean): void => {
    if (value === undefined) return;
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value))) {
      issues.push({
        path,
        message: `expected ${integer ? 'a whole number of 1 or more' : 'a number above 0'}, got ${String(value)}`,
      });
    }
  };
  positive('concurrency', o.concurrency, true);
  positive('tickMs', o.tickMs, false);
  positive('maxMemoryBytes', o.maxMemoryBytes, false);
  positive('stopGraceMs', o.stopGraceMs, false);
  positive('restartGraceMs', o.restartGraceMs, false);
  const target = parseStoreUrl(store);
  if (target.kind === 'sqlite' && target.path === ':memory:') {
    issues.push({
      path: 'store',
      message: `'${store}' lives inside one process, but a pool's workers are separate processes; use a SQLite file (sqlite:path/to/baton.db) or Redis`,
    });
  }
  if (issues.length > 0) throw new ValidationError(issues);
}
