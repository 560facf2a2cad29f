/**
 * The worker: the runtime loop that claims tasks for an agent, runs their handlers, renews
 * leases and reports results (DESIGN.md glossary). One worker hosts one agent.
 *
 * Shape of the loop:
 * - claim in batches up to the free slots, only tasks of the types it has handlers for (and
 *   whose `requires` it has); when nothing is claimable, block in `backend.waitForWork` for the
 *   same tasks (never a busy loop or a sleep-poll);
 * - settle calls of one tick are coalesced into one `complete([...])` / `fail([...])` /
 *   `release([...])` (handlers that threw a `DeferError`: given back without counting the attempt);
 * - one timer renews every in-flight lease with one `renew` call (which is also the agent's
 *   heartbeat, and the proof that its loop makes progress); another runs the idempotent `sweep`;
 * - a worker thread with its own connection heartbeats the agent with its process's CPU and
 *   memory (`heartbeat.ts`), so a handler that blocks the event loop cannot starve the heartbeat:
 *   its agent stays alive (and shows as stalled if the block outlasts `stallAfterMs`) instead of
 *   being declared lost and its tasks run twice.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pino, { type Logger } from 'pino';
import type {
  Backend,
  FailInput,
  LeaseRef,
  LogLineInput,
  SettleOutcome,
  SubmittedTask,
} from '../backends/backend.ts';
import { MAX_RELEASE_DELAY_MS } from '../backends/backend.ts';
import { newAgentId } from '../backends/ids.ts';
import {
  AgentLostError,
  BatonError,
  CancelledError,
  ConflictError,
  DeferError,
  LeaseLostError,
  TimeoutError,
  ValidationError,
  type ValidationIssue,
} from '../core/errors.ts';
import type {
  DependencyOutcome,
  Json,
  Lease,
  TaskError,
  TaskRecord,
  TaskSpec,
} from '../core/types.ts';
import { describeValue } from '../core/text.ts';
import type { PriceOverrides } from '../core/pricing.ts';
import { heartbeatInThread, type ThreadHeartbeat } from './heartbeat.ts';
import { AttemptCosts, Ledger } from './ledger.ts';
import { DEFAULT_LOG_FLUSH_MS, LogBatcher } from './log-batcher.ts';
import { ProcessSampler } from './process-sampler.ts';
import { SettleBatcher } from './settle-batcher.ts';
import {
  DEFAULT_AGENT_TTL_MS,
  DEFAULT_STALL_AFTER_MS,
  DEFAULT_SWEEP_INTERVAL_MS,
  shareSweeper,
  type SweeperShare,
} from './sweeper.ts';
import { retryDelayOf, toTaskError } from './task-error.ts';
import { AttemptLog, type TaskLog } from './task-log.ts';
import { batonVersion } from './version.ts';

/** What a handler gets for one attempt of one task. */
export interface TaskContext {
  /** The task as claimed. */
  task: TaskRecord;
  /** The task's JSON input (`task.payload`). */
  payload: Json;
  /** Attempt number, 1-based. */
  attempt: number;
  /** The agent running this attempt. */
  agentId: string;
  /**
   * The lease this attempt runs under: its task, fencing token and holder. What an attempt's
   * MCP token is bound to (`writeMcpConfig`, docs/mcp.md), so the agent's writes are fenced by it.
   * A secret of the attempt: never log the token.
   */
  lease: { taskId: string; token: number; agentId: string };
  /**
   * Fires when the attempt must stop: its `timeoutMs` passed (reason `TimeoutError`), it was
   * cancelled (`CancelledError`), its lease was lost (`LeaseLostError`), or the worker is
   * shutting down past its grace period (`CancelledError`).
   */
  signal: AbortSignal;
  /** Outcomes of this task's dependencies, by key. */
  dependencies: Record<string, DependencyOutcome>;
  /**
   * Add tasks to this task's run (fan-out / join); `dependsOn` may name existing keys of the
   * run. For a task outside any run, the tasks are submitted on their own. A plain function
   * (no `this`), so `({ spawn }) => …` works.
   */
  spawn: (tasks: TaskSpec[]) => Promise<SubmittedTask[]>;
  /**
   * This attempt's log (docs/logs.md): `ctx.log('text')` writes a line at level `info`,
   * `ctx.log.debug|info|warn|error(...)` at that level (arguments formatted as by `console.log`),
   * `ctx.log.write('stdout' | 'stderr', chunk)` a program's output. Lines are stored as they are
   * written (batched for `logFlushMs`), so `baton logs --follow` shows them while the task runs,
   * and kept with the task after it ends, failed or not.
   */
  log: TaskLog;
  /**
   * The usage and cost ledger for this attempt (docs/costs.md): reserve a model call's worst
   * case against the run's and task's budgets before it, record its usage after (priced, and the
   * reservation settled), give back a reservation whose call never happened. What is still held
   * when the handler returns is given back.
   */
  costs: AttemptCosts;
}

/** Runs one attempt; the value returned (JSON, or nothing for `null`) is the task's result. */
export type TaskHandler = (ctx: TaskContext) => Promise<Json | void> | Json | void;

export interface WorkerOptions {
  /** A stable agent id, so a restarted worker is recognisably the same agent. @default a new `agt_…` id */
  agentId?: string;
  /** A human name for displays. @default the agent id */
  name?: string;
  /** Capabilities of this agent; it only claims tasks whose `requires` are all among them. @default [] */
  capabilities?: string[];
  /** Free-form labels shown with the agent. @default {} */
  labels?: Record<string, string>;
  /** Most handlers running at once (the agent's slots). @default 10 */
  concurrency?: number;
  /**
   * Handlers by task type. The worker claims only tasks of these types (and whose `requires` are
   * among its `capabilities`), so in a mixed fleet each task waits for a worker that can run it.
   */
  handlers: Record<string, TaskHandler>;
  /** How long each lease lasts before it must be renewed, in ms. @default 30000 */
  leaseTtlMs?: number;
  /** How often in-flight leases are renewed (and the agent heartbeats), in ms. @default 1000 */
  heartbeatIntervalMs?: number;
  /**
   * Heartbeat from a worker thread with its own connection to the store, so a handler that
   * blocks the event loop (CPU-bound JavaScript) cannot starve the heartbeat and get its agent
   * declared lost. Leases are still renewed by the worker's loop. `false` heartbeats from the
   * loop only (for environments without worker threads). Either way, the loop's renew carries
   * on. Without a way to reopen the store from another thread (`sqlite::memory:`, or a backend on
   * an injected clock: `Backend.location` is null), or if the thread fails to start, the worker
   * heartbeats from its loop and logs why.
   * @default true
   */
  heartbeatThread?: boolean;
  /**
   * When this worker sweeps: an agent whose loop made no progress (renewed its leases or
   * reported an attempt) for longer than this, while it held a task or owed the report of an
   * attempt the sweep timed out, is declared stalled (`agent.stalled`; see
   * `SweepOptions.stallAfterMs`). Must be longer than `heartbeatIntervalMs`.
   * @default 10000, or 5 heartbeat intervals when that is longer
   */
  stallAfterMs?: number;
  /**
   * An agent silent this long is declared lost and its leases released; used when this worker
   * runs the sweep. Three heartbeats: a handler that blocks the event loop for a second does not
   * make its agent look lost, and a killed agent's tasks run elsewhere within about 4 s.
   * @default 3000
   */
  agentTtlMs?: number;
  /** How often this worker runs the backend's sweep, in ms. @default 500 */
  sweepIntervalMs?: number;
  /** Longest single `waitForWork` when there is nothing to claim, in ms. @default 1000 */
  idleWaitMs?: number;
  /** How long `stop()` lets in-flight handlers finish before aborting them, in ms. @default 10000 */
  shutdownGraceMs?: number;
  /**
   * How long a handler whose attempt was aborted (timeout, cancel, lost lease, shutdown) may take
   * to return before the worker abandons it: its slot is freed for other tasks, the worker emits
   * `task:abandoned`, records an `agent.degraded` event, and the agent's health is `degraded`
   * while abandoned handlers are still running. A handler that ignores its `AbortSignal` would
   * otherwise hold its slot forever. Longer than the executors' own kill grace (the shell
   * executor: SIGTERM, then SIGKILL 2 s later), so a handler that honours its signal is never
   * abandoned. The attempt's outcome was already recorded when it was aborted; whatever the
   * abandoned handler does later is ignored.
   * @default 10000
   */
  abandonAfterMs?: number;
  /** Stop gracefully on SIGINT/SIGTERM; a second signal stops at once. @default false */
  handleSignals?: boolean;
  /** Where the worker logs. @default a pino logger at `BATON_LOG_LEVEL` (or `info`) */
  logger?: Logger;
  /**
   * Prices of models by `provider:model` (or `provider:*`), in USD per million tokens, that
   * override or extend the maintained price table when `ctx.costs` prices a call
   * (docs/costs.md).
   * @default none: the table's prices
   * @example { 'vllm:qwen3-32b': { inputMtok: 0.05, outputMtok: 0.2 } }
   */
  prices?: PriceOverrides;
  /**
   * How long a line a handler writes (`ctx.log`) waits for others before they are sent to the
   * store together, in ms. An attempt's last lines go with its outcome, in the same call.
   * @default 50
   */
  logFlushMs?: number;
}

/** Typed events of a {@link Worker} (node:events `EventEmitter` map: name → listener args). */
export type WorkerEventMap = {
  'task:claimed': [lease: Lease];
  'task:succeeded': [event: { lease: Lease; result: Json; durationMs: number }];
  'task:failed': [event: { lease: Lease; error: TaskError; willRetry: boolean }];
  /**
   * The handler threw a `DeferError` ("not now"): the lease was given back without counting the
   * attempt, and the task can be claimed again after `delayMs`.
   */
  'task:deferred': [event: { lease: Lease; delayMs: number; reason: string }];
  /** The task was cancelled while its handler ran; the handler's signal fired. */
  'task:cancelled': [event: { lease: Lease; reason: string }];
  /** The lease went stale (expired, released, re-claimed); the outcome was not recorded. */
  'task:lease-lost': [event: { lease: Lease; reason: string }];
  /**
   * A handler did not return within `abandonAfterMs` of its attempt being aborted: its slot was
   * freed. `abandoned` counts this worker's abandoned handlers that still have not returned.
   */
  'task:abandoned': [
    event: { lease: Lease; abortedBy: string; waitedMs: number; abandoned: number },
  ];
  /** An unexpected error in the loop or a timer; the worker keeps going (with backoff). */
  error: [error: unknown];
  stopped: [];
};

type WorkerState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';
type AbortKind = 'timeout' | 'cancelled' | 'lease_lost' | 'shutdown';

/** One claimed task from claim until its handler has returned. */
interface InFlight {
  readonly key: string;
  readonly lease: Lease;
  /** Made on first use: by the handler reading `ctx.signal`, or by an abort. */
  readonly controller: AbortController;
  /** Called once the attempt is aborted (set while its handler runs). */
  onAbort: (() => void) | undefined;
  readonly startedAt: number;
  /** How long the handler ran (ms), once it returned: reported with the attempt's outcome. */
  handlerMs: number | undefined;
  /** The worker's own logger for this attempt (pino). */
  readonly log: Logger;
  /** The attempt's task log, made when the handler first writes to `ctx.log`. */
  taskLog: AttemptLog | undefined;
  /** Lines a settle call carries (kept until it is answered, to carry them again if resent). */
  carried: LogLineInput[] | undefined;
  timer: NodeJS.Timeout | undefined;
  abortKind: AbortKind | undefined;
  /** A settle call for this lease is under way or done: no renew, no release any more. */
  settling: boolean;
  /** Resolves when the attempt is settled and the handler has returned. */
  done: Promise<void>;
  /** The handler still runs: the entry holds one of the `concurrency` slots. */
  holdsSlot: boolean;
  /**
   * How many claims the worker had sent when it handed this attempt's outcome to the settler;
   * undefined before. A claim sent later reaches the store after the outcome (see `whenSent`).
   */
  claimsBeforeSettle: number | undefined;
}

type HandlerOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** How long an aborted handler may take to return before its slot is freed without it. */
const DEFAULT_ABANDON_AFTER_MS = 10_000;

/** From this many slots a worker claims in two halves, each while the other's tasks run. */
const PIPELINE_MIN_CONCURRENCY = 8;

// Short enough that a worker resumes within a second of its store coming back after an outage.
const MAX_LOOP_BACKOFF_MS = 1_000;
const SETTLE_RETRY_FIRST_MS = 100;
const SETTLE_RETRY_MAX_MS = 2_000;

let defaultLogger: Logger | undefined;

/**
 * The logger of workers given none: pino on stderr, so a program's own stdout stays its own,
 * at `BATON_LOG_LEVEL` or `warn` (a library should not chatter; the CLI asks for `info`).
 */
export function getDefaultLogger(): Logger {
  defaultLogger ??= pino(
    { name: 'baton', level: process.env.BATON_LOG_LEVEL ?? 'warn' },
    pino.destination(2),
  );
  return defaultLogger;
}

export class Worker extends EventEmitter<WorkerEventMap> {
  readonly agentId: string;

  readonly #backend: Backend;
  readonly #handlers: Record<string, TaskHandler>;
  /** The task types it has handlers for: the only ones it claims. */
  readonly #types: string[];
  readonly #capabilities: string[];
  readonly #name: string;
  readonly #labels: Record<string, string>;
  readonly #concurrency: number;
  readonly #leaseTtlMs: number;
  readonly #heartbeatIntervalMs: number;
  readonly #useHeartbeatThread: boolean;
  readonly #stallAfterMs: number;
  readonly #agentTtlMs: number;
  readonly #sweepIntervalMs: number;
  readonly #idleWaitMs: number;
  readonly #shutdownGraceMs: number;
  readonly #abandonAfterMs: number;
  /** Handlers abandoned after an abort that have not returned yet (task id#token). */
  readonly #abandoned = new Set<string>();
  readonly #handleSignals: boolean;
  readonly #log: Logger;
  /** The logger the worker was given: the shared sweeper logs without this agent's id. */
  readonly #baseLog: Logger;
  readonly #settler: SettleBatcher;
  /** Prices and records model calls, holds budgets (`ctx.costs`). */
  readonly #ledger: Ledger;
  /** Sends the lines handlers write while their attempts run (task-log.ts). */
  readonly #logs: LogBatcher;

  #state: WorkerState = 'new';
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  #loopPromise: Promise<void> | undefined;
  /** Every lease held: handlers running, and finished ones whose settle is not answered yet. */
  readonly #inFlight = new Map<string, InFlight>();
  /** Handlers running: at most `concurrency`. */
  #busy = 0;
  /** True when the latest claim (made after the latest slot freed) found nothing. */
  #lastClaimEmpty = false;
  /** True when the latest claim got all the tasks it asked for: more are likely waiting. */
  #lastClaimFull = false;
  #idleWaiters: (() => void)[] = [];
  /** Aborting it wakes the loop from `waitForWork` or from waiting for a free slot. */
  #wake: AbortController | undefined;
  /** Claims sent and not answered yet, the slots they reserve, and the first that failed. */
  readonly #claims = new Set<Promise<void>>();
  #claimingSlots = 0;
  #claimFailure: { error: unknown } | undefined;
  /** The loop's latest backoff after failures in a row; 0 once a claim succeeds. */
  #backoffMs = 0;
  /** Claims sent so far (a claim's sequence number is the count after it). */
  #claimsSent = 0;
  /** The sequence number of the latest claim sent that came back empty; 0 if none. */
  #lastEmptyClaim = 0;
  /** How many claims may be in flight at once, and the most tasks one claim asks for. */
  readonly #claimsAtOnce: number;
  readonly #claimSize: number;
  #slotFreed: (() => void) | undefined;
  /** Aborted once, at stop: ends backoff sleeps. */
  readonly #stopController = new AbortController();
  #heartbeatTimer: NodeJS.Timeout | undefined;
  /** Heartbeats the agent off the event loop; undefined when the loop heartbeats itself. */
  #heartbeatThread: ThreadHeartbeat | undefined;
  /** Settles once the heartbeat thread beats for this agent, or the loop took over. */
  #heartbeatStarting: Promise<void> | undefined;
  /** The thread's heartbeat of this agent in any state (starting, beating), to stop it. */
  #heartbeatHandle: ThreadHeartbeat | undefined;
  /** CPU and memory reports sent with the loop's renews when there is no heartbeat thread. */
  readonly #sampler = new ProcessSampler();
  /** This process's sweeper on the worker's store, shared with its other workers there. */
  #sweeper: SweeperShare | undefined;
  #heartbeatRunning: Promise<void> | undefined;
  #reRegistering: Promise<void> | undefined;
  #cutGrace: (() => void) | undefined;
  #graceCut = false;
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    if (this.#stopPromise === undefined) {
      this.#log.info(
        { signal },
        `received ${signal}: stopping gracefully (send it again to stop at once)`,
      );
      this.stop().catch((error: unknown) => this.#reportError(error, 'stop after signal'));
    } else {
      this.#log.warn({ signal }, `received ${signal} again: stopping at once`);
      this.#graceCut = true;
      this.#cutGrace?.();
    }
  };

  constructor(backend: Backend, options: WorkerOptions) {
    super();
    validateOptions(options);
    this.#backend = backend;
    this.#handlers = { ...options.handlers };
    this.#types = Object.keys(this.#handlers);
    this.agentId = options.agentId ?? newAgentId();
    this.#name = options.name ?? this.agentId;
    this.#capabilities = [...(options.capabilities ?? [])];
    this.#labels = { ...(options.labels ?? {}) };
    this.#concurrency = options.concurrency ?? 10;
    this.#claimsAtOnce = this.#concurrency >= PIPELINE_MIN_CONCURRENCY ? 2 : 1;
    this.#claimSize = Math.ceil(this.#concurrency / this.#claimsAtOnce);
    this.#leaseTtlMs = options.leaseTtlMs ?? 30_000;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1_000;
    this.#useHeartbeatThread = options.heartbeatThread ?? true;
    this.#stallAfterMs = options.stallAfterMs ?? defaultStallAfterMs(this.#heartbeatIntervalMs);
    this.#agentTtlMs = options.agentTtlMs ?? DEFAULT_AGENT_TTL_MS;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    this.#idleWaitMs = options.idleWaitMs ?? 1_000;
    this.#shutdownGraceMs = options.shutdownGraceMs ?? 10_000;
    this.#abandonAfterMs = options.abandonAfterMs ?? DEFAULT_ABANDON_AFTER_MS;
    this.#handleSignals = options.handleSignals ?? false;
    this.#baseLog = options.logger ?? getDefaultLogger();
    this.#log = this.#baseLog.child({ agentId: this.agentId });
    this.#settler = new SettleBatcher(backend);
    this.#ledger = new Ledger(
      backend,
      options.prices === undefined ? {} : { prices: options.prices },
    );
    this.#logs = new LogBatcher(backend, {
      flushMs: options.logFlushMs ?? DEFAULT_LOG_FLUSH_MS,
      logger: this.#log,
    });
  }

  /** True between a successful `start()` and the beginning of `stop()`. */
  get running(): boolean {
    return this.#state === 'running';
  }

  /** Number of handlers currently holding a slot. */
  get inFlight(): number {
    return this.#busy;
  }

  /** Registers the agent and starts the loop and timers; resolves once running. Idempotent. */
  start(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      return Promise.reject(
        new ConflictError(
          `worker ${this.agentId} was stopped and cannot start again; create a new worker (the agent id may be reused)`,
          { agentId: this.agentId },
        ),
      );
    }
    this.#startPromise ??= this.#start();
    return this.#startPromise;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    try {
      await this.#register();
    } catch (error) {
      this.#state = 'stopped';
      throw error;
    }
    // stop() may have been called while registering: it waits for this promise, then stops.
    if (this.#stopPromise !== undefined) return;
    this.#state = 'running';
    this.#heartbeatTimer = setInterval(() => this.#heartbeatTick(), this.#heartbeatIntervalMs);
    this.#heartbeatTimer.unref();
    this.#sweeper = shareSweeper(this.#backend, {
      intervalMs: this.#sweepIntervalMs,
      agentTtlMs: this.#agentTtlMs,
      stallAfterMs: this.#stallAfterMs,
      logger: this.#baseLog,
    });
    if (this.#handleSignals) {
      process.on('SIGINT', this.#onSignal);
      process.on('SIGTERM', this.#onSignal);
    }
    // The thread is asked for at once, before the loop can claim a handler that blocks this
    // thread (it boots and beats on its own); waiting for it to open the store comes after the
    // signal handlers, so a stop signal meanwhile is not fatal, and the loop need not wait.
    this.#heartbeatStarting = this.#startHeartbeatThread();
    this.#loopPromise = this.#loop();
    await this.#heartbeatStarting;
    this.#log.info(
      {
        name: this.#name,
        capabilities: this.#capabilities,
        concurrency: this.#concurrency,
        handlers: this.#types,
        heartbeatThread: this.#heartbeatThread !== undefined,
      },
      'worker started',
    );
  }

  /**
   * Stop claiming, let in-flight handlers finish within the grace period, then abort the rest
   * and release their leases (their tasks go back to `ready`), deregister the agent and clear
   * every timer. Safe to call more than once; a later call with `graceMs: 0` cuts the grace short.
   */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    if (this.#stopPromise !== undefined) {
      if (options.graceMs === 0) {
        this.#graceCut = true;
        this.#cutGrace?.();
      }
      return this.#stopPromise;
    }
    this.#stopPromise = this.#stop(options.graceMs ?? this.#shutdownGraceMs);
    return this.#stopPromise;
  }

  /**
   * Resolves when nothing is in flight and a claim made after this call found nothing (or when
   * the worker stops). Useful in scripts and tests: "run until the queue is drained".
   */
  onIdle(): Promise<void> {
    if (this.#state === 'new' || this.#state === 'stopped') return Promise.resolve();
    if (this.#state === 'running') {
      // Only a claim made after this call counts: work submitted just before must be seen.
      this.#lastClaimEmpty = false;
      this.#wakeLoop();
    } else if (this.#isIdle()) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #stop(graceMs: number): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      this.#emit('stopped');
      return;
    }
    if (this.#state === 'starting' && this.#startPromise !== undefined) {
      try {
        await this.#startPromise;
      } catch {
        // Never registered: nothing to undo.
        this.#state = 'stopped';
        this.#emit('stopped');
        return;
      }
    }
    this.#state = 'stopping';
    this.#log.info({ inFlight: this.#inFlight.size, graceMs }, 'worker stopping');
    this.#stopController.abort();
    this.#wakeLoop();
    await this.#loopPromise;

    // Let in-flight handlers finish within the grace period; timers keep renewing their leases.
    if (this.#inFlight.size > 0 && graceMs > 0 && !this.#graceCut) {
      let graceTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...this.#inFlight.values()].map((entry) => entry.done)),
        new Promise<void>((resolve) => {
          graceTimer = setTimeout(resolve, graceMs);
          this.#cutGrace = resolve;
        }),
      ]);
      clearTimeout(graceTimer);
      this.#cutGrace = undefined;
    }

    // Abort what is left and give its leases back without counting the attempt.
    const leftover = [...this.#inFlight.values()].filter((entry) => !entry.settling);
    for (const entry of leftover) {
      entry.settling = true;
      this.#abortEntry(
        entry,
        'shutdown',
        new CancelledError(`worker ${this.agentId} is shutting down`),
      );
    }
    await this.#settler.drain();
    if (leftover.length > 0) await this.#release(leftover);
    await this.#logs.drain();

    clearInterval(this.#heartbeatTimer);
    await Promise.all([this.#heartbeatRunning, this.#sweeper?.release(), this.#reRegistering]);
    // Also a thread still starting: its start is called off.
    await this.#heartbeatHandle?.stop();
    await this.#heartbeatStarting;
    this.#heartbeatHandle = undefined;
    this.#heartbeatThread = undefined;
    try {
      await this.#backend.deregisterAgent(this.agentId);
    } catch (error) {
      this.#reportError(error, 'deregister agent');
    }
    if (this.#handleSignals) {
      process.off('SIGINT', this.#onSignal);
      process.off('SIGTERM', this.#onSignal);
    }
    this.#state = 'stopped';
    this.#log.info({ abandoned: leftover.length }, 'worker stopped');
    this.#resolveIdle();
    this.#emit('stopped');
  }

  /** Give back leases of a claim that answered after stop() began; their tasks never started. */
  async #giveBackUnstarted(leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return;
    try {
      await this.#backend.release(
        leases.map((lease) => ({
          taskId: lease.taskId,
          token: lease.token,
          agentId: this.agentId,
          reason: 'claimed as its worker stopped; not started',
        })),
      );
      this.#log.info({ tasks: leases.map((l) => l.taskId) }, 'claimed as stopping: given back');
    } catch (error) {
      // Deregistering the agent releases its leases too; this is only the faster path.
      this.#reportError(error, 'give back leases claimed while stopping');
    }
  }

  async #release(entries: InFlight[]): Promise<void> {
    try {
      const carried = await Promise.all(entries.map(async (entry) => this.#carriedLogs(entry)));
      const outcomes = await this.#backend.release(
        entries.map((entry, i) => ({
          taskId: entry.lease.taskId,
          token: entry.lease.token,
          agentId: this.agentId,
          ...withLogs(carried[i]),
        })),
      );
      entries.forEach((entry, index) => {
        const outcome = answerFor(outcomes, index, entry.lease.taskId);
        if (outcome === undefined) return;
        if (outcome.status === 'ok') {
          entry.log.info({ state: outcome.state }, 'task released at shutdown');
        } else {
          entry.log.warn(
            { status: outcome.status, reason: outcome.reason },
            'task not released at shutdown',
          );
        }
      });
    } catch (error) {
      // Deregistering the agent releases its leases too; this is only the faster path.
      this.#reportError(error, 'release leases at shutdown');
    }
  }

  async #register(): Promise<void> {
    const version = batonVersion();
    await this.#backend.registerAgent({
      id: this.agentId,
      name: this.#name,
      capabilities: this.#capabilities,
      concurrency: this.#concurrency,
      labels: this.#labels,
      host: hostname(),
      pid: process.pid,
      ...(version === null ? {} : { version }),
    });
  }

  /** Heartbeat from a worker thread when asked to and possible; else the loop does (logged). */
  async #startHeartbeatThread(): Promise<void> {
    if (!this.#useHeartbeatThread) return;
    const location = this.#backend.location;
    if (location === null) {
      this.#log.debug(
        { backend: this.#backend.name },
        'heartbeats run on the event loop: this store cannot be reopened from another thread (in-memory, or an injected clock)',
      );
      return;
    }
    let heartbeat: ThreadHeartbeat;
    try {
      heartbeat = heartbeatInThread({
        location,
        agentId: this.agentId,
        intervalMs: this.#heartbeatIntervalMs,
        onLost: () => {
          this.#reRegister().catch((error: unknown) =>
            this.#reportError(error, 'register after lost'),
          );
        },
        onError: (error) => this.#reportError(error, 'heartbeat thread'),
        onDied: (error) => {
          this.#heartbeatThread = undefined;
          this.#log.warn(
            { err: error },
            'the heartbeat thread died: heartbeats run on the event loop from now on',
          );
        },
      });
    } catch (error) {
      this.#log.warn(
        { err: error },
        'heartbeats run on the event loop: no heartbeat thread could be created; a handler that blocks the loop for longer than agentTtlMs gets its agent declared lost',
      );
      return;
    }
    // stop() stops it whatever its state, also while it starts.
    this.#heartbeatHandle = heartbeat;
    try {
      // On a starved machine a new thread can take many seconds to load its modules; the loop
      // heartbeats meanwhile, and the thread takes over whenever it is up.
      await heartbeat.started;
    } catch (error) {
      if (this.#state === 'running') {
        this.#log.warn(
          { err: error },
          'heartbeats run on the event loop: the heartbeat thread did not start; a handler that blocks the loop for longer than agentTtlMs gets its agent declared lost',
        );
      }
      return;
    }
    if (this.#state === 'running') {
      this.#heartbeatThread = heartbeat;
      if (this.#abandoned.size > 0) heartbeat.setAbandonedHandlers(this.#abandoned.size);
    }
  }

  /** The agent was declared lost (it missed heartbeats): register again and carry on. */
  #reRegister(): Promise<void> {
    this.#reRegistering ??= (async () => {
      try {
        if (this.#state !== 'running') return;
        this.#log.warn('agent was declared lost (missed heartbeats); registering it again');
        await this.#register();
      } finally {
        this.#reRegistering = undefined;
      }
    })();
    return this.#reRegistering;
  }

  // ── The loop ────────────────────────────────────────────────────────────────────────────

  /**
   * Claim, start what was claimed, repeat. A worker of {@link PIPELINE_MIN_CONCURRENCY} slots or
   * more keeps up to two claims in flight, each for at most half its slots: while the store
   * answers one, this process starts and settles the other's tasks, so the two take turns less
   * (part of `npm run bench:redis` processing going from 1.33x to 1.71-1.76x BullMQ; see
   * docs/benchmarks.md).
   */
  async #loop(): Promise<void> {
    while (this.#state === 'running') {
      const failure = this.#claimFailure;
      if (failure !== undefined) {
        this.#claimFailure = undefined;
        let error = failure.error;
        if (error instanceof AgentLostError) {
          try {
            await this.#reRegister();
            continue;
          } catch (registerError) {
            error = registerError;
          }
        }
        await this.#backOff(error);
        continue;
      }
      if (this.#claims.size === 0 && this.#lastClaimEmpty) {
        if (this.#isIdle()) this.#resolveIdle();
        try {
          await this.#waitForWork();
        } catch (error) {
          if (this.#state !== 'running') break;
          await this.#backOff(error);
        }
        // Woken (work, a finished task, onIdle) or timed out: claim again.
        this.#lastClaimEmpty = false;
        continue;
      }
      const free = this.#freeSlots() - this.#claimingSlots;
      // A second claim only while the last one came back full: a queue that is nearly empty
      // (an idle worker woken for one task, say) gets one claim, not two that Redis runs back to
      // back before answering either.
      if (
        free > 0 &&
        this.#claims.size < this.#claimsAtOnce &&
        !this.#lastClaimEmpty &&
        (this.#claims.size === 0 || this.#lastClaimFull)
      ) {
        if (this.#settler.pending) {
          // Outcomes of handlers that just returned go to the store first: the store then never
          // sees a slot leased twice (a next task running before the last one's outcome), its
          // times keep a slot's tasks in order, and every slot freed in this turn is claimed
          // for in one call.
          await this.#settler.whenSent();
          continue;
        }
        this.#claim(Math.min(free, this.#claimSize));
        continue;
      }
      // Wait for a slot to free, a claim to answer, or stop (#wakeLoop).
      await new Promise<void>((resolve) => {
        this.#slotFreed = resolve;
      });
    }
    // Claims still in flight start their tasks when they answer; stop() then settles them.
    await Promise.all(this.#claims);
  }

  /** Report a failure of the loop and sleep before going on, longer after each in a row. */
  async #backOff(error: unknown): Promise<void> {
    this.#reportError(error, 'worker loop');
    this.#backoffMs = Math.min(
      this.#backoffMs === 0 ? 100 : this.#backoffMs * 2,
      MAX_LOOP_BACKOFF_MS,
    );
    try {
      await sleep(this.#backoffMs, undefined, { signal: this.#stopController.signal });
    } catch {
      // stopped during backoff
    }
  }

  /**
   * Send one claim of up to `max` tasks: its slots are reserved until it answers, then its tasks
   * start and the loop wakes. A failure is left in `#claimFailure` for the loop. A claim that
   * answers after `stop()` began starts nothing: no task starts once the worker is stopping, so
   * its leases are given back at once (the attempt not counted), and `stop()` waits for that.
   */
  #claim(max: number): void {
    this.#claimingSlots += max;
    const seq = ++this.#claimsSent;
    const claim = this.#backend
      .claim({
        agentId: this.agentId,
        capabilities: this.#capabilities,
        types: this.#types,
        max,
        leaseTtlMs: this.#leaseTtlMs,
      })
      .then(
        async (leases) => {
          this.#backoffMs = 0;
          this.#lastClaimEmpty = leases.length === 0;
          if (leases.length === 0) this.#lastEmptyClaim = Math.max(this.#lastEmptyClaim, seq);
          this.#lastClaimFull = leases.length === max;
          if (this.#state !== 'running') {
            await this.#giveBackUnstarted(leases);
            return;
          }
          for (const lease of leases) this.#startTask(lease);
        },
        (error: unknown) => {
          this.#claimFailure ??= { error };
        },
      )
      .finally(() => {
        this.#claimingSlots -= max;
        this.#claims.delete(claim);
        this.#wakeLoop();
      });
    this.#claims.add(claim);
  }

  async #waitForWork(): Promise<void> {
    if (this.#state !== 'running') return;
    const wake = new AbortController();
    this.#wake = wake;
    try {
      await this.#backend.waitForWork({
        capabilities: this.#capabilities,
        types: this.#types,
        // So tasks its claim left to better-fitting agents (routing) do not wake it at once.
        agentId: this.agentId,
        timeoutMs: this.#idleWaitMs,
        signal: wake.signal,
      });
    } catch (error) {
      if (!wake.signal.aborted) throw error;
    } finally {
      if (this.#wake === wake) this.#wake = undefined;
    }
  }

  /**
   * How many tasks to claim now. A slot frees when its handler returns, not when the store has
   * acknowledged the outcome, so the next claim travels while the last batch's completions do
   * (the store and this process then work at the same time instead of taking turns). Leases
   * awaiting that acknowledgement are capped at another `concurrency`.
   */
  #freeSlots(): number {
    return Math.min(this.#concurrency - this.#busy, 2 * this.#concurrency - this.#inFlight.size);
  }

  /** Wake the loop: a slot was freed or a claim answered (claim again now), or stop. */
  #wakeLoop(): void {
    this.#wake?.abort();
    const slotFreed = this.#slotFreed;
    this.#slotFreed = undefined;
    slotFreed?.();
  }

  #isIdle(): boolean {
    return this.#inFlight.size === 0 && this.#claims.size === 0 && this.#lastClaimEmpty;
  }

  #resolveIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // ── One task ────────────────────────────────────────────────────────────────────────────

  #startTask(lease: Lease): void {
    const parent = this.#log;
    let log: Logger | undefined;
    let controller: AbortController | undefined;
    const entry: InFlight = {
      // Keyed by lease, not task: after a lost lease the same task may be claimed again by
      // this worker while the stale attempt's handler is still winding down.
      key: `${lease.taskId}#${lease.token}`,
      lease,
      // Made on first use, like the logger: most handlers never look at their signal.
      get controller() {
        return (controller ??= new AbortController());
      },
      onAbort: undefined,
      startedAt: performance.now(),
      handlerMs: undefined,
      // Made on first use: most tasks log nothing at the default level, and a child logger per
      // task is a measurable share of a no-op task's cost.
      get log() {
        // The key names the task for a person reading the log (`build`, not `tsk_01…`).
        return (log ??= parent.child({
          taskId: lease.taskId,
          ...(lease.task.key === null ? {} : { key: lease.task.key }),
          type: lease.task.type,
          attempt: lease.attempt,
        }));
      },
      taskLog: undefined,
      carried: undefined,
      timer: undefined,
      abortKind: undefined,
      settling: false,
      done: Promise.resolve(),
      holdsSlot: true,
      claimsBeforeSettle: undefined,
    };
    this.#inFlight.set(entry.key, entry);
    // The renew timer keeps the process alive while there are leases to renew: a handler that
    // awaits something with no handle behind it (a timer-less promise) must not let Node exit
    // in the middle of its task, leaving the task running and the agent looking healthy.
    if (this.#inFlight.size === 1) this.#heartbeatTimer?.ref();
    this.#busy++;
    if (parent.isLevelEnabled('info')) {
      entry.log.info({ runId: lease.task.runId }, 'task claimed');
    }
    this.#emit('task:claimed', lease);
    const timeoutMs = lease.task.timeoutMs;
    if (timeoutMs !== null && timeoutMs > 0) {
      entry.timer = setTimeout(
        () => this.#abortEntry(entry, 'timeout', new TimeoutError(timeoutMs)),
        timeoutMs,
      );
      entry.timer.unref();
    }
    entry.done = this.#execute(entry)
      .catch((error: unknown) => this.#reportError(error, `task ${lease.taskId}`))
      .finally(() => {
        clearTimeout(entry.timer);
        this.#freeSlot(entry);
        this.#inFlight.delete(entry.key);
        if (this.#inFlight.size === 0) this.#heartbeatTimer?.unref();
        // Our own completion may have made dependents ready: claim again before calling idle,
        // unless a claim sent after the outcome (so the store saw the outcome first) is under
        // way or came back. Then only a loop waiting for a slot resumes (fewer leases await an
        // answer), and one waiting for work keeps waiting: the store wakes it for new work. At
        // the end of a run, a fleet of one-slot workers otherwise makes two empty claims each.
        if (entry.claimsBeforeSettle !== undefined && this.#claimsSent > entry.claimsBeforeSettle) {
          const slotFreed = this.#slotFreed;
          this.#slotFreed = undefined;
          slotFreed?.();
          if (this.#isIdle()) this.#resolveIdle();
          return;
        }
        this.#lastClaimEmpty = false;
        this.#wakeLoop();
      });
  }

  #freeSlot(entry: InFlight): void {
    if (!entry.holdsSlot) return;
    entry.holdsSlot = false;
    this.#busy--;
    // Only a loop waiting for a slot resumes; one waiting for work keeps waiting.
    const slotFreed = this.#slotFreed;
    this.#slotFreed = undefined;
    slotFreed?.();
  }

  #abortEntry(entry: InFlight, kind: AbortKind, reason: BatonError): void {
    if (entry.abortKind !== undefined) return;
    entry.abortKind = kind;
    entry.controller.abort(reason);
    entry.onAbort?.();
  }

  /**
   * Give up on a handler that ignored its abort: free its slot (the caller returns, and the
   * entry leaves `#inFlight`), say so, and report the agent degraded until the handler returns.
   */
  #abandon(entry: InFlight, handlerDone: Promise<HandlerOutcome>, waitedMs: number): void {
    const abortedBy = entry.abortKind ?? 'abort';
    this.#abandoned.add(entry.key);
    const abandoned = this.#abandoned.size;
    entry.log.error(
      { abortedBy, waitedMs, abandoned },
      `the handler ignored its abort (${abortedBy}) for ${waitedMs} ms: its slot is freed and the handler abandoned; ` +
        `its outcome was recorded when it was aborted. Make the handler stop when ctx.signal fires.`,
    );
    this.#emit('task:abandoned', { lease: entry.lease, abortedBy, waitedMs, abandoned });
    this.#reportAbandoned();
    this.#backend
      .recordEvent({
        type: 'agent.degraded',
        agentId: this.agentId,
        data: {
          reason: 'handler_abandoned',
          taskId: entry.lease.taskId,
          attempt: entry.lease.attempt,
          abortedBy,
          waitedMs,
          abandonedHandlers: abandoned,
        },
      })
      .catch((error: unknown) => this.#reportError(error, 'record agent.degraded'));
    void handlerDone.then(() => {
      this.#abandoned.delete(entry.key);
      entry.log.warn(
        { abandoned: this.#abandoned.size },
        'an abandoned handler returned at last; its outcome is ignored',
      );
      this.#reportAbandoned();
    });
  }

  /** Tell the store how many abandoned handlers still run (the agent's health says `degraded`). */
  #reportAbandoned(): void {
    this.#sampler.abandonedHandlers = this.#abandoned.size;
    this.#heartbeatThread?.setAbandonedHandlers(this.#abandoned.size);
  }

  async #execute(entry: InFlight): Promise<void> {
    const { lease } = entry;
    const handler = Object.hasOwn(this.#handlers, lease.task.type)
      ? this.#handlers[lease.task.type]
      : undefined;
    if (handler === undefined) {
      // Claims name only the types this worker handles, so only a backend that ignored that
      // filter gets here: fail loudly rather than run the task with the wrong code.
      const known = this.#types;
      await this.#settleFailure(
        entry,
        {
          message:
            `no handler for task type "${lease.task.type}" on worker ${this.agentId}; ` +
            `it handles: ${known.length > 0 ? known.map((k) => `"${k}"`).join(', ') : '(none)'}. ` +
            `The worker claims only the types it handles, so the ${this.#backend.name} backend ` +
            `ignored its types filter: a bug in that adapter; report it.`,
          code: 'BATON_NO_HANDLER',
          name: 'NoHandlerError',
          retryable: false,
        },
        'failed',
      );
      return;
    }

    const costs = new AttemptCosts(this.#ledger, lease);
    const logs = this.#logs;
    const ctx: TaskContext = {
      task: lease.task,
      payload: lease.task.payload,
      attempt: lease.attempt,
      agentId: this.agentId,
      lease: { taskId: lease.taskId, token: lease.token, agentId: lease.agentId },
      get signal() {
        return entry.controller.signal;
      },
      dependencies: lease.dependencies,
      spawn: (tasks) =>
        this.#backend.submitTasks(
          tasks,
          lease.task.runId === null ? {} : { runId: lease.task.runId },
        ),
      get log() {
        return (entry.taskLog ??= new AttemptLog(
          { taskId: lease.taskId, token: lease.token, agentId: lease.agentId },
          logs.wrote,
        )).api;
      },
      costs,
    };
    // Reservations the handler left open are given back when it returns: their calls are over
    // (the sweep would release them too). No extra step when there are none.
    const ended = (outcome: HandlerOutcome): HandlerOutcome | Promise<HandlerOutcome> => {
      entry.handlerMs = this.#durationMs(entry);
      if (!costs.holding) return outcome;
      return costs.releaseAll().then(
        () => outcome,
        (e: unknown) => {
          entry.log.warn({ err: e }, 'giving back budget reservations failed; the sweep will');
          return outcome;
        },
      );
    };
    const handlerDone: Promise<HandlerOutcome> = (async () => handler(ctx))().then(
      (value) => ended({ ok: true as const, value }),
      (error: unknown) => ended({ ok: false as const, error }),
    );
    // What a handler writes after its attempt was settled (an aborted one winding down) is sent
    // on its own; a partial last line once it returns.
    void handlerDone.then(() => entry.taskLog?.endPartial());
    const aborted = new Promise<'aborted'>((resolve) => {
      if (entry.abortKind !== undefined) resolve('aborted');
      else entry.onAbort = () => resolve('aborted');
    });

    const first = await Promise.race([handlerDone, aborted]);
    if (first === 'aborted') {
      const abortedAt = performance.now();
      await this.#settleAbort(entry);
      // The slot stays taken until the handler really returns (concurrency counts running code),
      // unless it ignores its signal for longer than abandonAfterMs.
      const waitMs = Math.max(0, this.#abandonAfterMs - (performance.now() - abortedAt));
      let timer: NodeJS.Timeout | undefined;
      const returned = await Promise.race([
        handlerDone.then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), waitMs))),
      ]);
      clearTimeout(timer);
      if (!returned) this.#abandon(entry, handlerDone, Math.round(performance.now() - abortedAt));
      return;
    }
    if (entry.settling) return; // aborted for shutdown in the same tick; stop() releases it
    this.#freeSlot(entry); // the handler has returned: claim more while its outcome is sent
    if (first.ok) {
      await this.#settleSuccess(entry, first.value);
    } else if (isDeferral(first.error)) {
      await this.#settleDeferral(entry, first.error);
    } else {
      const error = toTaskError(first.error);
      await this.#settleFailure(entry, error, 'failed', retryDelayOf(first.error));
    }
  }

  async #settleAbort(entry: InFlight): Promise<void> {
    const { lease } = entry;
    const reason: unknown = entry.controller.signal.reason;
    const message = reason instanceof Error ? reason.message : String(reason);
    switch (entry.abortKind) {
      case 'timeout':
        await this.#settleFailure(
          entry,
          {
            message,
            code: 'BATON_TIMEOUT',
            name: 'TimeoutError',
            retryable: true,
          },
          'timed_out',
        );
        return;
      case 'cancelled':
        entry.settling = true;
        entry.log.info({ reason: message, durationMs: this.#durationMs(entry) }, 'task cancelled');
        this.#emit('task:cancelled', { lease, reason: message });
        return;
      case 'lease_lost':
        entry.settling = true;
        this.#leaseLost(entry, message);
        return;
      case 'shutdown':
      case undefined:
        // stop() releases the lease.
        return;
    }
  }

  async #settleSuccess(entry: InFlight, value: unknown): Promise<void> {
    const { lease } = entry;
    entry.settling = true;
    const result = (value === undefined ? null : value) as Json;
    const carrying = this.#carriedLogs(entry);
    const logs = carrying instanceof Promise ? await carrying : carrying;
    let outcome: SettleOutcome;
    try {
      outcome = await this.#untilStoreAnswers(entry, 'complete', () => {
        entry.claimsBeforeSettle = this.#claimsSent;
        return this.#settler.complete({
          taskId: lease.taskId,
          token: lease.token,
          agentId: this.agentId,
          result,
          runMs: entry.handlerMs ?? this.#durationMs(entry),
          ...withLogs(logs),
        });
      });
      entry.carried = undefined;
    } catch (error) {
      // The backend refused the result itself (too large, not JSON): that will not get better
      // on a retry, so record it as this attempt's failure.
      if (error instanceof BatonError && !error.retryable) {
        entry.settling = false;
        await this.#settleFailure(
          entry,
          {
            ...toTaskError(error),
            message: `the handler's result was refused: ${error.message}`,
            retryable: false,
          },
          'failed',
        );
        return;
      }
      throw error;
    }
    const durationMs = this.#durationMs(entry);
    if (outcome.status === 'ok') {
      if (this.#log.isLevelEnabled('info')) {
        entry.log.info({ durationMs, state: outcome.state }, 'task succeeded');
      }
      this.#emit('task:succeeded', { lease, result, durationMs });
    } else {
      this.#refused(entry, outcome, 'complete');
    }
  }

  async #settleFailure(
    entry: InFlight,
    error: TaskError,
    outcome: 'failed' | 'timed_out',
    /** The handler's own wait before the retry (its error's `retryAfterMs`); else the task's backoff. */
    retryDelayMs?: number,
  ): Promise<void> {
    const { lease } = entry;
    entry.settling = true;
    const carrying = this.#carriedLogs(entry);
    const logs = carrying instanceof Promise ? await carrying : carrying;
    const input: FailInput = {
      taskId: lease.taskId,
      token: lease.token,
      agentId: this.agentId,
      error,
      retryable: error.retryable !== false,
      outcome,
      // Until now for an attempt that timed out: its handler has not returned.
      runMs: entry.handlerMs ?? this.#durationMs(entry),
      ...withLogs(logs),
    };
    if (retryDelayMs !== undefined)
      input.retryDelayMs = Math.min(retryDelayMs, MAX_RELEASE_DELAY_MS);
    const answer = await this.#untilStoreAnswers(entry, 'fail', () => {
      entry.claimsBeforeSettle = this.#claimsSent;
      return this.#settler.fail(input);
    });
    entry.carried = undefined;
    const durationMs = this.#durationMs(entry);
    if (answer.status === 'ok') {
      const willRetry = answer.state !== 'failed';
      const fields = {
        durationMs,
        outcome,
        willRetry,
        state: answer.state,
        error: { message: error.message, code: error.code, name: error.name },
      };
      if (willRetry) entry.log.warn(fields, 'task attempt failed; retrying');
      else entry.log.warn(fields, 'task failed');
      this.#emit('task:failed', { lease, error, willRetry });
    } else {
      this.#refused(entry, answer, 'fail');
    }
  }

  /**
   * The handler deferred (threw a {@link DeferError}): give the lease back without counting the
   * attempt; the task waits `delayMs` (at most a year) before it can be claimed again. Sent with
   * the other settles of the tick, as one `release([...])`.
   */
  async #settleDeferral(entry: InFlight, deferral: Deferral): Promise<void> {
    const { lease } = entry;
    entry.settling = true;
    const delayMs = Math.min(Math.max(0, Math.round(deferral.delayMs)), MAX_RELEASE_DELAY_MS);
    const carrying = this.#carriedLogs(entry);
    const logs = carrying instanceof Promise ? await carrying : carrying;
    const answer = await this.#untilStoreAnswers(entry, 'release', () =>
      this.#settler.release({
        taskId: lease.taskId,
        token: lease.token,
        agentId: this.agentId,
        delayMs,
        reason: `deferred: ${deferral.message}`,
        ...withLogs(logs),
      }),
    );
    entry.carried = undefined;
    if (answer.status === 'ok') {
      entry.log.info(
        { durationMs: this.#durationMs(entry), delayMs, reason: deferral.message },
        'task deferred; released without counting the attempt',
      );
      this.#emit('task:deferred', { lease, delayMs, reason: deferral.message });
    } else {
      this.#refused(entry, answer, 'release');
    }
  }

  /**
   * The lines the call that settles `entry` carries: what its handler wrote that was not sent
   * yet (a partial last line ended), after any append of its lines under way has its answer, so
   * they reach the store in order. Synchronous when no append is under way (the usual case), so
   * the settle is queued in the same tick as before. Lines over what one call may carry are sent
   * first on their own.
   */
  #carriedLogs(entry: InFlight): LogLineInput[] | undefined | Promise<LogLineInput[] | undefined> {
    const log = entry.taskLog;
    if (log === undefined) return entry.carried;
    const carry = (lines: LogLineInput[]): LogLineInput[] | undefined => {
      if (lines.length > 0)
        entry.carried = entry.carried === undefined ? lines : entry.carried.concat(lines);
      return entry.carried;
    };
    const rest = async (first: LogLineInput[] | undefined): Promise<LogLineInput[] | undefined> => {
      let lines = first;
      if (lines === undefined) {
        await this.#logs.detach(log);
        log.endPartial();
        this.#logs.forget(log);
        lines = log.take();
      }
      while (log.hasPending) {
        await this.#logs.sendNow(log.ref, lines);
        lines = log.take();
      }
      return carry(lines);
    };
    if (log.sending !== undefined) return rest(undefined);
    log.endPartial();
    this.#logs.forget(log);
    const lines = log.take();
    return log.hasPending ? rest(lines) : carry(lines);
  }

  /**
   * Send a settle call again while the store cannot be reached: the attempt's outcome is only
   * known here, and the lease may still be ours when the store returns. Fencing makes a resend
   * safe (a complete that did land before its reply was lost is refused, not recorded twice).
   * Meanwhile the lease is renewed with the others. Gives up once the lease must have run out.
   */
  async #untilStoreAnswers(
    entry: InFlight,
    call: 'complete' | 'fail' | 'release',
    send: () => Promise<SettleOutcome>,
  ): Promise<SettleOutcome> {
    const giveUpAt = performance.now() + this.#leaseTtlMs;
    for (
      let delayMs = SETTLE_RETRY_FIRST_MS;
      ;
      delayMs = Math.min(delayMs * 2, SETTLE_RETRY_MAX_MS)
    ) {
      try {
        return await send();
      } catch (error) {
        if (!this.#noteUnreachable(error) || performance.now() + delayMs > giveUpAt) throw error;
        entry.log.warn(
          { retryInMs: delayMs, error: error.message },
          `store unavailable: ${call} will be sent again`,
        );
        entry.settling = false; // renewed with the other leases while we wait
        await sleep(delayMs);
        entry.settling = true;
      }
    }
  }

  #refused(entry: InFlight, outcome: SettleOutcome, call: 'complete' | 'fail' | 'release'): void {
    if (outcome.status === 'ok') return;
    if (outcome.status === 'cancelled') {
      entry.log.info(
        { reason: outcome.reason },
        `task was cancelled; its ${call} was not recorded`,
      );
      this.#emit('task:cancelled', { lease: entry.lease, reason: outcome.reason });
      return;
    }
    this.#leaseLost(entry, `${outcome.status}: ${outcome.reason}`);
  }

  #leaseLost(entry: InFlight, reason: string): void {
    entry.log.warn(
      { reason, durationMs: this.#durationMs(entry) },
      'lease lost: the outcome of this attempt was not recorded',
    );
    this.#emit('task:lease-lost', { lease: entry.lease, reason });
  }

  #durationMs(entry: InFlight): number {
    return Math.round(performance.now() - entry.startedAt);
  }

  // ── Timers ──────────────────────────────────────────────────────────────────────────────

  #heartbeatTick(): void {
    if (this.#heartbeatRunning !== undefined) return; // the previous renew is still out
    this.#heartbeatRunning = this.#renewAll()
      .catch((error: unknown) => this.#reportError(error, 'renew leases'))
      .finally(() => {
        this.#heartbeatRunning = undefined;
      });
  }

  async #renewAll(): Promise<void> {
    const entries = [...this.#inFlight.values()].filter((entry) => !entry.settling);
    const refs: LeaseRef[] = entries.map((entry) => ({
      taskId: entry.lease.taskId,
      token: entry.lease.token,
    }));
    try {
      // Even with nothing to renew: the renew is the proof that this loop makes progress (a
      // heartbeat only proves the process alive). The report rides along unless the heartbeat
      // thread sends it. A lost agent is told by its next claim, or by the heartbeat thread.
      const outcomes =
        this.#heartbeatThread === undefined
          ? await this.#backend.renew(this.agentId, refs, this.#leaseTtlMs, this.#sampler.sample())
          : await this.#backend.renew(this.agentId, refs, this.#leaseTtlMs);
      entries.forEach((entry, index) => {
        const outcome = answerFor(outcomes, index, entry.lease.taskId);
        // Settled while the renew was out: the settle's own answer is the one that counts.
        if (outcome === undefined || entry.settling || outcome.status === 'ok') return;
        if (outcome.status === 'cancelled') {
          this.#abortEntry(
            entry,
            'cancelled',
            new CancelledError(outcome.reason || 'task cancelled'),
          );
        } else if (this.#pastTimeout(entry)) {
          // The backend's sweep timed the attempt out a moment before our own timer fired:
          // the handler should see why it stops, not a bare lost lease.
          this.#abortEntry(entry, 'timeout', new TimeoutError(entry.lease.task.timeoutMs ?? 0));
        } else {
          this.#abortEntry(
            entry,
            'lease_lost',
            new LeaseLostError(entry.lease.taskId, entry.lease.token, outcome.reason),
          );
        }
      });
    } catch (error) {
      if (error instanceof AgentLostError) {
        await this.#reRegister();
        return;
      }
      throw error;
    }
  }

  #pastTimeout(entry: InFlight): boolean {
    const timeoutMs = entry.lease.task.timeoutMs;
    return timeoutMs !== null && timeoutMs > 0 && performance.now() - entry.startedAt >= timeoutMs;
  }

  // ── Reporting ───────────────────────────────────────────────────────────────────────────

  #reportError(error: unknown, where: string): void {
    this.#noteUnreachable(error);
    this.#log.error({ err: error, where }, `worker error in ${where}`);
    if (this.listenerCount('error') > 0) this.#emit('error', error);
  }

  /** Whether `error` says the store could not be reached; if so, tell the sweeper. */
  #noteUnreachable(error: unknown): error is BatonError {
    const unreachable = error instanceof BatonError && error.code === 'BATON_STORE_UNAVAILABLE';
    if (unreachable) this.#sweeper?.sweeper.noteUnreachable();
    return unreachable;
  }

  /** Emit without letting a throwing listener break the loop. */
  #emit<K extends keyof WorkerEventMap>(event: K, ...args: WorkerEventMap[K]): void {
    try {
      (this.emit as (event: K, ...args: WorkerEventMap[K]) => boolean)(event, ...args);
    } catch (error) {
      this.#log.error({ err: error, event }, `a "${event}" listener threw`);
    }
  }
}

/** The `logs` field of a settle item that carries these lines (none: no field). */
function withLogs(logs: LogLineInput[] | undefined): { logs?: LogLineInput[] } {
  return logs === undefined || logs.length === 0 ? {} : { logs };
}

/** The answer for the `index`-th item (adapters answer in input order; fall back to the task id). */
function answerFor(
  outcomes: SettleOutcome[],
  index: number,
  taskId: string,
): SettleOutcome | undefined {
  const answer = outcomes[index];
  return answer?.taskId === taskId ? answer : outcomes.find((o) => o.taskId === taskId);
}

function validateOptions(options: WorkerOptions): void {
  const issues: ValidationIssue[] = [];
  if (typeof options.handlers !== 'object' || options.handlers === null) {
    issues.push({
      path: 'handlers',
      message: 'is required: an object of task type → handler function',
    });
  } else {
    for (const [type, handler] of Object.entries(options.handlers)) {
      if (typeof handler !== 'function') {
        issues.push({ path: `handlers.${type}`, message: 'must be a function' });
      }
    }
  }
  const positiveInt = (name: keyof WorkerOptions, value: unknown): void => {
    if (
      value !== undefined &&
      (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    ) {
      issues.push({
        path: name,
        message: `must be a positive integer, got ${describeValue(value)}`,
      });
    }
  };
  const nonNegative = (name: keyof WorkerOptions, value: unknown): void => {
    if (
      value !== undefined &&
      (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    ) {
      issues.push({ path: name, message: `must be a number ≥ 0, got ${describeValue(value)}` });
    }
  };
  positiveInt('concurrency', options.concurrency);
  positiveInt('leaseTtlMs', options.leaseTtlMs);
  positiveInt('heartbeatIntervalMs', options.heartbeatIntervalMs);
  positiveInt('stallAfterMs', options.stallAfterMs);
  positiveInt('agentTtlMs', options.agentTtlMs);
  if (options.heartbeatThread !== undefined && typeof options.heartbeatThread !== 'boolean') {
    issues.push({
      path: 'heartbeatThread',
      message: `must be true or false, got ${describeValue(options.heartbeatThread)}`,
    });
  }
  positiveInt('sweepIntervalMs', options.sweepIntervalMs);
  positiveInt('idleWaitMs', options.idleWaitMs);
  nonNegative('shutdownGraceMs', options.shutdownGraceMs);
  positiveInt('abandonAfterMs', options.abandonAfterMs);
  const heartbeat = options.heartbeatIntervalMs ?? 1_000;
  const leaseTtl = options.leaseTtlMs ?? 30_000;
  const agentTtl = options.agentTtlMs ?? DEFAULT_AGENT_TTL_MS;
  if (heartbeat >= leaseTtl) {
    issues.push({
      path: 'heartbeatIntervalMs',
      message: `(${heartbeat}) must be shorter than leaseTtlMs (${leaseTtl}), or leases expire between renewals`,
    });
  }
  const stallAfter = options.stallAfterMs ?? defaultStallAfterMs(heartbeat);
  if (stallAfter <= heartbeat) {
    issues.push({
      path: 'stallAfterMs',
      message: `(${stallAfter}) must be longer than heartbeatIntervalMs (${heartbeat}), or a healthy agent looks stalled between renewals`,
    });
  }
  if (heartbeat >= agentTtl) {
    issues.push({
      path: 'heartbeatIntervalMs',
      message: `(${heartbeat}) must be shorter than agentTtlMs (${agentTtl}), or the agent is declared lost between heartbeats`,
    });
  }
  if (issues.length > 0) {
    throw new ValidationError(
      issues,
      `invalid worker options:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
    );
  }
}

/** Ten seconds, or five heartbeat intervals when that is longer. */
function defaultStallAfterMs(heartbeatIntervalMs: number): number {
  return Math.max(DEFAULT_STALL_AFTER_MS, 5 * heartbeatIntervalMs);
}

/** What a handler's {@link DeferError} asks for. */
interface Deferral {
  delayMs: number;
  message: string;
}

/**
 * Whether a handler threw a {@link DeferError}, also one from another copy of this package
 * (same code, a numeric `delayMs`).
 */
function isDeferral(thrown: unknown): thrown is Deferral {
  if (thrown instanceof DeferError) return true;
  if (!(thrown instanceof Error)) return false;
  const carrier = thrown as Error & { code?: unknown; delayMs?: unknown };
  return (
    carrier.code === 'BATON_DEFERRED' &&
    typeof carrier.delayMs === 'number' &&
    Number.isFinite(carrier.delayMs)
  );
}
