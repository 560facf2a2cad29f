/**
 * The Redis backend (standalone or Cluster), on ioredis. Every operation is one Lua script
 * (`lua/<name>-<numKeys>.lua`), so each is atomic and one round trip; batches (a claim of 100, a
 * complete of 100) are one script call. Arguments come checked by the layer in front of every
 * adapter (`../checked.ts`); task specs are normalized here, with the same core functions as
 * every backend, before any script runs. Key layout: `keys.ts`.
 *
 * Idle workers wait on a blocking BZPOPMIN of the wake-up marker of their filter (capabilities,
 * and the task types they handle), which the scripts that make tasks ready set for the filters
 * that take those tasks: a submit wakes an idle worker that can run it within a round trip, with
 * no polling, and leaves the others asleep. A submission too large for one short script is
 * staged in chunks, committed in one short step, then published in chunks
 * (`lua/includes/submit.lua`). Small submissions made while another is in flight share one call
 * of the submit script, each applied atomically and on its own (`submit-batch.ts`).
 *
 * Needs Redis 6.2 or newer. Durability is what Redis persistence gives: with `appendonly yes`
 * and `appendfsync everysec` at most about a second of acknowledged writes can be lost in a
 * crash; with RDB snapshots only, everything since the last snapshot. `maxmemory-policy` must be
 * `noeviction` (checked at start-up): eviction would drop tasks silently.
 */
import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import {
  AgentLostError,
  BatonError,
  ConflictError,
  NotFoundError,
  ValidationError,
} from '../../core/errors.ts';
import { CLOCK_HOLD_MS } from '../../core/clock.ts';
import { backoffDelay } from '../../core/retry.ts';
import type { RoutingPolicy } from '../../core/routing.ts';
import type {
  AgentRecord,
  AgentReport,
  AgentSpec,
  AttemptRecord,
  BatonEvent,
  DependencyOutcome,
  Json,
  Lease,
  NormalizedTask,
  RetryPolicy,
  RunRecord,
  RunSpec,
  TaskError,
  TaskRecord,
  TaskSpec,
  TaskState,
} from '../../core/types.ts';
import {
  levelRank,
  LOG_LEVELS,
  type LogBounds,
  type LogLine,
  type LogPage,
  type LogStream,
} from '../../core/logs.ts';
import { LIMITS, normalizeRun, normalizeTasks } from '../../core/validate.ts';
import type {
  Backend,
  BackendFeatures,
  BackendOptions,
  ClaimRequest,
  HeldLeaseRef,
  LeaseRef,
  LogAppendOutcome,
  ReadAgentLogsOptions,
  LatestEventsOptions,
  ReadEventsOptions,
  ReadLogsOptions,
  RecordableEvent,
  RetryTaskOptions,
  RunFilter,
  RunPage,
  SettleOutcome,
  StateDelete,
  StateEntry,
  StateOutcome,
  ExpertiseVersion,
  ExpertiseVersionInput,
  Stats,
  StoreLocation,
  SubmittedRun,
  SubmittedTask,
  SubmitTasksOptions,
  SilentAgent,
  SweepOptions,
  SweepResult,
  TaskFilter,
  TaskPage,
  WaitForWorkOptions,
} from '../backend.ts';
import { agentOwnerConflict, emptySweepResult, retryConflict } from '../backend.ts';
import type {
  CheckedReserve,
  CheckedUsage,
  CostQuery,
  ReserveOutcome,
  UsageOutcome,
  ModelChoiceInput,
  ModelChoiceOutcome,
  ModelHistory,
  ModelHistoryQuery,
  ModelOutcomeInput,
} from '../backend.ts';
import type { AttemptModel } from '../../core/types.ts';
import { newAgentId, newReservationId, newRunId } from '../ids.ts';
import type { CheckedStateList, CheckedStateWrite } from '../state.ts';
import { toNano, type BudgetStatus, type CostReport, type UsageRecord } from '../../core/ledger.ts';
import {
  budgetOfFields,
  groupsOf,
  reserveOutcome,
  totalsOf,
  toUsageRecord,
  usageOutcome,
} from './ledger.ts';
import {
  DEFAULT_PAGE,
  checkInteger,
  checkLogBounds,
  checkRouting,
  parseSeqCursor,
  unknownCursor,
  type CheckedComplete,
  type CheckedFail,
  type CheckedLogAppend,
  type CheckedLogLine,
  type CheckedRelease,
} from '../inputs.ts';
import { levelOfRank, logPage, refusedLog, type CutFound } from '../logs.ts';
import { refusedLease } from '../refusals.ts';
import { BlockingPool } from './blocking.ts';
import {
  LEASE_FIELDS,
  modelOutcomeField,
  parseEventId,
  specBackoff,
  toAgent,
  toAttempts,
  toClaimedTask,
  toCounts,
  toEvents,
  toHash,
  toRun,
  toTask,
} from './codec.ts';
import {
  createClient,
  parseRedisUrl,
  storeError,
  type RedisClient,
  type RedisTarget,
} from './connection.ts';
import { Keys, namespaceProblem } from './keys.ts';
import { defineScripts, script, type ScriptName } from './scripts.ts';
import { SubmitBatcher, type Args } from './submit-batch.ts';
import {
  commitArgs,
  fitsOneCall,
  planSubmission,
  stageChunks,
  taskArgs,
  type StoredTask,
  type SubmissionPlan,
  type SubmitMode,
} from './submit.ts';

export interface RedisBackendOptions extends BackendOptions {
  /**
   * How many of the newest events the event stream keeps: it holds at least this many, and
   * about 6% more at most (counted in events, lua/includes/common.lua); older events are
   * dropped. A reader resuming from a dropped id continues from the oldest event kept.
   * @default 100000
   */
  eventsMaxLen?: number;
  /**
   * When several processes sweep one namespace, one sweeps per interval: the instance that swept
   * holds the sweep for this long (`SET … PX`, renewed by each of its sweeps, given back on
   * `close()`), and other instances' `sweep()` calls return at once with nothing done while it
   * does. 0 disables the coordination: every call sweeps (each sweep is atomic and idempotent,
   * so that is safe, only redundant).
   * @default 2000
   */
  sweepLockMs?: number;
  /**
   * A large submission whose client died while staging it is deleted by the sweep after this
   * long (ms of the backend's clock).
   * @default 300000
   */
  abandonedSubmissionMs?: number;
  /**
   * A large submission whose client died after committing it, before publishing all of it, is
   * published by the sweep after this long (ms of the backend's clock).
   * @default 30000
   */
  unpublishedSubmissionMs?: number;
  /**
   * Called with a warning the backend has for its operator (e.g. an eviction policy that can
   * lose tasks).
   * @default process.emitWarning
   */
  warn?: (message: string) => void;
}

const DEFAULT_NAMESPACE = 'default';
const DEFAULT_EVENTS_MAXLEN = 100_000;
const DEFAULT_SWEEP_LOCK_MS = 2000;
const DEFAULT_EVENT_PAGE = 1000;
/** Stream entries `latestEvents` reads per XREVRANGE. */
const LATEST_EVENTS_PAGE = 200;
/** Most items of each kind (expired leases, due tasks, lost agents) one sweep handles. */
const SWEEP_LIMIT = 1000;
/** Most delayed tasks a claim promotes before claiming. */
const PROMOTE_LIMIT = 1000;
/** Retries of a submission whose commit found the run or its idempotency keys changed. */
const SUBMIT_ATTEMPTS = 5;
/** Leases whose backoff policy this instance remembers for `fail`, at most. */
const LEASE_MEMORY = 100_000;
/** Log entries one read looks at per attempt (or index) for each line it may return. */
const LOG_SCAN_PER_LINE = 4;

/** How a log line's stream is stored (lua/includes/logs.lua), and back. */
const STREAM_CODE: Record<LogStream, string> = { stdout: 'o', stderr: 'e', log: 'l' };
/** A line's stream and level as the log section sends them (`l1`: log, info), made once. */
const LINE_CODE = Object.fromEntries(
  Object.entries(STREAM_CODE).map(([stream, code]) => [
    stream,
    LOG_LEVELS.map((level) => code + String(levelRank(level))),
  ]),
) as Record<LogStream, string[]>;
/** A line's stream and level as the log sections send them, e.g. `l1`. */
const lineCode = (line: CheckedLogLine): string => LINE_CODE[line.stream][levelRank(line.level)]!;
const STREAM_OF_CODE: Record<string, LogStream> = { o: 'stdout', e: 'stderr', l: 'log' };

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;
/** A script queued on a pipeline: ioredis returns the pipeline, the reply comes from exec(). */
type QueuedFn = (...args: (string | number)[]) => unknown;

/** What this instance remembers of a lease it handed out, so `fail` needs no extra read. */
interface LeaseMemo {
  token: number;
  attempts: number;
  backoff: RetryPolicy;
}

type CommitReply =
  | { kind: 'ok'; changed: Map<string, TaskState> }
  | { kind: 'idem'; taken: StoredTaskByKey[] }
  | { kind: 'retry' }
  | { kind: 'not_found' }
  | { kind: 'closed'; state: string };

interface StoredTaskByKey extends StoredTask {
  idempotencyKey: string;
}

/** Thrown inside submitTasks when the run's keys changed between reading and committing. */
class KeysChanged extends Error {}

export class RedisBackend implements Backend {
  readonly name = 'redis';
  readonly features: BackendFeatures = { multiProcess: true, blockingWait: true };
  readonly location: StoreLocation | null;
  /** The namespace this instance works in. */
  readonly namespace: string;
  readonly #target: RedisTarget;
  readonly #client: RedisClient;
  readonly #keys: Keys;
  readonly #clock: () => number;
  /** The backend runs on the real clock: its scripts stamp with the Redis server's (see {@link #stamp}). */
  readonly #serverClock: boolean;
  readonly #maxPayloadBytes: number;
  readonly #maxLen: number;
  /**
   * Events per stream entry in the last entries read (packed entries hold many): how many
   * entries readEvents asks for; null until a read has seen some.
   */
  #eventsPerEntry: number | null = null;
  readonly #sweepLockMs: number;
  readonly #abandonedMs: number;
  readonly #unpublishedMs: number;
  readonly #pool: BlockingPool;
  /** Identifies this instance as the holder of the sweep lock. */
  readonly #holder = randomUUID();
  readonly #leases = new Map<string, LeaseMemo>();
  /** The routing policy as the claim script reads it (claim-10.lua ARGV[8]). */
  readonly #routingArg: string;
  /**
   * Until when each agent's last claim left ready tasks to better-fitting peers (routing): its
   * next `waitForWork` waits at most until then for a wake-up.
   */
  readonly #deferrals = new Map<string, number>();
  #sweptWithLock = false;
  #closed = false;
  /** How much of each attempt's log is kept (lua/includes/logs.lua applies it). */
  readonly #logBounds: LogBounds;
  /** Groups small standalone submissions and new runs made while one is in flight (submit-batch.ts). */
  readonly #batch: SubmitBatcher;
  #commits = 0;

  private constructor(
    url: string,
    target: RedisTarget,
    client: RedisClient,
    options: RedisBackendOptions,
  ) {
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    this.namespace = namespace;
    // Another connection is equivalent only to the same Redis on the same (real) clock.
    this.location = options.clock === undefined ? { url, namespace } : null;
    this.#target = target;
    this.#client = client;
    this.#keys = new Keys(namespace);
    this.#clock = options.clock ?? Date.now;
    this.#serverClock = options.clock === undefined;
    this.#maxPayloadBytes = options.maxPayloadBytes ?? LIMITS.maxPayloadBytes;
    this.#maxLen = options.eventsMaxLen ?? DEFAULT_EVENTS_MAXLEN;
    this.#sweepLockMs = options.sweepLockMs ?? DEFAULT_SWEEP_LOCK_MS;
    this.#abandonedMs = options.abandonedSubmissionMs ?? 300_000;
    this.#unpublishedMs = options.unpublishedSubmissionMs ?? 30_000;
    this.#pool = new BlockingPool(client);
    this.#routingArg = routingArg(checkRouting(options.routing));
    this.#logBounds = checkLogBounds(options.logs);
    this.#batch = new SubmitBatcher((submissions) => this.#sendSubmit(submissions));
  }

  /**
   * Connect to the Redis a store URL names and open a namespace on it.
   *
   * @param url `redis://host:port[/db]`, `rediss://…` or `redis+cluster://host:port,host:port`.
   * @throws BatonError `BATON_STORE_URL` for a malformed URL, `ValidationError` for a bad
   *   namespace or option, `StoreUnavailableError` when Redis cannot be reached.
   * @example const backend = await RedisBackend.open('redis://127.0.0.1:6379', { namespace: 'ci' });
   */
  static async open(url: string, options: RedisBackendOptions = {}): Promise<RedisBackend> {
    const target = parseRedisUrl(url);
    const problem = namespaceProblem(options.namespace ?? DEFAULT_NAMESPACE);
    if (problem) throw new ValidationError([{ path: 'namespace', message: problem }]);
    checkOption(options.eventsMaxLen, 'eventsMaxLen', 1);
    checkOption(options.sweepLockMs, 'sweepLockMs', 0);
    checkOption(options.abandonedSubmissionMs, 'abandonedSubmissionMs', 0);
    checkOption(options.unpublishedSubmissionMs, 'unpublishedSubmissionMs', 0);
    checkRouting(options.routing);
    checkLogBounds(options.logs);
    // CLIENT SETNAME refuses spaces and special characters; the name is only for CLIENT LIST.
    const name = `baton:${(options.namespace ?? DEFAULT_NAMESPACE).replace(/[^\w.:-]/g, '_')}`;
    const client = createClient(target, name);
    defineScripts(client);
    // Without a listener ioredis prints every connection error; failures surface in calls.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      throw storeError(error, target, 'connecting');
    }
    const backend = new RedisBackend(url, target, client, options);
    try {
      await backend.#checkServer(
        options.warn ??
          ((message) => process.emitWarning(message, { code: 'BATON_REDIS_EVICTION' })),
      );
    } catch (error) {
      await backend.close();
      throw error;
    }
    return backend;
  }

  /**
   * Check what the adapter needs of the server, on one node of a Cluster: Redis 6.2 or newer
   * (exclusive XRANGE starts, fractional BZPOPMIN timeouts). Then warn when Redis may evict keys:
   * eviction silently loses tasks. INFO and CONFIG may be disabled (managed Redis): then there is
   * nothing to check.
   */
  async #checkServer(warn: (message: string) => void): Promise<void> {
    const nodes: RedisClient[] =
      this.#client instanceof Cluster ? this.#client.nodes('master') : [this.#client];
    const first = nodes[0];
    if (first) {
      const info = await first.info('server').catch(() => '');
      const version = /redis_version:(\d+)\.(\d+)/.exec(info);
      if (version && Number(version[1]) * 100 + Number(version[2]) < 602) {
        throw new BatonError(
          'BATON_STORE_UNAVAILABLE',
          `Redis at ${this.#target.display} is version ${version[1]}.${version[2]}; the Redis backend needs 6.2 or newer. Upgrade Redis or use another store.`,
        );
      }
    }
    for (const node of nodes) {
      let policy: string | undefined;
      try {
        const reply = await node.config('GET', 'maxmemory-policy');
        policy = reply[1];
      } catch {
        return; // CONFIG is disabled (managed Redis): nothing to check.
      }
      if (policy !== undefined && policy !== 'noeviction') {
        const where =
          'options' in node && 'host' in node.options
            ? `${node.options.host}:${node.options.port}`
            : this.#target.display;
        warn(
          `Redis at ${where} has maxmemory-policy '${policy}': when it reaches maxmemory it evicts keys, silently losing ` +
            `Baton's tasks, leases and events. Set 'maxmemory-policy noeviction' (CONFIG SET maxmemory-policy noeviction, ` +
            `or in redis.conf) so a full Redis refuses writes instead.`,
        );
        return;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Submitting

  async submitRun(spec: RunSpec): Promise<SubmittedRun> {
    this.#open();
    const now = this.#clock();
    const run = normalizeRun(spec, { now, maxPayloadBytes: this.#maxPayloadBytes });
    const runId = newRunId();
    const tasks = await this.#withBudgets(
      run.budgetUsd === null ? [] : [[runId, run.budgetUsd]],
      () =>
        this.#submit(run.tasks, {
          mode: 'new',
          runId,
          runName: run.name,
          keysVersion: '0',
          now,
          byKey: new Map(),
        }),
    );
    return { runId, tasks };
  }

  async submitTasks(specs: TaskSpec[], options: SubmitTasksOptions = {}): Promise<SubmittedTask[]> {
    this.#open();
    const runId = options.runId;
    if (runId === undefined) {
      const now = this.#clock();
      const tasks = normalizeTasks(specs, { now, maxPayloadBytes: this.#maxPayloadBytes });
      if (tasks.length === 0) return [];
      return this.#submit(tasks, {
        mode: 'none',
        runId: '',
        runName: '',
        keysVersion: '0',
        now,
        byKey: new Map(),
      });
    }
    for (let attempt = 0; ; attempt++) {
      // Validate against the keys the run has now; the commit checks they did not change.
      const run = await this.#runKeys(runId);
      const now = this.#clock();
      const tasks = normalizeTasks(specs, {
        now,
        maxPayloadBytes: this.#maxPayloadBytes,
        existingKeys: new Set(run.keys.keys()),
      });
      if (tasks.length === 0) return [];
      try {
        return await this.#submit(tasks, {
          mode: 'add',
          runId,
          runName: '',
          keysVersion: run.version,
          now,
          byKey: run.keys,
        });
      } catch (error) {
        if (!(error instanceof KeysChanged) || attempt + 1 >= SUBMIT_ATTEMPTS) {
          if (error instanceof KeysChanged) {
            throw new ConflictError(
              `tasks were added to run ${runId} by other submissions while this one was being stored, ${SUBMIT_ATTEMPTS} times; retry`,
              { runId },
            );
          }
          throw error;
        }
      }
    }
  }

  /** The run must exist in this namespace and still be running to accept tasks. */
  async #runKeys(runId: string): Promise<{ version: string; keys: Map<string, string> }> {
    const reply = (await this.#run(
      'run-keys',
      [this.#keys.run(runId), this.#keys.runKeys(runId)],
      [],
      'submitTasks',
    )) as unknown[];
    if (reply.length === 0) throw new NotFoundError('run', runId);
    const state = String(reply[0]);
    if (state !== 'running') throw closedRun(runId, state);
    const keys = new Map<string, string>();
    const flat = reply[2] as string[];
    for (let i = 0; i + 1 < flat.length; i += 2) keys.set(flat[i]!, flat[i + 1]!);
    return { version: String(reply[1]), keys };
  }

  /**
   * Store validated tasks: plan them, then run the one-shot script or the staged path. Taken
   * idempotency keys found at commit are answered as existing tasks and the batch planned again.
   */
  async #submit(
    tasks: NormalizedTask[],
    ctx: {
      mode: SubmitMode;
      runId: string;
      runName: string;
      keysVersion: string;
      now: number;
      byKey: Map<string, string>;
    },
  ): Promise<SubmittedTask[]> {
    const byIdem = new Map<string, StoredTask>();
    for (let attempt = 0; attempt < SUBMIT_ATTEMPTS; attempt++) {
      const plan = planSubmission(tasks, { ...ctx, byIdem });
      if (plan.tasks.length === 0 && ctx.mode !== 'new') return plan.answers;
      const budgets = plan.tasks.flatMap((p): [string, number][] =>
        p.task.budgetUsd === undefined ? [] : [[p.id, p.task.budgetUsd]],
      );
      const reply = await this.#withBudgets(budgets, async () => {
        const sent = fitsOneCall(plan)
          ? await this.#submitOnce(plan, this.#stamp())
          : await this.#submitStaged(plan, this.#stamp());
        // A planned task answered as existing at commit was not created: neither is its budget.
        if (sent.kind !== 'ok' && budgets.length > 0) throw new BudgetsUnused(sent);
        return sent;
      }).catch((error: unknown) => {
        if (error instanceof BudgetsUnused) return error.reply;
        throw error;
      });
      switch (reply.kind) {
        case 'ok':
          for (const answer of plan.answers) {
            const state = reply.changed.get(answer.id);
            if (state !== undefined) answer.state = state;
          }
          return plan.answers;
        case 'idem':
          for (const taken of reply.taken) byIdem.set(taken.idempotencyKey, taken);
          continue;
        case 'retry':
          throw new KeysChanged();
        case 'not_found':
          throw new NotFoundError('run', ctx.runId);
        case 'closed':
          throw closedRun(ctx.runId, reply.state);
      }
    }
    throw new ConflictError(
      `the idempotency keys of this submission kept being taken by concurrent submissions (${SUBMIT_ATTEMPTS} tries); retry`,
    );
  }

  /**
   * Write the budgets of runs or tasks a submission is about to create (`P budgets`), then run
   * it: the budgets are in place before any task can be claimed, so no call of theirs can start
   * unbudgeted. When the submission fails they are taken back (a run or task that was not
   * created has no budget).
   */
  async #withBudgets<T>(budgets: [string, number][], submit: () => Promise<T>): Promise<T> {
    if (budgets.length === 0) return submit();
    const k = this.#keys;
    await this.#call('submit', () =>
      this.#client.hset(k.budgets, ...budgets.flatMap(([id, usd]) => [id, String(toNano(usd))])),
    );
    try {
      return await submit();
    } catch (error) {
      await this.#client.hdel(k.budgets, ...budgets.map(([id]) => id)).catch(() => undefined);
      throw error;
    }
  }

  /**
   * A submission that fits one call. Standalone tasks and new runs go at once when no submission
   * is in flight, else join the group sent when it answers (submit-batch.ts); tasks added to a
   * run go alone, at once: they were validated against the run's keys, and two additions to one
   * run in a group would refuse the second (its keys version changed), costing it a round trip
   * more.
   */
  async #submitOnce(plan: SubmissionPlan, now: number | string): Promise<CommitReply> {
    const args: Args = [now, ...commitArgs(plan), plan.tasks.length];
    for (const p of plan.tasks) taskArgs(p, args);
    if (plan.mode !== 'add')
      return parseCommitReply(await this.#batch.add(args, plan.tasks.length));
    const replies = (await this.#sendSubmit([args])) as unknown[];
    return parseCommitReply(replies[0]);
  }

  /**
   * One call of the submit script with these submissions (each: its now, commit arguments and
   * tasks): one reply per submission. Sends synchronously, so calls keep their order.
   */
  #sendSubmit(submissions: readonly Args[]): Promise<unknown> {
    const k = this.#keys;
    const last = submissions[submissions.length - 1]!;
    const args: Args = [last[0]!, this.#maxLen, submissions.length];
    for (const s of submissions) for (const a of s) args.push(a);
    this.#commits++;
    return this.#run(
      'submit',
      [...k.common, k.tasks, k.runs, k.idem, k.seq, k.queues, k.queueIds, k.filters, k.pending],
      args,
      'submit',
    );
  }

  /**
   * Calls of the scripts that commit submissions: one per group of small submissions however
   * many it held (submit-batch.ts), one per large submission. For diagnostics (bench/http.ts
   * reports it): while only submissions are made, submissions / commits is how many a call
   * carried. (On SQLite, `commits` counts every write transaction.)
   */
  get commits(): number {
    return this.#commits;
  }

  /**
   * A submission too large for one short script: stage it in chunks (pipelined), commit it in
   * one short script, publish it in chunks. Once committed it is stored: a failure while
   * publishing is left to the sweep, which finishes publishing abandoned submissions.
   */
  async #submitStaged(plan: SubmissionPlan, now: number | string): Promise<CommitReply> {
    const k = this.#keys;
    // Idempotency keys already taken would make the commit refuse the whole staged batch:
    // look them up first (the commit still checks, for submissions racing this one).
    if (plan.idem.length > 0) {
      const taken = await this.#takenIdempotencyKeys(plan.idem.map(([key]) => key));
      if (taken.length > 0) return { kind: 'idem', taken };
    }
    const sid = randomUUID();
    const total = plan.tasks.length;
    const chunks = stageChunks(plan);
    const stageKeys = [...k.common, k.tasks, k.seq, k.queues, k.queueIds, k.filters, k.pending];
    // Chunk by chunk, yielding between them so each is written at once: Redis stores one chunk
    // while the next is being encoded. One connection keeps them (and the commit) in order.
    const staged: Promise<unknown>[] = [];
    for (const chunk of chunks) {
      const args: (string | number)[] = [
        now,
        this.#maxLen,
        sid,
        plan.runId,
        plan.mode,
        total,
        chunk.length,
      ];
      for (const p of chunk) taskArgs(p, args);
      const sent = this.#run('submit-stage', stageKeys, args, 'submit (staging)');
      sent.catch(() => undefined); // awaited below, with the others
      staged.push(sent);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    try {
      await Promise.all(staged);
    } catch (error) {
      await this.#abortStaged(sid, now);
      throw error;
    }

    let reply: CommitReply;
    try {
      this.#commits++;
      const raw = await this.#run(
        'submit-commit',
        [...k.common, k.tasks, k.runs, k.idem, k.seq, k.pending, k.publishing, k.pubcur],
        [now, this.#maxLen, sid, total, ...commitArgs(plan)],
        'submit (commit)',
      );
      if (Array.isArray(raw) && raw[0] === 'gone') {
        throw new BatonError(
          'BATON_STORE_UNAVAILABLE',
          'the staged submission was deleted before its commit (the sweep took it for abandoned); retry',
        );
      }
      reply = parseCommitReply(raw);
    } catch (error) {
      if (error instanceof BatonError && error.code === 'BATON_STORE_UNAVAILABLE') throw error;
      await this.#abortStaged(sid, now);
      throw error;
    }
    if (reply.kind !== 'ok') {
      await this.#abortStaged(sid, now);
      return reply;
    }

    const publish = this.#client.pipeline();
    const publishCommand = script('submit-publish').command;
    let from = 0;
    for (const chunk of chunks) {
      (publish as unknown as Record<string, QueuedFn>)[publishCommand]!(
        ...k.common,
        k.publishing,
        k.pubcur,
        now,
        this.#maxLen,
        sid,
        from,
        chunk.length,
      );
      from += chunk.length;
    }
    // Committed is stored: if publishing fails here, the sweep publishes the rest later.
    await publish.exec().catch(() => undefined);
    return reply;
  }

  async #abortStaged(sid: string, now: number | string): Promise<void> {
    const k = this.#keys;
    await this.#run(
      'submit-abort',
      [...k.common, k.tasks, k.pending],
      [now, this.#maxLen, sid],
      'submit (abort)',
    ).catch(
      () => undefined, // the sweep deletes abandoned submissions
    );
  }

  async #takenIdempotencyKeys(keys: string[]): Promise<StoredTaskByKey[]> {
    const ids = await this.#call('submit', () => this.#client.hmget(this.#keys.idem, ...keys));
    const found = keys.flatMap((key, i) => (ids[i] ? [{ key, id: ids[i] }] : []));
    if (found.length === 0) return [];
    const pipeline = this.#client.pipeline();
    for (const f of found) pipeline.hmget(this.#keys.task(f.id), 'key', 'state');
    const rows = (await this.#call('submit', () => pipeline.exec())) ?? [];
    return found.map((f, i) => {
      const [key, state] = (rows[i]?.[1] as (string | null)[] | undefined) ?? [];
      return {
        idempotencyKey: f.key,
        id: f.id,
        key: key || null,
        state: (state ?? 'ready') as TaskState,
      };
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Claiming and settling leases

  async claim(request: ClaimRequest): Promise<Lease[]> {
    this.#open();
    const { agentId, capabilities, types, max, leaseTtlMs } = request;
    const k = this.#keys;
    const reply = (await this.#run(
      'claim',
      [...k.common, k.agent(agentId), k.agentLeases(agentId), k.queues, k.filters, k.hb],
      [
        this.#stamp(),
        this.#maxLen,
        agentId,
        filterKey(capabilities, types),
        max,
        leaseTtlMs,
        PROMOTE_LIMIT,
        this.#routingArg,
        ...LEASE_FIELDS,
      ],
      'claim',
    )) as unknown[];
    if (reply[0] === 'agent_lost') throw new AgentLostError(agentId);
    // Remembered for this agent's next waitForWork (routing left tasks to peers until then).
    const deferredUntil = reply[1] === '' || reply[1] == null ? null : Number(reply[1]);
    if (deferredUntil === null) this.#deferrals.delete(agentId);
    else this.#deferrals.set(agentId, deferredUntil);
    // The time the script stamped the claim with (the store's clock).
    const now = Number(reply[2]);
    const expiresAt = now + leaseTtlMs;
    const leases: Lease[] = [];
    for (let i = 3; i < reply.length; i++) {
      // The fields before the claim (LEASE_FIELDS), then the dependencies' outcomes when it has any.
      const values = reply[i] as (string | null)[];
      const token = Number(values[1] ?? 0) + 1;
      const attempt = Number(values[2] ?? 0) + 1;
      const deps = (values[LEASE_FIELDS.length] ?? []) as unknown as string[];
      const task = toClaimedTask(values, { attempts: attempt, agentId, expiresAt, now });
      this.#remember(task.id, { token, attempts: attempt, backoff: task.backoff });
      leases.push({
        taskId: task.id,
        token,
        attempt,
        agentId,
        expiresAt,
        task,
        dependencies: task.dependsOn.length === 0 ? {} : dependencyOutcomes(task, deps),
      });
    }
    return leases;
  }

  #remember(taskId: string, memo: LeaseMemo): void {
    if (this.#leases.size >= LEASE_MEMORY) this.#leases.clear();
    this.#leases.set(taskId, memo);
  }

  async renew(
    agentId: string,
    leases: LeaseRef[],
    leaseTtlMs: number,
    report?: AgentReport,
  ): Promise<SettleOutcome[]> {
    this.#open();
    const k = this.#keys;
    const args: (string | number)[] = [
      this.#stamp(),
      this.#maxLen,
      agentId,
      leaseTtlMs,
      ...reportArgs(report),
      leases.length,
    ];
    for (const ref of leases) args.push(ref.taskId, ref.token);
    const reply = (await this.#run(
      'renew',
      [...k.common, k.agent(agentId), k.hb],
      args,
      'renew',
    )) as unknown[][];
    return leases.map((ref, i) =>
      this.#outcome({ taskId: ref.taskId, token: ref.token, agentId }, reply[i], true),
    );
  }

  async complete(items: CheckedComplete[]): Promise<SettleOutcome[]> {
    this.#open();
    const args: (string | number)[] = [this.#stamp(), this.#maxLen, items.length];
    for (const item of items) {
      const result = JSON.stringify(item.result ?? null);
      args.push(item.taskId, item.token, item.agentId, result, item.runMs ?? '');
    }
    this.#carriedSection(items, args);
    const reply = (await this.#run('complete', this.#keys.common, args, 'complete')) as unknown[][];
    for (const item of items) this.#leases.delete(item.taskId);
    return items.map((item, i) => this.#outcome(item, reply[i], false));
  }

  async fail(items: CheckedFail[]): Promise<SettleOutcome[]> {
    this.#open();
    const delays = await this.#retryDelays(items);
    const args: (string | number)[] = [this.#stamp(), this.#maxLen, items.length];
    items.forEach((item, i) => {
      args.push(
        item.taskId,
        item.token,
        item.agentId,
        JSON.stringify(item.error),
        item.retryable ? '1' : '0',
        delays[i]!,
        item.outcome,
        item.runMs ?? '',
      );
    });
    this.#carriedSection(items, args);
    const reply = (await this.#run('fail', this.#keys.common, args, 'fail')) as unknown[][];
    for (const item of items) this.#leases.delete(item.taskId);
    return items.map((item, i) => this.#outcome(item, reply[i], false));
  }

  /**
   * The delay before each item's retry: `retryDelayMs` when given, else the task's backoff for
   * the attempt that failed. Leases this instance handed out are remembered; others are read.
   */
  async #retryDelays(items: CheckedFail[]): Promise<number[]> {
    const delays = new Array<number>(items.length).fill(0);
    const unknown: number[] = [];
    items.forEach((item, i) => {
      if (item.retryDelayMs !== undefined) {
        delays[i] = item.retryDelayMs;
        return;
      }
      const memo = this.#leases.get(item.taskId);
      if (memo && memo.token === item.token) delays[i] = backoffDelay(memo.backoff, memo.attempts);
      else unknown.push(i);
    });
    if (unknown.length > 0) {
      const pipeline = this.#client.pipeline();
      for (const i of unknown)
        pipeline.hmget(this.#keys.task(items[i]!.taskId), 'spec', 'att', 'tok');
      const rows = (await this.#call('fail', () => pipeline.exec())) ?? [];
      unknown.forEach((i, j) => {
        const [spec, att, tok] = (rows[j]?.[1] as (string | null)[] | undefined) ?? [];
        // A task that is gone or leased again is refused by the script: its delay is unused.
        if (spec && Number(tok) === items[i]!.token)
          delays[i] = backoffDelay(specBackoff(spec), Number(att));
      });
    }
    return delays;
  }

  async release(items: CheckedRelease[]): Promise<SettleOutcome[]> {
    this.#open();
    const args: (string | number)[] = [this.#stamp(), this.#maxLen, items.length];
    for (const item of items)
      args.push(item.taskId, item.token, item.agentId, item.delayMs, item.reason);
    this.#carriedSection(items, args);
    const reply = (await this.#run('release', this.#keys.common, args, 'release')) as unknown[][];
    for (const item of items) this.#leases.delete(item.taskId);
    return items.map((item, i) => this.#outcome(item, reply[i], false));
  }

  /**
   * The lines settle items (complete, fail, release) carry, as the carried section of the
   * script's ARGV (lua/includes/logs.lua `carried_at`): per item, its lines' streams and levels
   * in one argument and then their texts; the claim is the item's own (task, token, agent), not
   * sent again. Nothing when no item has any line.
   */
  #carriedSection(
    items: readonly (HeldLeaseRef & { logs?: CheckedLogLine[] })[],
    args: (string | number)[],
  ): void {
    if (!items.some((item) => item.logs !== undefined && item.logs.length > 0)) return;
    args.push(this.#logBounds.headBytes, this.#logBounds.tailBytes);
    for (const item of items) {
      const lines = item.logs ?? [];
      let codes = '';
      for (const line of lines) codes += lineCode(line);
      args.push(codes);
      for (const line of lines) args.push(line.text);
    }
  }

  /** Push the log section (lua/includes/logs.lua) of these items onto a script's ARGV. */
  #logSection(items: readonly CheckedLogAppend[], args: (string | number)[]): void {
    args.push(this.#logBounds.headBytes, this.#logBounds.tailBytes, items.length);
    for (const item of items) {
      args.push(item.taskId, item.token, item.agentId, item.lines.length);
      for (const line of item.lines) {
        args.push(lineCode(line), line.text);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Task logs

  async appendLogs(items: CheckedLogAppend[]): Promise<LogAppendOutcome[]> {
    this.#open();
    if (items.length === 0) return [];
    const args: (string | number)[] = [this.#stamp(), ''];
    this.#logSection(items, args);
    const reply = (await this.#run(
      'append-logs',
      [this.#keys.prefix],
      args,
      'appendLogs',
    )) as string[];
    return items.map((item, i): LogAppendOutcome => {
      const answer = reply[i];
      if (answer === 'ok') return { taskId: item.taskId, status: 'ok' };
      return refusedLog(
        item,
        answer === 'agent' ? 'agent' : answer === 'attempt' ? 'attempt' : 'task',
        this.namespace,
      );
    });
  }

  async readLogs(options: ReadLogsOptions & { limit: number }): Promise<LogPage> {
    this.#open();
    const { taskId, limit } = options;
    const after = options.after ?? 0;
    const reply = (await this.#run(
      'read-logs',
      [this.#keys.prefix],
      [
        taskId,
        after,
        options.attempt ?? '',
        options.stream === undefined ? '' : STREAM_CODE[options.stream],
        limit,
        limit * LOG_SCAN_PER_LINE,
      ],
      'readLogs',
    )) as [string, string[], string[], string[], number, string];
    if (reply[0] === 'not_found') throw new NotFoundError('task', taskId);
    const [, flat, cutsFlat, claimsFlat, complete, scannedText] = reply;
    // Each claim (token) with a log: its attempt number and the agent that ran it.
    const claims = new Map<string, { attempt: number; agentId: string }>();
    for (let i = 0; i + 2 < claimsFlat.length; i += 3)
      claims.set(claimsFlat[i]!, {
        attempt: Number(claimsFlat[i + 1]),
        agentId: claimsFlat[i + 2]!,
      });
    const scannedTo = scannedText === '' ? undefined : Number(scannedText);
    let lines: LogLine[] = [];
    for (let i = 0; i + 5 < flat.length; i += 6) {
      const claim = claims.get(flat[i + 1]!);
      lines.push({
        seq: Number(flat[i]),
        taskId,
        attempt: claim?.attempt ?? 0,
        agentId: claim?.agentId ?? '',
        stream: STREAM_OF_CODE[flat[i + 2]!] ?? 'log',
        level: levelOfRank(Number(flat[i + 3])),
        at: Number(flat[i + 4]),
        text: flat[i + 5]!,
      });
    }
    // Claims were read one after the other: merge them, and keep only what every claim was read
    // up to.
    lines.sort((a, b) => a.seq - b.seq);
    if (complete !== 1 && scannedTo !== undefined) lines = lines.filter((l) => l.seq <= scannedTo);
    if (lines.length > limit) lines.length = limit;
    const cuts: CutFound[] = [];
    for (let i = 0; i + 5 < cutsFlat.length; i += 6) {
      const claim = claims.get(cutsFlat[i]!);
      cuts.push({
        taskId,
        attempt: claim?.attempt ?? 0,
        agentId: claim?.agentId ?? '',
        headLines: Number(cutsFlat[i + 1]),
        cutLines: Number(cutsFlat[i + 2]),
        cutBytes: Number(cutsFlat[i + 3]),
        cutTo: Number(cutsFlat[i + 4]),
        cutAt: Number(cutsFlat[i + 5]),
      });
    }
    const page = {
      after,
      limit,
      complete: complete === 1 && lines.length < limit,
      ...(complete === 1 ? {} : { scannedTo: scannedTo ?? after }),
    };
    return logPage(lines, cuts, page);
  }

  async readAgentLogs(options: ReadAgentLogsOptions & { limit: number }): Promise<LogPage> {
    this.#open();
    const after = options.after ?? 0;
    const { limit } = options;
    const reply = (await this.#run(
      'read-agent-logs',
      [this.#keys.prefix],
      [
        options.agentId ?? '',
        after,
        options.level === undefined ? 0 : levelRank(options.level),
        options.since ?? 0,
        options.until ?? Number.MAX_SAFE_INTEGER,
        limit,
        limit * LOG_SCAN_PER_LINE,
      ],
      'readAgentLogs',
    )) as [string[], number, string];
    const [flat, complete, scanned] = reply;
    const lines: LogLine[] = [];
    for (let i = 0; i + 7 < flat.length; i += 8) {
      lines.push({
        seq: Number(flat[i]),
        taskId: flat[i + 1]!,
        attempt: Number(flat[i + 2]),
        agentId: flat[i + 3]!,
        stream: STREAM_OF_CODE[flat[i + 4]!] ?? 'log',
        level: levelOfRank(Number(flat[i + 5])),
        at: Number(flat[i + 6]),
        text: flat[i + 7]!,
      });
    }
    const more = complete !== 1;
    return {
      lines,
      cursor: more ? Math.max(Number(scanned), after) : (lines.at(-1)?.seq ?? after),
      more,
    };
  }

  /**
   * A script's per-item answer as a SettleOutcome: `ok`, or what the script found of a lease the
   * caller does not hold (lua/includes/lease.lua refusal), worded by refusals.ts.
   */
  #outcome(ref: HeldLeaseRef, raw: unknown[] | undefined, renewing: boolean): SettleOutcome {
    const taskId = ref.taskId;
    const status = raw?.[0];
    if (status === 'ok') {
      const state = raw![1] as TaskState;
      return raw!.length > 2
        ? { taskId, status: 'ok', state, expiresAt: Number(raw![2]) }
        : { taskId, status: 'ok', state };
    }
    if (status === 'not_found') return refusedLease(taskId, null, ref, renewing, this.namespace);
    if (status === 'refused') {
      const [, state, token, lease, agent, now] = raw as string[];
      const facts = {
        state: state as TaskState,
        token: Number(token),
        agentId: agent === '' || agent === undefined ? null : agent,
        leaseExpiresAt: lease === '' || lease === undefined ? null : Number(lease),
        now: Number(now),
      };
      return refusedLease(taskId, facts, ref, renewing, this.namespace);
    }
    return { taskId, status: 'lease_lost', reason: 'no answer from Redis for this item' };
  }

  // ---------------------------------------------------------------------------------------------
  // Cancelling

  async cancelTask(taskId: string, reason?: string): Promise<TaskRecord> {
    this.#open();
    const reply = (await this.#run(
      'cancel-task',
      this.#keys.common,
      [this.#stamp(), this.#maxLen, taskId, reason ?? 'cancelled'],
      'cancelTask',
    )) as unknown[];
    if (reply[0] === 'not_found') throw new NotFoundError('task', taskId);
    return toTask(toHash(reply[1]));
  }

  async retryTask(taskId: string, options?: RetryTaskOptions): Promise<TaskRecord> {
    this.#open();
    const reason = options?.reason ?? null;
    const reply = (await this.#run(
      'retry-task',
      this.#keys.common,
      [this.#stamp(), this.#maxLen, taskId, JSON.stringify(reason)],
      'retryTask',
    )) as unknown[];
    if (reply[0] === 'not_found') throw new NotFoundError('task', taskId);
    if (reply[0] === 'not_failed') throw retryConflict(taskId, reply[1] as TaskState);
    return toTask(toHash(reply[1]));
  }

  async cancelRun(runId: string, reason?: string): Promise<RunRecord> {
    this.#open();
    const reply = (await this.#run(
      'cancel-run',
      [...this.#keys.common, this.#keys.pending],
      [this.#stamp(), this.#maxLen, runId, reason ?? 'run cancelled'],
      'cancelRun',
    )) as unknown[];
    if (reply[0] === 'not_found') throw new NotFoundError('run', runId);
    const record = await this.getRun(runId);
    if (!record) throw new NotFoundError('run', runId);
    return record;
  }

  // ---------------------------------------------------------------------------------------------
  // Agents

  async registerAgent(spec: AgentSpec): Promise<AgentRecord> {
    this.#open();
    const id = spec.id ?? newAgentId();
    const capabilities = JSON.stringify(spec.capabilities);
    const k = this.#keys;
    const reply = (await this.#run(
      'register-agent',
      [...k.common, k.agents, k.hb, k.agent(id), k.agentLeases(id)],
      [
        this.#stamp(),
        this.#maxLen,
        id,
        spec.name ?? id,
        capabilities,
        JSON.stringify(spec.labels ?? {}),
        spec.concurrency,
        spec.host ?? '',
        spec.pid ?? '',
        spec.version ?? '',
        spec.owner ?? '',
      ],
      'registerAgent',
    )) as [unknown, string[], unknown];
    if (reply[0] === 'owner') throw agentOwnerConflict(id);
    return toAgent(toHash(reply[0]), reply[1], toHash(reply[2]));
  }

  async agentOwner(agentId: string): Promise<{ owner: string | null } | null> {
    this.#open();
    const [id, owner] = await this.#call('agentOwner', () =>
      this.#client.hmget(this.#keys.agent(agentId), 'id', 'own'),
    );
    if (id === null || id === undefined) return null;
    return { owner: owner ? owner : null };
  }

  async heartbeat(agentId: string, report?: AgentReport): Promise<void> {
    this.#open();
    const k = this.#keys;
    const alive = await this.#run(
      'heartbeat',
      [k.agent(agentId), k.hb, k.eventsMeta],
      [this.#stamp(), agentId, ...reportArgs(report)],
      'heartbeat',
    );
    if (Number(alive) !== 1) throw new AgentLostError(agentId);
  }

  async deregisterAgent(agentId: string): Promise<void> {
    this.#open();
    const k = this.#keys;
    const reply = (await this.#run(
      'deregister-agent',
      [...k.common, k.agent(agentId), k.agentLeases(agentId), k.hb],
      [this.#stamp(), this.#maxLen, agentId],
      'deregisterAgent',
    )) as unknown[];
    if (reply[0] === 'not_found') throw new NotFoundError('agent', agentId);
  }

  // ---------------------------------------------------------------------------------------------
  // Housekeeping

  async sweep(options: SweepOptions): Promise<SweepResult> {
    this.#open();
    const k = this.#keys;
    const now = this.#stamp();
    const spared =
      options.spare === undefined
        ? []
        : await this.#spared(this.#clock(), options.agentTtlMs, options.spare);
    const reply = (await this.#run(
      'sweep',
      [...k.common, k.hb, k.sweep, k.tasks, k.pending, k.publishing, k.pubcur],
      [
        now,
        this.#maxLen,
        options.agentTtlMs,
        this.#holder,
        this.#sweepLockMs,
        SWEEP_LIMIT,
        this.#abandonedMs,
        this.#unpublishedMs,
        options.stallAfterMs ?? 0,
        spared.length,
        ...spared,
      ],
      'sweep',
    )) as unknown[];
    const result = emptySweepResult();
    if (reply[0] === 'skipped') return result;
    if (this.#sweepLockMs > 0) this.#sweptWithLock = true;
    result.expired = Number(reply[1]);
    result.promoted = Number(reply[2]);
    result.agentsLost = (reply[3] as string[]).map(String);
    result.released = Number(reply[4]);
    result.agentsStalled = (reply[6] as string[]).map(String);
    result.agentsRecovered = (reply[7] as string[]).map(String);
    const timed = reply[5] as string[];
    if (timed.length > 0) {
      // Timed-out attempts retry after the task's backoff, computed here by core/retry.ts.
      const args: (string | number)[] = [now, this.#maxLen, timed.length / 5];
      for (let i = 0; i + 4 < timed.length; i += 5) {
        const attempts = Number(timed[i + 2]);
        args.push(timed[i]!, timed[i + 1]!, backoffDelay(specBackoff(timed[i + 3]!), attempts));
      }
      result.timedOut = Number(await this.#run('sweep-timeouts', k.common, args, 'sweep'));
    }
    // Reservations of leases that ended above (or before) are released: docs/costs.md.
    result.reservationsReleased = Number(
      await this.#run(
        'sweep-reservations',
        [...k.common, k.budgets, k.held, k.reservations, k.reservationTimes, k.reservationOffset],
        [now, this.#maxLen, SWEEP_LIMIT],
        'sweep',
      ),
    );
    return result;
  }

  /**
   * The agents past their TTL that the caller spares (SweepOptions.spare). Read before the sweep
   * script, which cannot call back; only the agents that are silent are read, by this process's
   * clock with a margin of {@link CLOCK_HOLD_MS}: the script judges by Redis's clock, which may be
   * ahead of this one.
   */
  async #spared(
    now: number,
    agentTtlMs: number,
    spare: NonNullable<SweepOptions['spare']>,
  ): Promise<string[]> {
    const k = this.#keys;
    const silent = await this.#call('sweep', () =>
      this.#client.zrangebyscore(
        k.hb,
        '-inf',
        `(${now - agentTtlMs + CLOCK_HOLD_MS}`,
        'LIMIT',
        0,
        SWEEP_LIMIT,
      ),
    );
    if (silent.length === 0) return [];
    const fields = await this.#call('sweep', () => {
      const pipeline = this.#client.pipeline();
      for (const id of silent) pipeline.hmget(k.agent(id), 'host', 'pid', 'started', 'hb');
      return pipeline.exec();
    });
    const spared: string[] = [];
    silent.forEach((id, index) => {
      const [error, values] = fields?.[index] ?? [null, null];
      if (error !== null || !Array.isArray(values)) return;
      const [host = null, pid = null, started, hb] = values as (string | null)[];
      const agent: SilentAgent = {
        id,
        host: host === null || host === '' ? null : host,
        pid: pid === null || pid === '' ? null : Number(pid),
        startedAt: Number(started),
        lastHeartbeatAt: Number(hb),
      };
      if (spare(agent) === true) spared.push(id);
    });
    return spared;
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  async getTask(taskId: string): Promise<TaskRecord | null> {
    this.#open();
    const flat = await this.#run(
      'get-task',
      [this.#keys.task(taskId), this.#keys.pending],
      [],
      'getTask',
    );
    const h = toHash(flat);
    return h.spec === undefined ? null : toTask(h);
  }

  async getAttempts(taskId: string): Promise<AttemptRecord[]> {
    this.#open();
    const h = await this.#call('getAttempts', () => this.#client.hgetall(this.#keys.task(taskId)));
    return toAttempts(h, taskId);
  }

  async listTasks(filter: TaskFilter = {}): Promise<TaskPage> {
    this.#open();
    const limit = filter.limit ?? DEFAULT_PAGE;
    const after = String(parseSeqCursor(filter.cursor, 'listTasks.cursor'));
    const k = this.#keys;
    const index = filter.runId === undefined ? k.tasks : k.runTasks(filter.runId);
    const reply = (await this.#run(
      'list-tasks',
      [k.prefix, index, k.pending],
      [
        after,
        limit,
        filter.state ?? '',
        filter.type ?? '',
        filter.agentId ?? '',
        Math.max(1000, limit * 4),
      ],
      'listTasks',
    )) as unknown[];
    const next = String(reply[0]);
    return {
      tasks: reply.slice(1).map((flat) => toTask(toHash(flat))),
      nextCursor: next === '' ? null : next,
    };
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    this.#open();
    const h = await this.#call('getRun', () => this.#client.hgetall(this.#keys.run(runId)));
    return h.id === undefined ? null : toRun(h);
  }

  async listRuns(filter: RunFilter = {}): Promise<RunPage> {
    this.#open();
    const limit = filter.limit ?? DEFAULT_PAGE;
    const order = filter.order ?? 'desc';
    const after =
      filter.cursor === undefined ? '' : String(parseSeqCursor(filter.cursor, 'listRuns.cursor'));
    const reply = (await this.#run(
      'list-runs',
      [this.#keys.prefix, this.#keys.runs],
      [after, limit, order],
      'listRuns',
    )) as unknown[];
    const next = String(reply[0]);
    return {
      runs: reply.slice(1).map((flat) => toRun(toHash(flat))),
      nextCursor: next === '' ? null : next,
    };
  }

  async listAgents(): Promise<AgentRecord[]> {
    this.#open();
    const reply = (await this.#run(
      'list-agents',
      [this.#keys.prefix, this.#keys.agents],
      [],
      'listAgents',
    )) as [unknown, string[], unknown][];
    return reply.map(([flat, inFlight, stats]) => toAgent(toHash(flat), inFlight, toHash(stats)));
  }

  async stats(): Promise<Stats> {
    this.#open();
    const k = this.#keys;
    const [counts, ready, agentStates] = (await this.#run(
      'stats',
      [k.prefix, k.counts, k.queues, k.agents],
      [],
      'stats',
    )) as [unknown, unknown[], string[]];
    // One entry per queue (type, requires set) with ready tasks: group them by requires set.
    const groups = new Map<string, Stats['readyByRequires'][number]>();
    for (let i = 0; i + 1 < ready.length; i += 2) {
      const [type, requires] = JSON.parse(String(ready[i])) as [string, string[]];
      const count = Number(ready[i + 1]);
      const key = JSON.stringify(requires);
      const group = groups.get(key);
      if (group) {
        group.count += count;
        group.byType[type] = count;
      } else groups.set(key, { requires, count, byType: { [type]: count } });
    }
    const readyByRequires = [...groups.values()].sort((x, y) =>
      compareLists(x.requires, y.requires),
    );
    const agents = { active: 0, lost: 0, stopped: 0 };
    for (const state of agentStates) if (state in agents) agents[state as keyof typeof agents]++;
    return { byState: toCounts(toHash(counts)), readyByRequires, agents };
  }

  async readEvents(options: ReadEventsOptions = {}): Promise<BatonEvent[]> {
    this.#open();
    const since = options.since === undefined ? null : parseEventId(options.since);
    if (options.since !== undefined && since === null)
      throw unknownCursor(options.since, 'readEvents.since');
    const limit = options.limit ?? DEFAULT_EVENT_PAGE;
    const key = this.#keys.events;
    const out: BatonEvent[] = [];
    // An id inside a packed entry: read that entry again (inclusive start) and skip its events
    // up to the index. `limit` counts events: an entry may hold many, so ask for about as many
    // entries as the events still wanted need, and again while the page is not full.
    let start = since === null ? '-' : since.index === null ? `(${since.entry}` : since.entry;
    for (;;) {
      const inclusive = since !== null && start === since.entry ? 1 : 0;
      const count = this.#entriesFor(limit - out.length) + inclusive;
      const from = start;
      const entries = await this.#call('readEvents', () =>
        this.#client.xrange(key, from, '+', 'COUNT', count),
      );
      this.#takeEvents(entries, since, limit, out);
      if (out.length >= limit || entries.length < count) break;
      start = `(${entries[entries.length - 1]![0]}`;
    }
    const blockMs = options.blockMs ?? 0;
    if (out.length > 0 || blockMs <= 0) return out;
    // Nothing after `since`: every event of its entry was read (or the entry was trimmed), so
    // wait for entries after that entry.
    const reply = await this.#blocking('readEvents', options.signal, (conn) =>
      conn.xread(
        'COUNT',
        this.#entriesFor(limit),
        'BLOCK',
        Math.max(1, Math.round(blockMs)),
        'STREAMS',
        key,
        since?.entry ?? '0-0',
      ),
    );
    if (!reply) return out;
    const stream = reply[0] as [string, [string, string[]][]] | undefined;
    if (stream) this.#takeEvents(stream[1], null, limit, out);
    return out;
  }

  async latestEvents(options: LatestEventsOptions): Promise<BatonEvent[]> {
    this.#open();
    const key = this.#keys.events;
    const types = new Set<string>(options.types);
    const out: BatonEvent[] = [];
    // Backwards from the newest entry, a page of entries at a time, until `limit` matches or the
    // start of the stream. An entry may pack several events: newest last, so read it reversed.
    let end = '+';
    for (;;) {
      const from = end;
      const entries = await this.#call('latestEvents', () =>
        this.#client.xrevrange(key, from, '-', 'COUNT', LATEST_EVENTS_PAGE),
      );
      for (const entry of entries) {
        const events = toEvents(entry);
        for (let i = events.length - 1; i >= 0; i--) {
          const event = events[i]!;
          if (!types.has(event.type)) continue;
          out.push(event);
          if (out.length >= options.limit) return out;
        }
      }
      if (entries.length < LATEST_EVENTS_PAGE) return out;
      end = `(${entries[entries.length - 1]![0]}`;
    }
  }

  /** How many stream entries to read for `events` more events. */
  #entriesFor(events: number): number {
    // Unknown yet: a modest first read, whose entries tell the next one.
    if (this.#eventsPerEntry === null) return Math.min(events, 100);
    return Math.max(1, Math.min(events, Math.ceil(events / this.#eventsPerEntry)));
  }

  /** Append the events of `entries` to `out` up to `limit`, leaving out those up to `since`. */
  #takeEvents(
    entries: [string, string[]][],
    since: { entry: string; index: number | null } | null,
    limit: number,
    out: BatonEvent[],
  ): void {
    let seen = 0;
    let parsed = 0;
    for (const entry of entries) {
      if (out.length >= limit) break;
      let events = toEvents(entry);
      seen += events.length;
      parsed++;
      if (since?.index != null && entry[0] === since.entry) events = events.slice(since.index + 1);
      for (const event of events) {
        if (out.length >= limit) break;
        out.push(event);
      }
    }
    if (parsed > 0) this.#eventsPerEntry = seen / parsed;
  }

  async lastEventId(): Promise<string | null> {
    this.#open();
    const key = this.#keys.events;
    const [newest] = await this.#call('lastEventId', () =>
      this.#client.xrevrange(key, '+', '-', 'COUNT', 1),
    );
    // The last event of the newest entry (a packed entry's last sub-id).
    return newest ? toEvents(newest).at(-1)!.id : null;
  }

  async recordEvent(event: RecordableEvent): Promise<string> {
    this.#open();
    const data = JSON.stringify(event.data ?? {});
    // A script, not a bare XADD: the event is counted for trimming like every other
    // (lua/includes/common.lua), in the same atomic step.
    const id = await this.#run(
      'record-event',
      this.#keys.common,
      [this.#stamp(), this.#maxLen, event.type, event.agentId ?? '', data],
      'recordEvent',
    );
    return String(id);
  }

  async waitForWork(options: WaitForWorkOptions): Promise<void> {
    this.#open();
    if (options.signal?.aborted) return;
    const k = this.#keys;
    const [filter, earliest] = (await this.#run(
      'wait-prepare',
      [...k.common, k.queues, k.filters],
      [this.#stamp(), this.#maxLen, filterKey(options.capabilities, options.types)],
      'waitForWork',
    )) as [string, string];
    let timeoutMs = options.timeoutMs;
    const now = this.#clock();
    if (earliest !== '') {
      // A delayed task becomes due then: wake up to claim it (the claim promotes it).
      const dueIn = Number(earliest) - now;
      if (dueIn <= 0) return;
      timeoutMs = Math.min(timeoutMs, dueIn);
    }
    // Tasks this agent's last claim left to better-fitting peers become its to take then,
    // unless a wake-up comes first.
    const agentId = options.agentId;
    const deferredUntil = agentId === undefined ? undefined : this.#deferrals.get(agentId);
    if (deferredUntil !== undefined) {
      const dueIn = deferredUntil - now;
      if (dueIn <= 0) return;
      timeoutMs = Math.min(timeoutMs, dueIn);
    }
    if (!(timeoutMs > 0)) return;
    // Its filter's marker (new work), and its own (a claim left it tasks).
    const markers = [k.wakeMarker(filter)];
    if (agentId !== undefined) markers.push(k.agentWakeMarker(agentId));
    // BZPOPMIN takes seconds; 0 would mean "forever".
    const seconds = Math.max(1, Math.round(timeoutMs)) / 1000;
    await this.#blocking('waitForWork', options.signal, (conn) =>
      conn.bzpopmin(...markers, seconds),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // The usage and cost ledger, budgets (docs/costs.md; lua/record-usage-10.lua and friends)

  /** The ledger's fixed keys after the common ones: budgets, spent, held, rsv, rsvz. */
  get #ledgerKeys(): string[] {
    const k = this.#keys;
    return [k.budgets, k.spent, k.held, k.reservations, k.reservationTimes];
  }

  async recordUsage(usage: CheckedUsage): Promise<UsageOutcome> {
    this.#open();
    const reply = (await this.#run(
      'record-usage',
      [...this.#keys.common, ...this.#ledgerKeys],
      [
        this.#stamp(),
        this.#maxLen,
        usage.taskId,
        usage.token,
        usage.agentId,
        usage.provider,
        usage.model,
        usage.inputTokens,
        usage.outputTokens,
        usage.cacheReadTokens,
        usage.cacheWriteTokens,
        usage.reasoningTokens,
        usage.costNano,
        usage.costBasis,
        usage.reservationId ?? '',
      ],
      'recordUsage',
    )) as unknown[];
    return usageOutcome(reply, usage);
  }

  async recordModelChoice(input: ModelChoiceInput): Promise<ModelChoiceOutcome> {
    this.#open();
    const choice: AttemptModel = {
      model: input.model,
      tier: input.tier,
      complexity: input.complexity,
      reason: input.reason,
    };
    const reply = (await this.#run(
      'record-model-choice',
      this.#keys.common,
      [
        this.#stamp(),
        this.#maxLen,
        input.taskId,
        input.token,
        input.agentId,
        JSON.stringify(choice),
      ],
      'recordModelChoice',
    )) as string[];
    const status = String(reply[0]);
    if (status === 'not_found' || status === 'not_held') return { status, taskId: input.taskId };
    const run = reply[2] ?? '';
    return { status: 'ok', attempt: Number(reply[1]), runId: run === '' ? null : run };
  }

  async recordModelOutcome(input: ModelOutcomeInput): Promise<void> {
    this.#open();
    const field = modelOutcomeField(input.taskType, input.complexity, input.model);
    const key = this.#keys.modelOutcomes;
    await this.#call('recordModelOutcome', () =>
      this.#client
        .multi()
        .hincrby(key, `${field}|r`, 1)
        .hincrby(key, `${field}|s`, input.succeeded ? 1 : 0)
        .exec(),
    );
  }

  async modelHistory(query: ModelHistoryQuery): Promise<ModelHistory[]> {
    this.#open();
    if (query.models.length === 0) return [];
    const fields = query.models.flatMap((model) => {
      const field = modelOutcomeField(query.taskType, query.complexity, model);
      return [`${field}|r`, `${field}|s`];
    });
    const values = await this.#call('modelHistory', () =>
      this.#client.hmget(this.#keys.modelOutcomes, ...fields),
    );
    return query.models.map((model, i) => ({
      model,
      runs: Number(values[2 * i] ?? 0),
      succeeded: Number(values[2 * i + 1] ?? 0),
    }));
  }

  async usageOf(taskId: string): Promise<UsageRecord[]> {
    this.#open();
    const list = await this.#call('usageOf', () =>
      this.#client.lrange(this.#keys.usage(taskId), 0, -1),
    );
    return list.map(toUsageRecord);
  }

  async costs(query: CostQuery = {}): Promise<CostReport> {
    this.#open();
    const k = this.#keys;
    const runId = query.runId ?? null;
    const by = query.by ?? null;
    const [exists, totals, groups, budget] = await this.#call('costs', () =>
      Promise.all([
        runId === null ? Promise.resolve(1) : this.#client.exists(k.run(runId)),
        this.#client.hgetall(k.costTotals(runId)),
        by === null ? Promise.resolve({}) : this.#client.hgetall(k.costGroups(runId, by)),
        runId === null ? Promise.resolve(null) : this.#budget(runId),
      ]),
    );
    if (exists === 0) throw new NotFoundError('run', runId!);
    return { runId, total: totalsOf(totals), by, groups: groupsOf(groups), budget };
  }

  async budgetOf(id: string): Promise<BudgetStatus | null> {
    this.#open();
    return this.#call('budgetOf', () => this.#budget(id));
  }

  async #budget(id: string): Promise<BudgetStatus | null> {
    const k = this.#keys;
    const [limit, spent, held] = await Promise.all([
      this.#client.hget(k.budgets, id),
      this.#client.hget(k.spent, id),
      this.#client.hget(k.held, id),
    ]);
    return budgetOfFields(limit, spent, held);
  }

  async reserveBudget(input: CheckedReserve): Promise<ReserveOutcome> {
    this.#open();
    const id = newReservationId();
    const reply = (await this.#run(
      'reserve-budget',
      [...this.#keys.common, ...this.#ledgerKeys],
      [this.#stamp(), this.#maxLen, input.taskId, input.token, input.agentId, input.nano, id],
      'reserveBudget',
    )) as unknown[];
    return reserveOutcome(
      reply,
      input,
      id,
      (raw) => this.#outcome(input, raw, false) as ReserveOutcome,
    );
  }

  async releaseReservation(reservationId: string, taskId?: string): Promise<boolean> {
    this.#open();
    const k = this.#keys;
    const released = await this.#run(
      'release-reservation',
      [k.budgets, k.held, k.reservations, k.reservationTimes],
      [reservationId, taskId ?? ''],
      'releaseReservation',
    );
    return Number(released) === 1;
  }

  // ---------------------------------------------------------------------------------------------
  // Shared state (lua/includes/state.lua)

  async getState(scope: string, key: string): Promise<StateEntry | null> {
    this.#open();
    const reply = (await this.#run(
      'state-get',
      [this.#keys.prefix],
      [this.#stamp(), scope, key],
      'getState',
    )) as string[];
    return reply.length === 0 ? null : stateEntry(scope, key, reply, 0);
  }

  async setState(input: CheckedStateWrite): Promise<StateOutcome> {
    this.#open();
    const f = input.fence;
    const reply = (await this.#run(
      'state-set',
      [this.#keys.prefix],
      [
        this.#stamp(),
        input.scope,
        input.key,
        input.json,
        input.ttlMs ?? '',
        input.expectedVersion ?? '',
        f?.taskId ?? '',
        f?.token ?? '',
        f?.agentId ?? '',
      ],
      'setState',
    )) as string[];
    if (reply[0] === 'ok') {
      return {
        status: 'ok',
        entry: {
          scope: input.scope,
          key: input.key,
          value: JSON.parse(input.json) as Json,
          version: Number(reply[1]),
          expiresAt: reply[2] === '' ? null : Number(reply[2]),
          updatedAt: Number(reply[3]),
        },
      };
    }
    return this.#stateRefusal(reply, f);
  }

  async deleteState(input: StateDelete): Promise<StateOutcome> {
    this.#open();
    const f = input.fence;
    const reply = (await this.#run(
      'state-delete',
      [this.#keys.prefix],
      [
        this.#stamp(),
        input.scope,
        input.key,
        input.expectedVersion ?? '',
        f?.taskId ?? '',
        f?.token ?? '',
        f?.agentId ?? '',
      ],
      'deleteState',
    )) as string[];
    if (reply[0] === 'ok') {
      return {
        status: 'ok',
        entry: reply.length === 1 ? null : stateEntry(input.scope, input.key, reply, 1),
      };
    }
    return this.#stateRefusal(reply, f);
  }

  async listState(scope: string, options: CheckedStateList): Promise<StateEntry[]> {
    this.#open();
    const reply = (await this.#run(
      'state-list',
      [this.#keys.prefix],
      [this.#stamp(), scope, options.prefix, options.after ?? '', options.limit],
      'listState',
    )) as string[];
    const entries: StateEntry[] = [];
    for (let i = 0; i + 4 < reply.length; i += 5) {
      entries.push(stateEntry(scope, reply[i]!, reply, i + 1));
    }
    return entries;
  }

  // Expertise versions: one list per domain (keys.ts, `P xp:<domain>`), RPUSHed: its length
  // after the push is the version's number, atomically.

  async addExpertiseVersion(input: ExpertiseVersionInput): Promise<ExpertiseVersion> {
    this.#open();
    const origin = input.origin ?? null;
    const createdAt = this.#clock();
    const json = JSON.stringify({ text: input.text, source: input.source, origin, createdAt });
    const version = await this.#client.rpush(`${this.#keys.prefix}xp:${input.domain}`, json);
    return {
      domain: input.domain,
      version,
      text: input.text,
      source: input.source,
      origin,
      createdAt,
    };
  }

  async expertiseVersions(domain: string): Promise<ExpertiseVersion[]> {
    this.#open();
    const items = await this.#client.lrange(`${this.#keys.prefix}xp:${domain}`, 0, -1);
    return items.map((json, i) => redisExpertiseVersion(domain, i + 1, json));
  }

  async getExpertiseVersion(domain: string, version?: number): Promise<ExpertiseVersion | null> {
    this.#open();
    const key = `${this.#keys.prefix}xp:${domain}`;
    if (version === undefined) {
      const length = await this.#client.llen(key);
      if (length === 0) return null;
      const json = await this.#client.lindex(key, length - 1);
      return json === null ? null : redisExpertiseVersion(domain, length, json);
    }
    const json = await this.#client.lindex(key, version - 1);
    return json === null ? null : redisExpertiseVersion(domain, version, json);
  }

  #stateRefusal(reply: string[], fence: HeldLeaseRef | undefined): StateOutcome {
    if (reply[0] === 'version')
      return { status: 'version_mismatch', version: reply[1] === '' ? null : Number(reply[1]) };
    return this.#outcome(fence!, reply, false) as StateOutcome;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#batch.flush(); // sent before QUIT: they are answered
    this.#pool.close();
    if (this.#sweptWithLock) {
      // Hand the sweep over at once rather than after the lock runs out.
      const command = script('sweep-unlock').command;
      await (this.#client as unknown as Record<string, ScriptFn>)[command]!(
        this.#keys.sweep,
        this.#holder,
      ).catch(() => undefined);
    }
    await this.#client.quit().catch(() => this.#client.disconnect());
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  /**
   * The `now` argument of a script (ARGV[1]): '' on the real clock, so that the script stamps
   * with the Redis server's clock when it runs (lua/includes/common.lua store_now): one clock for
   * every process on the namespace, read where the transition happens. An injected clock's time
   * otherwise (tests drive time through it).
   */
  #stamp(): number | string {
    return this.#serverClock ? '' : this.#clock();
  }

  #open(): void {
    if (this.#closed) {
      throw new BatonError(
        'BATON_CLOSED',
        `the redis backend on ${this.#target.display} (namespace '${this.namespace}') was closed; open a new one`,
      );
    }
  }

  /** Run one script; any failure to reach Redis becomes a StoreUnavailableError. */
  async #run(
    name: ScriptName,
    keys: readonly string[],
    args: (string | number)[],
    operation: string,
  ): Promise<unknown> {
    // Submissions waiting for their group go first: commands keep the order they were called in.
    this.#batch.flush();
    const s = script(name);
    if (keys.length !== s.numberOfKeys) {
      throw new Error(`bug: script ${name} takes ${s.numberOfKeys} keys, got ${keys.length}`);
    }
    const fn = (this.#client as unknown as Record<string, ScriptFn>)[s.command]!;
    try {
      return await fn.call(this.#client, ...keys, ...args);
    } catch (error) {
      throw storeError(error, this.#target, operation);
    }
  }

  /** Run a plain command, mapping failures like {@link #run}. */
  async #call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    this.#batch.flush();
    try {
      return await fn();
    } catch (error) {
      throw storeError(error, this.#target, operation);
    }
  }

  /** Run a blocking command on a pooled connection; null when aborted or closed meanwhile. */
  async #blocking<T>(
    operation: string,
    signal: AbortSignal | undefined,
    fn: (conn: RedisClient) => Promise<T>,
  ): Promise<T | null> {
    try {
      return await this.#pool.run(signal, fn);
    } catch (error) {
      if (this.#closed) return null;
      throw storeError(error, this.#target, operation);
    }
  }
}

/**
 * Orders capability lists element by element, a prefix first (their JSON text would sort
 * `["a"]` before `[]`).
 */
function compareLists(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * The canonical filter of a claim or wait (lua/includes/registry.lua): sorted capabilities
 * without duplicates, and likewise the types when given, as JSON.
 */
function filterKey(capabilities: readonly string[], types: readonly string[] | undefined): string {
  const caps = [...new Set(capabilities)].sort();
  return JSON.stringify(types === undefined ? [caps] : [caps, [...new Set(types)].sort()]);
}

/** The routing policy as the claim script's argument (lua/includes/routing.lua parse_policy). */
function routingArg(p: RoutingPolicy): string {
  return [
    p.enabled ? 1 : 0,
    p.loadHalfLifeMs,
    p.agentLiveMs,
    p.contenders,
    p.historyMinRuns,
    p.preferWindowMs,
    p.fallbackGraceMs,
    p.successMargin,
    p.durationMargin,
    p.durationMinDiffMs,
  ].join(' ');
}

function closedRun(runId: string, state: string): ConflictError {
  return new ConflictError(
    `run ${runId} is ${state}: tasks can only be added to a running run; submit a new run instead`,
    { runId, state },
  );
}

function parseCommitReply(raw: unknown): CommitReply {
  const reply = raw as unknown[];
  switch (reply[0]) {
    case 'ok': {
      const changed = new Map<string, TaskState>();
      for (let i = 1; i + 1 < reply.length; i += 2)
        changed.set(String(reply[i]), reply[i + 1] as TaskState);
      return { kind: 'ok', changed };
    }
    case 'idem': {
      const taken: StoredTaskByKey[] = [];
      for (let i = 1; i + 3 < reply.length; i += 4) {
        taken.push({
          idempotencyKey: String(reply[i]),
          id: String(reply[i + 1]),
          state: reply[i + 2] as TaskState,
          key: reply[i + 3] ? String(reply[i + 3]) : null,
        });
      }
      return { kind: 'idem', taken };
    }
    case 'retry':
      return { kind: 'retry' };
    case 'not_found':
      return { kind: 'not_found' };
    case 'closed':
      return { kind: 'closed', state: String(reply[1]) };
    default:
      throw new Error(`bug: unexpected reply from a submit script: ${JSON.stringify(reply)}`);
  }
}

/** What a leased task sees of its dependencies, by the keys it named them with. */
function dependencyOutcomes(task: TaskRecord, deps: string[]): Record<string, DependencyOutcome> {
  const out: Record<string, DependencyOutcome> = {};
  task.dependsOn.forEach((spec, i) => {
    const base = i * 4;
    if (base + 3 >= deps.length) return;
    const state = deps[base + 1]!;
    if (state === '') return;
    const result = deps[base + 2]!;
    const error = deps[base + 3]!;
    out[spec.key] = {
      taskId: deps[base]!,
      key: spec.key,
      state: state as TaskState,
      soft: spec.soft,
      result: result === '' ? null : (JSON.parse(result) as Json),
      error: error === '' ? null : (JSON.parse(error) as TaskError),
    };
  });
  return out;
}

/**
 * A report as script arguments: '1', CPU, RSS ('' for null), abandoned handlers; or '0', '', '',
 * '0' for none.
 */
function reportArgs(report: AgentReport | undefined): string[] {
  if (report === undefined) return ['0', '', '', '0'];
  const { cpuPercent, rssBytes, abandonedHandlers = 0 } = report;
  return [
    '1',
    cpuPercent === null ? '' : String(cpuPercent),
    rssBytes === null ? '' : String(rssBytes),
    String(abandonedHandlers),
  ];
}

function checkOption(value: number | undefined, name: string, min: number): void {
  if (value !== undefined) checkInteger(value, name, min);
}

/** A submission that must be planned again (or refused): the budgets written for it go. */
class BudgetsUnused extends Error {
  readonly reply: CommitReply;
  constructor(reply: CommitReply) {
    super('the submission was not committed');
    this.reply = reply;
  }
}

/** A state entry from a script's reply: value, version, expiry ('' none), time from `at`. */
function stateEntry(scope: string, key: string, reply: string[], at: number): StateEntry {
  const exp = reply[at + 2]!;
  return {
    scope,
    key,
    value: JSON.parse(reply[at]!) as Json,
    version: Number(reply[at + 1]),
    expiresAt: exp === '' ? null : Number(exp),
    updatedAt: Number(reply[at + 3]),
  };
}

function redisExpertiseVersion(domain: string, version: number, json: string): ExpertiseVersion {
  const v = JSON.parse(json) as {
    text: string;
    source: string;
    origin: string | null;
    createdAt: number;
  };
  return {
    domain,
    version,
    text: v.text,
    source: v.source,
    origin: v.origin,
    createdAt: v.createdAt,
  };
}
