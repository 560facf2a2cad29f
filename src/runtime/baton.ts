/**
 * The client: the producer API (submit tasks and runs, wait for them, cancel them, follow the
 * event stream, read state) and the factory for workers. It reaches the store only through the
 * backend seam (`src/backends/backend.ts`).
 *
 * @example
 * ```ts
 * const baton = await Baton.open();                     // sqlite:.baton/baton.db
 * const worker = baton.worker({ handlers: { echo: ({ payload }) => payload } });
 * await worker.start();
 * const { id } = await baton.submit({ type: 'echo', payload: { hi: 1 } });
 * const done = await baton.wait(id);                    // TaskRecord, state 'succeeded'
 * await baton.close();                                  // stops the worker, closes the store
 * ```
 */
import type { Logger } from 'pino';
import type { CostReport, UsageRecord } from '../core/ledger.ts';
import { checkPrices, type PriceOverrides } from '../core/pricing.ts';
import type {
  Backend,
  CostQuery,
  ReadAgentLogsOptions,
  ReadLogsOptions,
  RunFilter,
  RunPage,
  Stats,
  SubmittedRun,
  SubmittedTask,
  TaskFilter,
  TaskPage,
} from '../backends/backend.ts';
import { isRunId } from '../backends/ids.ts';
import { DEFAULT_STORE_URL, openBackend } from '../backends/open.ts';
import { BatonError, NotFoundError, TimeoutError } from '../core/errors.ts';
import type { RoutingPolicy } from '../core/routing.ts';
import type {
  AgentRecord,
  AttemptRecord,
  BatonEvent,
  RunRecord,
  RunSpec,
  TaskRecord,
  TaskSpec,
} from '../core/types.ts';
import { isTerminal } from '../core/types.ts';
import type { LogLine, LogPage } from '../core/logs.ts';
import { EventFollower } from './event-follower.ts';
import { Ledger } from './ledger.ts';
import { runLogLines, taskLogLines, type LogsOptions } from './log-reader.ts';
import { Worker, getDefaultLogger, type WorkerOptions } from './worker.ts';

export interface OpenOptions {
  /** Isolates queues that share one store. @default 'default' */
  namespace?: string;
  /** Time source in epoch ms; tests inject a controllable clock. @default Date.now */
  clock?: () => number;
  /** Where the client and its workers log. @default pino on stderr at `BATON_LOG_LEVEL` (or `warn`) */
  logger?: Logger;
  /** Largest payload or result, in bytes of JSON. @default 1 MiB */
  maxPayloadBytes?: number;
  /**
   * Knobs of the claim-time routing rule (docs/routing.md): which of several capable agents
   * takes a task.
   * @default DEFAULT_ROUTING (`src/core/routing.ts`)
   */
  routing?: Partial<RoutingPolicy>;
  /**
   * Prices of models by `provider:model` (or `provider:*`), in USD per million tokens, that
   * override or extend the maintained price table (docs/costs.md): the default of every worker
   * this client makes (`WorkerOptions.prices`).
   * @default none: the table's prices
   * @example { 'openai:gpt-4.1-mini': { inputMtok: 0.3, outputMtok: 1.2 } }
   */
  prices?: PriceOverrides;
}

export interface WaitOptions {
  /** Give up after this long with a `WaitTimeoutError` (code `BATON_TIMEOUT`). @default no limit */
  timeoutMs?: number;
  /** Abort the wait; it rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface EventsOptions {
  /**
   * Where to start: after this event id (exclusive), or `'now'` for only the events written
   * after the iteration starts (its first `next()`; no history is replayed). To also see the
   * events of something you do just before iterating (a submit), take {@link Baton.lastEventId}
   * before doing it and pass that id.
   * @default the start of the stream
   */
  since?: string;
  /** Keep waiting for new events once caught up; `false` ends the iteration when caught up. @default true */
  follow?: boolean;
  /** Ends the iteration (without an error). */
  signal?: AbortSignal;
  /** Events read per round trip. @default 1000 */
  pageSize?: number;
}

/** `wait` gave up before the task or run finished. */
export class WaitTimeoutError extends TimeoutError {
  /** State of the task or run when the wait gave up. */
  readonly state: string;
  constructor(id: string, timeoutMs: number, state: string) {
    super(timeoutMs);
    this.message = `gave up waiting for ${id} after ${timeoutMs} ms: it is still ${state}. Wait longer (timeoutMs), or check that a worker with the right handlers and capabilities is running.`;
    this.state = state;
  }
}

const EVENTS_BLOCK_MS = 1_000;

export class Baton {
  readonly backend: Backend;
  readonly #log: Logger;
  readonly #workers = new Set<Worker>();
  readonly #follower: EventFollower;
  /** The `prices` option: every worker's default. */
  readonly #prices: PriceOverrides | undefined;
  #ledger: Ledger | undefined;
  #closing: Promise<void> | undefined;

  private constructor(backend: Backend, logger: Logger, prices?: PriceOverrides) {
    this.backend = backend;
    this.#log = logger;
    this.#follower = new EventFollower(backend, logger);
    this.#prices = prices;
  }

  /**
   * Open a store by URL and wrap it in a client. `close()` closes the store.
   * @param store e.g. `sqlite:.baton/baton.db` (relative to the working directory) or `sqlite::memory:`.
   * @default store `DEFAULT_STORE_URL` (`sqlite:.baton/baton.db`)
   */
  static async open(store: string = DEFAULT_STORE_URL, options: OpenOptions = {}): Promise<Baton> {
    // Checked before the store is opened, so a bad value leaves nothing open.
    const prices = options.prices === undefined ? undefined : checkPrices(options.prices);
    const backend = await openBackend(store, {
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.maxPayloadBytes === undefined
        ? {}
        : { maxPayloadBytes: options.maxPayloadBytes }),
      ...(options.routing === undefined ? {} : { routing: options.routing }),
    });
    return new Baton(backend, options.logger ?? getDefaultLogger(), prices);
  }

  /** Wrap a backend you opened yourself. `close()` closes it. */
  static fromBackend(
    backend: Backend,
    options: { logger?: Logger; prices?: PriceOverrides } = {},
  ): Baton {
    const prices = options.prices === undefined ? undefined : checkPrices(options.prices);
    return new Baton(backend, options.logger ?? getDefaultLogger(), prices);
  }

  /** Submit one standalone task. Submitting the same `idempotencyKey` again returns the same task. */
  async submit(task: TaskSpec): Promise<SubmittedTask> {
    this.#assertOpen('submit');
    const [submitted] = await this.backend.submitTasks([task]);
    if (submitted === undefined) {
      throw new BatonError(
        'BATON_STORE_UNAVAILABLE',
        `the ${this.backend.name} backend stored no task for submit(); this is a bug in that adapter`,
      );
    }
    return submitted;
  }

  /** Submit a DAG of tasks atomically: all are stored, or none. */
  async submitRun(run: RunSpec): Promise<SubmittedRun> {
    this.#assertOpen('submitRun');
    return await this.backend.submitRun(run);
  }

  async get(taskId: string): Promise<TaskRecord | null> {
    this.#assertOpen('get');
    return await this.backend.getTask(taskId);
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    this.#assertOpen('getRun');
    return await this.backend.getRun(runId);
  }

  /**
   * Wait until the task is terminal (task id) or the run is finished (run id, `run_` prefix),
   * and return its record. Woken by the event stream, not by polling.
   * @throws NotFoundError when there is no such task or run.
   * @throws WaitTimeoutError after `timeoutMs`; the signal's reason when `signal` aborts.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<TaskRecord | RunRecord> {
    this.#assertOpen('wait');
    const { signal, timeoutMs } = options;
    signal?.throwIfAborted();
    const run = isRunId(id);
    const fetch = (): Promise<TaskRecord | RunRecord | null> =>
      run ? this.backend.getRun(id) : this.backend.getTask(id);
    const finished = (record: TaskRecord | RunRecord): boolean =>
      run ? record.state !== 'running' : isTerminal((record as TaskRecord).state);

    let dirty = true;
    let wake: (() => void) | undefined;
    // Subscribe before the first read of the state, so no change after that read is missed. The
    // follower reads from the end of the stream as it was then: the store's history is not read.
    const unsubscribe = await this.#follower.subscribe((event) => {
      if ((run ? event.runId : event.taskId) !== id) return;
      dirty = true;
      wake?.();
    });
    let timedOut = false;
    const onAbort = (): void => wake?.();
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            wake?.();
          }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (dirty || timedOut) {
          dirty = false;
          const record = await fetch();
          if (record === null) throw new NotFoundError(run ? 'run' : 'task', id);
          if (finished(record)) return record;
          if (timedOut && timeoutMs !== undefined) {
            throw new WaitTimeoutError(id, timeoutMs, record.state);
          }
        }
        signal?.throwIfAborted();
        if (!dirty && !timedOut) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      unsubscribe();
    }
  }

  /** Cancel a task, or every unfinished task of a run (`run_` id). Running handlers see their signal fire. */
  async cancel(id: string, reason?: string): Promise<TaskRecord | RunRecord> {
    this.#assertOpen('cancel');
    return await (isRunId(id)
      ? this.backend.cancelRun(id, reason)
      : this.backend.cancelTask(id, reason));
  }

  /**
   * Retry (replay) a failed task: it is `ready` again with a fresh attempt budget (its attempt
   * history is kept, and its new attempts are numbered on from it), its run reopens, and the
   * tasks its failure skipped are revived. See `Backend.retryTask` for the exact rules.
   * @throws NotFoundError when there is no such task.
   * @throws ConflictError when the task is not `failed`; nothing changes.
   * @example await baton.retry(taskId, { reason: 'the API key was rotated' });
   */
  async retry(taskId: string, options: { reason?: string } = {}): Promise<TaskRecord> {
    this.#assertOpen('retry');
    return await this.backend.retryTask(taskId, options);
  }

  /**
   * The ordered event stream. Resume after a given event with `since` (pass the last id you
   * saw), or start at the end with `since: 'now'`. With `follow` (the default) it waits for new
   * events until `signal` aborts; with `follow: false` it ends once caught up.
   */
  async *events(options: EventsOptions = {}): AsyncGenerator<BatonEvent, void, undefined> {
    this.#assertOpen('events');
    const follow = options.follow ?? true;
    const limit = options.pageSize ?? 1_000;
    const { signal } = options;
    const aborted = (): boolean => signal?.aborted === true;
    let cursor =
      options.since === 'now' ? ((await this.backend.lastEventId()) ?? undefined) : options.since;
    while (!aborted()) {
      let page: BatonEvent[];
      try {
        page = await this.backend.readEvents({
          ...(cursor === undefined ? {} : { since: cursor }),
          limit,
          blockMs: follow ? EVENTS_BLOCK_MS : 0,
          ...(signal === undefined ? {} : { signal }),
        });
      } catch (error) {
        if (aborted()) return;
        throw error;
      }
      for (const event of page) {
        cursor = event.id;
        yield event;
        if (aborted()) return;
      }
      if (!follow && page.length < limit) return;
    }
  }

  /**
   * A task's log line by line (docs/logs.md), or, for a run id (`run_…`), the lines of every
   * task of the run interleaved in the order they were stored. With `follow`, it waits for new
   * lines until the task or run has finished (or `signal` aborts); without, it ends at the last
   * line stored.
   * @throws NotFoundError when there is no such task or run.
   * @example for await (const line of baton.logs(taskId, { follow: true })) console.log(line.text);
   */
  logs(id: string, options: LogsOptions = {}): AsyncGenerator<LogLine, void, undefined> {
    this.#assertOpen('logs');
    if (!isRunId(id)) return taskLogLines(this.backend, id, options);
    const { after: _after, ...rest } = options;
    return runLogLines(this.backend, id, rest);
  }

  /** One page of a task's log from a cursor (see `Backend.readLogs`). */
  async readLogs(options: ReadLogsOptions): Promise<LogPage> {
    this.#assertOpen('readLogs');
    return await this.backend.readLogs(options);
  }

  /** One page of log lines across tasks by agent, level and time (see `Backend.readAgentLogs`). */
  async agentLogs(options: ReadAgentLogsOptions = {}): Promise<LogPage> {
    this.#assertOpen('agentLogs');
    return await this.backend.readAgentLogs(options);
  }

  /**
   * The id of the newest event, or null when the stream is empty. Take it before doing
   * something, then pass it to `events({ since })` to follow exactly what happens from there.
   */
  async lastEventId(): Promise<string | null> {
    this.#assertOpen('lastEventId');
    return await this.backend.lastEventId();
  }

  async tasks(filter?: TaskFilter): Promise<TaskPage> {
    this.#assertOpen('tasks');
    return await this.backend.listTasks(filter);
  }

  /** A page of runs, newest first unless `order: 'asc'`. */
  async runs(filter?: RunFilter): Promise<RunPage> {
    this.#assertOpen('runs');
    return await this.backend.listRuns(filter);
  }

  /**
   * Every agent of the namespace, in registration order: its health (`ok`, `stalled`, `lost`,
   * `stopped`), the tasks it holds (`inFlight`), its process's CPU and memory, and its counters
   * per task type.
   */
  async agents(): Promise<AgentRecord[]> {
    this.#assertOpen('agents');
    return await this.backend.listAgents();
  }

  async attempts(taskId: string): Promise<AttemptRecord[]> {
    this.#assertOpen('attempts');
    return await this.backend.getAttempts(taskId);
  }

  async stats(): Promise<Stats> {
    this.#assertOpen('stats');
    return await this.backend.stats();
  }

  /**
   * What model calls cost (docs/costs.md): the totals of a run's calls, or of the namespace's,
   * by run, epic, task, agent or model when asked, with the run's budget.
   * @throws NotFoundError for an unknown run.
   */
  async costs(query?: CostQuery): Promise<CostReport> {
    this.#assertOpen('costs');
    return await this.backend.costs(query);
  }

  /** Every model call recorded against a task, in the order recorded. */
  async usage(taskId: string): Promise<UsageRecord[]> {
    this.#assertOpen('usage');
    return await this.backend.usageOf(taskId);
  }

  /**
   * The ledger at this client's prices: what a worker's `ctx.costs` records through, and what
   * the HTTP API's usage and reservation routes use for remote agents (one rule for both).
   */
  get ledger(): Ledger {
    this.#ledger ??= new Ledger(
      this.backend,
      this.#prices === undefined ? {} : { prices: this.#prices },
    );
    return this.#ledger;
  }

  /** A worker on this client's store; call its `start()`. `close()` stops it. */
  worker(options: WorkerOptions): Worker {
    this.#assertOpen('worker');
    const prices = options.prices ?? this.#prices;
    const worker = new Worker(this.backend, {
      ...options,
      logger: options.logger ?? this.#log,
      ...(prices === undefined ? {} : { prices }),
    });
    this.#workers.add(worker);
    worker.once('stopped', () => this.#workers.delete(worker));
    return worker;
  }

  /** Stop the workers this client created (each with its grace period), then close the store. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#workers].map((worker) => worker.stop()));
      await this.#follower.close();
      await this.backend.close();
    })();
    return this.#closing;
  }

  #assertOpen(method: string): void {
    if (this.#closing !== undefined) {
      throw new BatonError(
        'BATON_CLOSED',
        `Baton.${method}() called after close(); open a new client with Baton.open()`,
      );
    }
  }
}
