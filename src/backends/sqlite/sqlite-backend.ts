/**
 * The embedded backend: one SQLite file (WAL) under `.baton/`, shared by every process on the
 * machine that opens it. Each operation is one `BEGIN IMMEDIATE` transaction of prepared
 * statements (`sql/`), so it is atomic across processes; a batch (a 10 000-task submission, a
 * claim of 100, a complete of 100) is one transaction too. Small submissions called in the same
 * turn of the event loop share one transaction, each in its own savepoint (`group-commit.ts`).
 *
 * How the queue is laid out: see `migrations/000001_init.sql`. The ready queues are ranges of a
 * partial index, one per (namespace, task type, requires set), already in claim order, so a claim
 * reads the first rows of the few ranges the worker takes (its capabilities cover the requires
 * set, and it handles the type) and never sorts.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { DatabaseSync, SQLInputValue, SQLOutputValue, StatementSync } from 'node:sqlite';
import {
  AgentLostError,
  BatonError,
  ConflictError,
  NotFoundError,
  ValidationError,
} from '../../core/errors.ts';
import { storeTime } from '../../core/clock.ts';
import { compareReady } from '../../core/priority.ts';
import type { RoutingPolicy } from '../../core/routing.ts';
import {
  isTerminal,
  type AgentRecord,
  type AgentReport,
  type AgentSpec,
  type AttemptRecord,
  type BatonEvent,
  type DependencyOutcome,
  type Json,
  type Lease,
  type RunRecord,
  type RunSpec,
  type TaskError,
  type TaskRecord,
  type TaskSpec,
  type TaskState,
} from '../../core/types.ts';
import type { LogPage } from '../../core/logs.ts';
import { LIMITS, normalizeRun, normalizeTasks } from '../../core/validate.ts';
import type { BudgetStatus, CostReport, UsageRecord } from '../../core/ledger.ts';
import type {
  Backend,
  BackendFeatures,
  BackendOptions,
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
  SweepOptions,
  SweepResult,
  TaskFilter,
  TaskPage,
  WaitForWorkOptions,
} from '../backend.ts';
import { agentOwnerConflict, emptySweepResult, retryConflict } from '../backend.ts';
import type { CheckedStateList, CheckedStateWrite } from '../state.ts';
import { newAgentId, newRunId } from '../ids.ts';
import { unwatchCheckpoints, watchCheckpoints } from './checkpointer.ts';
import {
  DEFAULT_BUSY_TIMEOUT_MS,
  migrate,
  openDatabase,
  storeError,
  lockWaits,
  writeTransaction,
  type LockWaits,
} from './database.ts';
import {
  LEASE_ROW_COLUMNS,
  TASK_ROW_COLUMNS,
  columnsOf,
  countsOf,
  readLeaseRow,
  readTaskRow,
  toAgent,
  toAgentStats,
  toAttempt,
  toEvent,
  toRun,
  toTask,
  type AgentRow,
  type AgentStatsRow,
  type AttemptRow,
  type EventRow,
  type LeaseRow,
  type RunRow,
  type TaskRow,
} from './rows.ts';
import {
  DEFAULT_PAGE,
  checkInteger,
  checkLogBounds,
  checkRouting,
  parseSeqCursor,
  type CheckedComplete,
  type CheckedFail,
  type CheckedLogAppend,
  type CheckedLogLine,
  type CheckedRelease,
} from '../inputs.ts';
import { refusedLease } from '../refusals.ts';
import {
  recordClaim,
  routeClaim,
  type Candidate,
  type RoutingAgentRow,
  type RoutingContext,
} from './routing.ts';
import { prepareStatements, type Statements } from './statements.ts';
import { SqliteLedger, prepareLedgerStatements, withCost } from './ledger.ts';
import { SqliteModels } from './models.ts';
import { SqliteState } from './state.ts';
import { GroupCommit } from './group-commit.ts';
import { SqliteLogs, type HeldClaim } from './logs.ts';
import { insertTasks, runKeys } from './submit.ts';
import { WriteTx } from './transaction.ts';
import { Wakeups, type WorkFilter } from './wakeups.ts';

export interface SqliteBackendOptions extends BackendOptions {
  /**
   * The database file, or `:memory:` for a store that lives and dies with this instance.
   * Its folder must exist (`openBackend` creates it).
   */
  path: string;
  /**
   * How long a write waits for another process holding the lock before it retries.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * How often a waiting `waitForWork`/`readEvents` checks for commits by other processes, in ms.
   * Commits by this process wake waiters at once.
   * @default 20
   */
  pollIntervalMs?: number;
  /**
   * When several processes sweep one namespace, one sweeps per interval: the instance that swept
   * holds the sweep for this long (renewed by each of its sweeps, given back on `close()`), and
   * the others' `sweep()` calls return at once with nothing done, after a read and without
   * taking the write lock, while it does. Every process hosts a sweeper, so without this each
   * would take the write lock for every sweep, competing with heartbeats and claims (as the
   * Redis backend's option of the same name). 0 disables the coordination.
   * @default 2000
   */
  sweepLockMs?: number;
}

const DEFAULT_NAMESPACE = 'default';
const DEFAULT_POLL_MS = 20;
const DEFAULT_SWEEP_LOCK_MS = 2000;
const DEFAULT_EVENT_PAGE = 1000;

/** Backends of this process by database file, so a commit in one wakes the waiters of the others. */
const peersByFile = new Map<string, Set<SqliteBackend>>();

export class SqliteBackend implements Backend {
  readonly name = 'sqlite';
  readonly features: BackendFeatures;
  readonly location: StoreLocation | null;
  /** The namespace this instance works in. */
  readonly namespace: string;
  readonly #clock: () => number;
  readonly #maxPayloadBytes: number;
  readonly #db: DatabaseSync;
  readonly #st: Statements;
  /** The usage and cost ledger, budgets and reservations (ledger.ts). */
  readonly #ledger: SqliteLedger;
  /** Model selection's records: choices on attempts, and the history (models.ts). */
  readonly #models: SqliteModels;
  /** Shared state (state.ts). */
  readonly #state: SqliteState;
  /** Expertise versions. */
  readonly #xp: Record<'last' | 'put' | 'all' | 'latest' | 'one', StatementSync>;
  readonly #file: string;
  readonly #wakeups: Wakeups;
  /** Set while the process's checkpoint worker checkpoints this file for us. */
  #checkpointFallback: (() => void) | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  readonly #sweepLockMs: number;
  /** Identifies this instance as the holder of the namespace's sweep lock. */
  readonly #holder = randomUUID();
  #sweptWithLock = false;
  /** Small submissions waiting to share one write transaction (see group-commit.ts). */
  readonly #group: GroupCommit;
  #commits = 0;

  /** Queue id by {@link queueKey} (committed queues only). */
  readonly #queueIds = new Map<string, number>();
  /** Type and required capabilities of each queue, by id (committed queues only). */
  readonly #queues = new Map<number, { type: string; requires: readonly string[] }>();
  #lastQueueId = 0;
  /** Queues a worker takes, by {@link filterKey} of its capabilities and types. */
  readonly #eligible = new Map<string, { upTo: number; queues: number[] }>();
  /** The same as sets, by the claim filter routing reads from a peer's agent row. */
  readonly #claimFilterQueues = new Map<string, { upTo: number; queues: ReadonlySet<number> }>();
  readonly #routing: RoutingPolicy;
  readonly #busyTimeoutMs: number;
  readonly #lockWaits: LockWaits;
  /**
   * Until when each agent's last claim left ready tasks to better-fitting peers (routing): its
   * next `waitForWork` does not count them as work before then.
   */
  readonly #deferrals = new Map<string, number>();
  /** Task logs: appends in the write transactions, reads (logs.ts). */
  readonly #logs: SqliteLogs;

  constructor(options: SqliteBackendOptions) {
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    if (typeof namespace !== 'string' || namespace.length === 0) {
      throw new ValidationError([{ path: 'namespace', message: 'must be a non-empty string' }]);
    }
    this.namespace = namespace;
    this.#clock = options.clock ?? Date.now;
    this.#maxPayloadBytes = options.maxPayloadBytes ?? LIMITS.maxPayloadBytes;
    this.#routing = checkRouting(options.routing);
    const logBounds = checkLogBounds(options.logs);
    if (options.sweepLockMs !== undefined) checkInteger(options.sweepLockMs, 'sweepLockMs', 0);
    this.#sweepLockMs = options.sweepLockMs ?? DEFAULT_SWEEP_LOCK_MS;
    const memory = options.path === ':memory:';
    this.#file = memory ? `:memory:${Math.random()}` : resolve(options.path);
    this.features = { multiProcess: !memory, blockingWait: false };
    // Another connection is equivalent only on the same file and the same (real) clock.
    this.location =
      memory || options.clock !== undefined
        ? null
        : { url: `sqlite:${this.#file}`, namespace: this.namespace };
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#db = openDatabase(options.path, busyTimeoutMs);
    try {
      migrate(this.#db, this.#clock());
      this.#lockWaits = lockWaits(this.#db, busyTimeoutMs);
      this.#st = prepareStatements(this.#db);
      this.#ledger = new SqliteLedger(prepareLedgerStatements(this.#db), this.namespace);
      this.#models = new SqliteModels(this.#db, this.namespace);
      this.#state = new SqliteState(this.#db, this.namespace);
      const cols = 'version, text, source, origin, created_at';
      this.#xp = {
        last: this.#db.prepare(
          'SELECT max(version) AS version FROM expertise_versions WHERE ns = ? AND domain = ?',
        ),
        put: this.#db.prepare(
          'INSERT INTO expertise_versions (ns, domain, version, text, source, origin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ),
        all: this.#db.prepare(
          `SELECT ${cols} FROM expertise_versions WHERE ns = ? AND domain = ? ORDER BY version`,
        ),
        latest: this.#db.prepare(
          `SELECT ${cols} FROM expertise_versions WHERE ns = ? AND domain = ? ORDER BY version DESC LIMIT 1`,
        ),
        one: this.#db.prepare(
          `SELECT ${cols} FROM expertise_versions WHERE ns = ? AND domain = ? AND version = ?`,
        ),
      };
      this.#logs = new SqliteLogs(this.#st, this.namespace, logBounds);
      this.#group = new GroupCommit({
        db: this.#db,
        path: this.#file,
        transaction: (fn) =>
          writeTransaction(this.#db, this.#file, fn, busyTimeoutMs, this.#lockWaits),
        begin: () => new WriteTx(this.#st, this.namespace, this.#now()),
        committed: (txs) => this.#committed(txs),
      });
    } catch (error) {
      this.#db.close();
      throw error;
    }
    if (!memory) {
      // Checkpoints run on a worker thread, not inside our commits (see checkpointer.ts).
      const fallback = (): void => {
        if (!this.#closed) this.#db.exec('PRAGMA wal_autocheckpoint = 1000');
      };
      this.#db.exec('PRAGMA wal_autocheckpoint = 0');
      if (watchCheckpoints(this.#file, busyTimeoutMs, fallback))
        this.#checkpointFallback = fallback;
      else fallback();
    }
    this.#wakeups = new Wakeups(
      {
        hasReadyWork: (filter) => this.#hasReadyWork(filter),
        takes: (filter, queue) => this.#takes(filter, queue),
        nextDue: () => this.#nextDue(),
        dataVersion: () => (this.#st.dataVersion.get() as { data_version: number }).data_version,
        clock: this.#clock,
      },
      options.pollIntervalMs ?? DEFAULT_POLL_MS,
    );
    let peers = peersByFile.get(this.#file);
    if (!peers) peersByFile.set(this.#file, (peers = new Set()));
    peers.add(this);
  }

  // ---------------------------------------------------------------------------------------------
  // Submitting

  async submitRun(spec: RunSpec): Promise<SubmittedRun> {
    this.#open();
    const run = normalizeRun(spec, { now: this.#clock(), maxPayloadBytes: this.#maxPayloadBytes });
    const runId = newRunId();
    const tasks = await this.#group.add(run.tasks.length, null, (tx) => {
      this.#st.runInsert.run(runId, this.namespace, run.name, tx.now);
      tx.event('run.submitted', null, runId, null, { name: run.name, tasks: run.tasks.length });
      tx.touchRun(runId);
      const submitted = insertTasks(this.#st, tx, run.tasks, runId, new Map(), this.#queueId);
      this.#ledger.insertBudgets(runId, run.budgetUsd, run.tasks, submitted);
      return submitted;
    });
    return { runId, tasks };
  }

  async submitTasks(specs: TaskSpec[], options: SubmitTasksOptions = {}): Promise<SubmittedTask[]> {
    this.#open();
    const now = this.#clock();
    const runId = options.runId;
    if (runId === undefined) {
      const tasks = normalizeTasks(specs, { now, maxPayloadBytes: this.#maxPayloadBytes });
      if (tasks.length === 0) return [];
      return this.#group.add(tasks.length, null, (tx) => {
        const submitted = insertTasks(this.#st, tx, tasks, null, new Map(), this.#queueId);
        this.#ledger.insertBudgets(null, null, tasks, submitted);
        return submitted;
      });
    }
    // Validate against the keys the run has now (with those of the submissions to this run
    // called before this one: they are written first); the transaction reads them again, so a
    // key added meanwhile by another process is still caught.
    this.#group.flushRun(runId);
    this.#openRun(runId);
    const keys = runKeys(this.#st, runId);
    const tasks = normalizeTasks(specs, {
      now,
      maxPayloadBytes: this.#maxPayloadBytes,
      existingKeys: new Set(keys.keys()),
    });
    if (tasks.length === 0) return [];
    return this.#group.add(tasks.length, runId, (tx) => {
      this.#openRun(runId);
      const fresh = runKeys(this.#st, runId);
      const clashes = tasks.flatMap((t, i) =>
        t.key !== null && fresh.has(t.key) && !keys.has(t.key)
          ? [
              {
                path: `tasks[${i}].key`,
                message: `'${t.key}' was just added to run ${runId} by another submission; use another key`,
              },
            ]
          : [],
      );
      if (clashes.length > 0) throw new ValidationError(clashes);
      tx.touchRun(runId);
      const submitted = insertTasks(this.#st, tx, tasks, runId, fresh, this.#queueId);
      this.#ledger.insertBudgets(null, null, tasks, submitted);
      return submitted;
    });
  }

  /** The run must exist in this namespace and still be running to accept tasks. */
  #openRun(runId: string): void {
    const run = this.#st.runById.get(runId, this.namespace) as RunRow | undefined;
    if (!run) throw new NotFoundError('run', runId);
    if (run.state !== 'running') {
      throw new ConflictError(
        `run ${runId} is ${run.state}: tasks can only be added to a running run; submit a new run instead`,
        { runId, state: run.state },
      );
    }
  }

  /** The id of the queue of a task type and requires set (sorted JSON), registering it when new. */
  readonly #queueId = (tx: WriteTx, type: string, requires: string): number => {
    const key = queueKey(type, requires);
    const known = this.#queueIds.get(key) ?? tx.newQueues.get(key);
    if (known !== undefined) return known;
    const { id } = this.#st.queueInsert.get(type, requires) as { id: number };
    tx.newQueues.set(key, id);
    return id;
  };

  // ---------------------------------------------------------------------------------------------
  // Claiming and settling leases

  async claim(request: ClaimRequest): Promise<Lease[]> {
    this.#open();
    const { agentId, capabilities, types, max, leaseTtlMs } = request;
    let deferredUntil: number | null = null;
    const claimed = await this.#write((tx) => {
      const now = tx.now;
      const st = this.#st;
      const agent = st.agentById.get(this.namespace, agentId) as AgentRow | undefined;
      if (!agent || agent.state !== 'active') throw new AgentLostError(agentId);
      this.#promoteDue(tx);
      if (max === 0) return [];

      const queues = this.#eligibleQueues({ capabilities, types });
      const self = agent as unknown as RoutingAgentRow;
      // Routing (docs/routing.md) when live peers could take these tasks too; else the plain
      // claim: the first `max` ready tasks of each queue the worker takes, merged in claim order.
      const filter = filterKey({ capabilities, types });
      const routing: RoutingContext = {
        st,
        ns: this.namespace,
        now,
        policy: this.#routing,
        self,
        filter,
        queues,
        max,
        queueType: (queue) => this.#queues.get(queue)?.type ?? '',
        queuesOf: (other) => this.#queuesOfClaimFilter(other),
      };
      const routed = this.#routing.enabled ? routeClaim(routing) : null;
      let chosen: Candidate[] = [];
      if (routed) {
        chosen = routed.chosen;
        deferredUntil = routed.deferredUntil;
      } else {
        for (const queue of queues) {
          const rows = st.tasksReadyCandidates.all(
            this.namespace,
            queue,
            max,
          ) as unknown as Candidate[];
          chosen = chosen.length === 0 ? rows : chosen.concat(rows);
        }
        if (queues.length > 1 && chosen.length > 1) {
          chosen.sort((a, b) =>
            compareReady(
              { priority: a.priority, criticalPath: a.critical_path, seq: a.seq },
              { priority: b.priority, criticalPath: b.critical_path, seq: b.seq },
            ),
          );
          if (chosen.length > max) chosen.length = max;
        }
      }

      const expiresAt = now + leaseTtlMs;
      const leases: Lease[] = [];
      for (const candidate of chosen) {
        if (st.taskClaim.run(candidate.seq, agentId, expiresAt, now).changes === 0) continue;
        const row = this.#taskRow(st.taskBySeq, candidate.seq)!;
        st.attemptInsert.run(row.seq, row.token, row.attempts, agentId, now);
        tx.event(
          'task.claimed',
          row.id,
          row.run_id,
          agentId,
          `{"attempt":${row.attempts},"token":${row.token}}`,
        );
        tx.moved(row.run_id, 'ready', 'running');
        leases.push({
          taskId: row.id,
          token: row.token,
          attempt: row.attempts,
          agentId,
          expiresAt,
          task: toTask(row),
          dependencies: row.dep_ids === null ? {} : this.#dependencyOutcomes(row),
        });
      }
      recordClaim(routing, leases.length, routed?.selfInFlight);
      return leases;
    });
    // Remembered for this agent's next waitForWork: the tasks it left to peers are not its work
    // until then.
    if (deferredUntil === null) this.#deferrals.delete(agentId);
    else this.#deferrals.set(agentId, deferredUntil);
    return claimed;
  }

  /** The queues an agent's stored claim filter (see {@link filterKey}) takes. */
  #queuesOfClaimFilter(filter: string): ReadonlySet<number> {
    let found = this.#claimFilterQueues.get(filter);
    if (found && found.upTo === this.#lastQueueId) return found.queues;
    const [capabilities, types] = JSON.parse(filter) as [string[], string[] | null];
    const queues = new Set(this.#eligibleQueues({ capabilities, types: types ?? undefined }));
    if (this.#claimFilterQueues.size >= 1000) this.#claimFilterQueues.clear();
    found = { upTo: this.#lastQueueId, queues };
    this.#claimFilterQueues.set(filter, found);
    return queues;
  }

  /** What a leased task sees of its dependencies, by the keys it named them with. */
  #dependencyOutcomes(row: TaskRow): Record<string, DependencyOutcome> {
    const specs = JSON.parse(row.depends_on ?? '[]') as { key: string; soft: boolean }[];
    const ids = JSON.parse(row.dep_ids ?? '[]') as string[];
    const found = new Map<
      string,
      { id: string; state: TaskState; result: string | null; error: string | null }
    >();
    for (const dep of this.#st.dependencyOutcomes.all(row.dep_ids) as unknown as {
      id: string;
      state: TaskState;
      result: string | null;
      error: string | null;
    }[]) {
      found.set(dep.id, dep);
    }
    const out: Record<string, DependencyOutcome> = {};
    specs.forEach((spec, i) => {
      const dep = found.get(ids[i] ?? '');
      if (!dep) return;
      out[spec.key] = {
        taskId: dep.id,
        key: spec.key,
        state: dep.state,
        soft: spec.soft,
        result: dep.result === null ? null : (JSON.parse(dep.result) as Json),
        error: dep.error === null ? null : (JSON.parse(dep.error) as TaskError),
      };
    });
    return out;
  }

  async renew(
    agentId: string,
    leases: LeaseRef[],
    leaseTtlMs: number,
    report?: AgentReport,
  ): Promise<SettleOutcome[]> {
    this.#open();
    return this.#write((tx) => {
      const now = tx.now;
      const expiresAt = now + leaseTtlMs;
      this.#agentSeen(agentId, now, true, report ?? null);
      return leases.map((ref): SettleOutcome => {
        const row = this.#st.taskRenew.get(
          ref.taskId,
          this.namespace,
          ref.token,
          now,
          expiresAt,
          agentId,
        );
        if (row) return { taskId: ref.taskId, status: 'ok', state: 'running', expiresAt };
        return this.#refusal(
          { taskId: ref.taskId, token: ref.token, agentId },
          this.#leaseRow(this.#st.taskLease, ref.taskId, this.namespace),
          now,
          true,
        );
      });
    });
  }

  async complete(items: CheckedComplete[]): Promise<SettleOutcome[]> {
    this.#open();
    const results = items.map((item) => JSON.stringify(item.result ?? null));
    return this.#write((tx) => {
      const now = tx.now;
      const st = this.#st;
      const held = heldClaims(items);
      // The agents' counters and progress are written once per call, not once per task.
      const reporters = new Set<string>();
      const completed: number[] = [];
      const outcomes = items.map((item, i): SettleOutcome => {
        const row = this.#leaseRow(st.taskLease, item.taskId, this.namespace);
        if (!holds(row, item, now)) return this.#refusal(item, row, now, false);
        held?.set(item.taskId, heldClaim(row));
        st.taskComplete.run(row.seq, item.token, results[i]!, now);
        const runMs = item.runMs ?? null;
        st.attemptFinish.run(row.seq, item.token, 'succeeded', null, now, runMs);
        const spent = st.attemptCost.get(row.seq, item.token) as { cost_nano: number | null };
        completed.push(row.seq);
        if (row.agent_id !== null) reporters.add(row.agent_id);
        tx.moved(row.run_id, 'running', 'succeeded');
        tx.event(
          'task.succeeded',
          item.taskId,
          row.run_id,
          row.agent_id,
          withCost(
            runMs === null
              ? `{"attempt":${row.attempts}}`
              : `{"attempt":${row.attempts},"runMs":${runMs}}`,
            spent.cost_nano,
          ),
        );
        if (row.has_dependents) tx.settleDependents(row.seq, item.taskId, row.key, 'succeeded');
        return { taskId: item.taskId, status: 'ok', state: 'succeeded' };
      });
      if (completed.length > 0) st.agentStatsSucceeded.run(JSON.stringify(completed), now);
      for (const agentId of reporters) st.agentProgress.run(this.namespace, agentId, now);
      this.#storeCarriedLogs(items, now, held);
      return outcomes;
    });
  }

  async fail(items: CheckedFail[]): Promise<SettleOutcome[]> {
    this.#open();
    return this.#write((tx) => {
      const now = tx.now;
      const held = heldClaims(items);
      const reporters = new Set<string>();
      const outcomes = items.map((item): SettleOutcome => {
        const row = this.#leaseRow(this.#st.taskLease, item.taskId, this.namespace);
        if (!holds(row, item, now)) return this.#refusal(item, row, now, false);
        held?.set(item.taskId, heldClaim(row));
        const state = tx.endAttempt(row, {
          outcome: item.outcome,
          error: item.error,
          retryable: item.retryable,
          delayMs: item.retryDelayMs ?? null,
          runMs: item.runMs ?? null,
        });
        if (row.agent_id !== null) reporters.add(row.agent_id);
        return { taskId: item.taskId, status: 'ok', state };
      });
      for (const agentId of reporters) this.#st.agentProgress.run(this.namespace, agentId, now);
      this.#storeCarriedLogs(items, now, held);
      return outcomes;
    });
  }

  async release(items: CheckedRelease[]): Promise<SettleOutcome[]> {
    this.#open();
    return this.#write((tx) => {
      const held = heldClaims(items);
      const outcomes = items.map((item): SettleOutcome => {
        const row = this.#leaseRow(this.#st.taskLease, item.taskId, this.namespace);
        if (!holds(row, item, tx.now)) return this.#refusal(item, row, tx.now, false);
        held?.set(item.taskId, heldClaim(row));
        const state = tx.releaseAttempt(row, item.reason, item.delayMs);
        return { taskId: item.taskId, status: 'ok', state };
      });
      this.#storeCarriedLogs(items, tx.now, held);
      return outcomes;
    });
  }

  /**
   * The lines settle items carry, stored in the same transaction as their outcomes
   * (CarriedLogs): a reader that sees the attempt ended has its every line. `held`: the leases
   * the call found held, whose claims need no second look.
   */
  #storeCarriedLogs(
    items: readonly (HeldLeaseRef & { logs?: CheckedLogLine[] })[],
    now: number,
    held: ReadonlyMap<string, HeldClaim> | undefined,
  ): void {
    let appends: CheckedLogAppend[] | undefined;
    for (const item of items) {
      if (item.logs === undefined || item.logs.length === 0) continue;
      (appends ??= []).push({
        taskId: item.taskId,
        token: item.token,
        agentId: item.agentId,
        lines: item.logs,
      });
    }
    if (appends !== undefined) this.#logs.append(appends, now, held);
  }

  // ---------------------------------------------------------------------------------------------
  // Task logs

  async appendLogs(items: CheckedLogAppend[]): Promise<LogAppendOutcome[]> {
    this.#open();
    if (items.length === 0) return [];
    return this.#write((tx) => this.#logs.append(items, tx.now));
  }

  readLogs(options: ReadLogsOptions & { limit: number }): Promise<LogPage> {
    return this.#read(() => {
      const task = this.#leaseRow(this.#st.taskLease, options.taskId, this.namespace);
      if (!task) throw new NotFoundError('task', options.taskId);
      return this.#logs.read(task.seq, options);
    });
  }

  readAgentLogs(options: ReadAgentLogsOptions & { limit: number }): Promise<LogPage> {
    return this.#read(() => this.#logs.readAgent(options));
  }

  /** Why `ref` does not hold its lease, as the outcome every backend reports (refusals.ts). */
  #refusal(
    ref: HeldLeaseRef,
    row: LeaseRow | undefined,
    now: number,
    renewing: boolean,
  ): SettleOutcome {
    const facts = row && {
      state: row.state,
      token: row.token,
      agentId: row.agent_id,
      leaseExpiresAt: row.lease_expires_at,
      now,
    };
    return refusedLease(ref.taskId, facts ?? null, ref, renewing, this.namespace);
  }

  // ---------------------------------------------------------------------------------------------
  // Cancelling

  async cancelTask(taskId: string, reason?: string): Promise<TaskRecord> {
    this.#open();
    return this.#write((tx) => {
      const row = this.#taskRow(this.#st.taskById, taskId, this.namespace);
      if (!row) throw new NotFoundError('task', taskId);
      if (isTerminal(row.state)) return toTask(row);
      const cancelled = this.#cancel(tx, row, reason ?? 'cancelled');
      if (cancelled.has_dependents)
        tx.settleDependents(cancelled.seq, cancelled.id, cancelled.key, 'cancelled');
      return toTask(cancelled);
    });
  }

  async cancelRun(runId: string, reason?: string): Promise<RunRecord> {
    this.#open();
    const why = reason ?? 'run cancelled';
    await this.#write((tx) => {
      const run = this.#st.runById.get(runId, this.namespace) as RunRow | undefined;
      if (!run) throw new NotFoundError('run', runId);
      if (run.state !== 'running') return;
      const open = this.#taskRows(this.#st.tasksOpenOfRun, runId);
      // Cancel every open task first, so dependents inside the run end cancelled, not skipped;
      // then settle dependents (only those outside the run can still be blocked).
      const cancelled = open.map((row) => this.#cancel(tx, row, why));
      for (const row of cancelled) {
        if (row.has_dependents) tx.settleDependents(row.seq, row.id, row.key, 'cancelled');
      }
      tx.cancellingRun(runId, why);
    });
    const record = await this.getRun(runId);
    if (!record) throw new NotFoundError('run', runId);
    return record;
  }

  async retryTask(taskId: string, options?: RetryTaskOptions): Promise<TaskRecord> {
    this.#open();
    const reason = options?.reason ?? null;
    return this.#write((tx) => {
      const row = this.#taskRow(this.#st.taskById, taskId, this.namespace);
      if (!row) throw new NotFoundError('task', taskId);
      if (row.state !== 'failed') throw retryConflict(taskId, row.state);
      tx.replay(
        {
          seq: row.seq,
          id: row.id,
          runId: row.run_id,
          queue: row.queue,
          attempts: row.attempts,
          hasDependents: row.has_dependents === 1,
        },
        reason,
      );
      return toTask(this.#taskRow(this.#st.taskBySeq, row.seq)!);
    });
  }

  /** Cancel one non-terminal task (ending its running attempt). */
  #cancel(tx: WriteTx, row: TaskRow, reason: string): TaskRow {
    const error: TaskError = { message: reason, code: 'BATON_CANCELLED' };
    const json = JSON.stringify(error);
    if (row.state === 'running')
      this.#st.attemptFinish.run(row.seq, row.token, 'cancelled', json, tx.now, null);
    this.#st.taskCancel.run(row.seq, json, tx.now);
    const cancelled = this.#taskRow(this.#st.taskBySeq, row.seq)!;
    tx.moved(row.run_id, row.state, 'cancelled');
    tx.event('task.cancelled', row.id, row.run_id, row.state === 'running' ? row.agent_id : null, {
      reason,
      from: row.state,
    });
    return cancelled;
  }

  // ---------------------------------------------------------------------------------------------
  // Agents

  async registerAgent(spec: AgentSpec): Promise<AgentRecord> {
    this.#open();
    const id = spec.id ?? newAgentId();
    const capabilities = spec.capabilities;
    return this.#write((tx) => {
      const now = tx.now;
      const row = this.#st.agentUpsert.get(
        this.namespace,
        id,
        spec.name ?? id,
        JSON.stringify(capabilities),
        JSON.stringify(spec.labels ?? {}),
        spec.concurrency,
        spec.host ?? null,
        spec.pid ?? null,
        spec.version ?? null,
        now,
        spec.owner ?? null,
      ) as unknown as AgentRow | undefined;
      // No row: the id is registered with another owner, and the upsert changed nothing.
      if (!row) throw agentOwnerConflict(id);
      tx.event('agent.joined', null, null, id, {
        name: row.name,
        capabilities,
        concurrency: spec.concurrency,
      });
      const stats = this.#st.agentStatsOf.all(this.namespace, id) as unknown as AgentStatsRow[];
      return toAgent(row, this.#inFlight(id), toAgentStats(stats));
    });
  }

  agentOwner(agentId: string): Promise<{ owner: string | null } | null> {
    return this.#read(() => {
      const row = this.#st.agentById.get(this.namespace, agentId) as AgentRow | undefined;
      return row ? { owner: row.owner } : null;
    });
  }

  async heartbeat(agentId: string, report?: AgentReport): Promise<void> {
    this.#open();
    await this.#write((tx) => {
      const now = tx.now;
      if (!this.#agentSeen(agentId, now, false, report ?? null)) throw new AgentLostError(agentId);
    });
  }

  /**
   * Record that an active agent is alive (and, for a renew, that its loop made progress), with
   * its process report when it sent one. False when the agent is unknown or not active.
   */
  #agentSeen(agentId: string, now: number, progress: boolean, report: AgentReport | null): boolean {
    const { changes } = this.#st.agentHeartbeat.run(
      this.namespace,
      agentId,
      now,
      progress ? 1 : 0,
      report === null ? 0 : 1,
      report?.cpuPercent ?? null,
      report?.rssBytes ?? null,
      report?.abandonedHandlers ?? 0,
      this.#routing.enabled ? this.#routing.loadHalfLifeMs : null,
    );
    return changes > 0;
  }

  async deregisterAgent(agentId: string): Promise<void> {
    this.#open();
    await this.#write((tx) => {
      const agent = this.#st.agentById.get(this.namespace, agentId) as AgentRow | undefined;
      if (!agent) throw new NotFoundError('agent', agentId);
      if (agent.state === 'stopped') return;
      for (const row of this.#leaseRows(this.#st.tasksRunningOfAgent, this.namespace, agentId)) {
        tx.releaseAttempt(row, 'agent_left');
      }
      this.#st.agentSetState.run(this.namespace, agentId, 'stopped');
      tx.event('agent.left', null, null, agentId, { from: agent.state });
    });
  }

  #inFlight(agentId: string): string[] {
    return this.#leaseRows(this.#st.tasksRunningOfAgent, this.namespace, agentId).map(
      (row) => row.id,
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Housekeeping

  async sweep(options: SweepOptions): Promise<SweepResult> {
    this.#open();
    const result = emptySweepResult();
    // Another process sweeps this interval: a read says so without taking the write lock.
    if (this.#sweepLockMs > 0 && this.#sweepLockedByOther(this.#clock())) return result;
    return this.#write((tx) => {
      const now = tx.now;
      const st = this.#st;
      const ns = this.namespace;
      if (this.#sweepLockMs > 0) {
        if (
          st.sweepLockTake.get(ns, this.#holder, tx.now + this.#sweepLockMs, tx.now) === undefined
        ) {
          return result; // taken by another process since the read
        }
        this.#sweptWithLock = true;
      }

      for (const row of this.#leaseRows(st.tasksLeaseExpired, ns, now)) {
        tx.endAttempt(row, {
          outcome: 'lease_expired',
          error: {
            message: `the lease of agent ${row.agent_id ?? '?'} expired at ${row.lease_expires_at ?? '?'} without a renew`,
            code: 'BATON_LEASE_LOST',
            retryable: true,
          },
          retryable: true,
          delayMs: 0,
        });
        result.expired++;
      }
      for (const row of this.#leaseRows(st.tasksTimedOut, ns, now)) {
        tx.endAttempt(row, {
          outcome: 'timed_out',
          error: {
            message: `attempt timed out after ${row.timeout_ms ?? '?'} ms`,
            code: 'BATON_TIMEOUT',
            name: 'TimeoutError',
            retryable: true,
          },
          retryable: true,
          delayMs: null,
        });
        // The agent should have aborted and reported it: it owes progress from now on.
        if (row.agent_id !== null) st.agentOverdue.run(ns, row.agent_id, now);
        result.timedOut++;
      }
      result.promoted = this.#promoteDue(tx);

      const silent = st.agentsSilent.all(ns, now - options.agentTtlMs) as unknown as {
        id: string;
        host: string | null;
        pid: number | null;
        started_at: number;
        last_heartbeat_at: number;
      }[];
      for (const agent of silent) {
        const spared = options.spare?.({
          id: agent.id,
          host: agent.host,
          pid: agent.pid,
          startedAt: agent.started_at,
          lastHeartbeatAt: agent.last_heartbeat_at,
        });
        if (spared === true) continue;
        st.agentSetState.run(ns, agent.id, 'lost');
        result.agentsLost.push(agent.id);
        tx.event('agent.lost', null, null, agent.id, {
          lastHeartbeatAt: agent.last_heartbeat_at,
          agentTtlMs: options.agentTtlMs,
        });
        for (const row of this.#leaseRows(st.tasksRunningOfAgent, ns, agent.id)) {
          tx.endAttempt(row, {
            outcome: 'agent_lost',
            error: {
              message: `agent ${agent.id} was declared lost: no heartbeat for over ${options.agentTtlMs} ms`,
              code: 'BATON_AGENT_LOST',
              retryable: true,
            },
            retryable: true,
            delayMs: 0,
          });
          result.released++;
        }
      }
      result.reservationsReleased = this.#ledger.sweep(now);
      this.#sweepStalls(tx, options.stallAfterMs, result);
      return result;
    });
  }

  /** Whether another instance holds the namespace's sweep lock at `now`. */
  #sweepLockedByOther(now: number): boolean {
    const row = this.#st.sweepLockHolder.get(this.namespace) as
      { holder: string; expires_at: number } | undefined;
    return row !== undefined && row.holder !== this.#holder && row.expires_at > now;
  }

  /** Record recoveries of stalled agents, then declare new stalls (SweepOptions.stallAfterMs). */
  #sweepStalls(tx: WriteTx, stallAfterMs: number | undefined, result: SweepResult): void {
    const st = this.#st;
    const ns = this.namespace;
    const now = tx.now;
    for (const agent of st.agentsRecovering.all(ns) as unknown as {
      id: string;
      stalled_at: number;
    }[]) {
      st.agentRecovered.run(ns, agent.id);
      result.agentsRecovered.push(agent.id);
      tx.event('agent.recovered', null, null, agent.id, {
        stalledAt: agent.stalled_at,
        stalledForMs: now - agent.stalled_at,
      });
    }
    if (stallAfterMs === undefined) return;
    for (const agent of st.agentsStall.all(ns, now, now - stallAfterMs) as unknown as {
      id: string;
      last_progress_at: number;
      reason: string;
    }[]) {
      result.agentsStalled.push(agent.id);
      tx.event('agent.stalled', null, null, agent.id, {
        reason: agent.reason,
        lastProgressAt: agent.last_progress_at,
        stallAfterMs,
      });
    }
  }

  /** Delayed tasks whose `runAfter` has come become ready. Returns how many. */
  #promoteDue(tx: WriteTx): number {
    const rows = this.#st.tasksDelayedDue.all(this.namespace, tx.now) as unknown as {
      id: string;
      run_id: string | null;
      queue: number;
    }[];
    for (const row of rows) {
      tx.moved(row.run_id, 'delayed', 'ready');
      tx.becameReady(row.queue);
      tx.event('task.ready', row.id, row.run_id, null, '{"from":"delayed"}');
    }
    return rows.length;
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  getTask(taskId: string): Promise<TaskRecord | null> {
    return this.#read(() => {
      const row = this.#taskRow(this.#st.taskById, taskId, this.namespace);
      return row ? toTask(row) : null;
    });
  }

  getAttempts(taskId: string): Promise<AttemptRecord[]> {
    return this.#read(() => {
      const task = this.#leaseRow(this.#st.taskLease, taskId, this.namespace);
      if (!task) return [];
      const rows = this.#st.attemptsOfTask.all(task.seq) as unknown as AttemptRow[];
      return rows.map((row) => toAttempt(row, taskId));
    });
  }

  listTasks(filter: TaskFilter = {}): Promise<TaskPage> {
    return this.#read(() => {
      const limit = filter.limit ?? DEFAULT_PAGE;
      const after = parseSeqCursor(filter.cursor, 'listTasks.cursor');
      const args = [
        this.namespace,
        after,
        filter.state ?? null,
        filter.type ?? null,
        filter.agentId ?? null,
        limit + 1,
      ];
      // Each filter has the statement whose index finds its rows without scanning the table.
      let rows: TaskRow[];
      if (filter.runId !== undefined)
        rows = this.#taskRows(this.#st.tasksPageOfRun, ...args, filter.runId);
      else if (filter.state === undefined) rows = this.#taskRows(this.#st.tasksPage, ...args);
      else if (isTerminal(filter.state)) rows = this.#taskRows(this.#st.tasksPageFinished, ...args);
      else rows = this.#taskRows(this.#st.tasksPageLive, ...args);
      const more = rows.length > limit;
      if (more) rows.length = limit;
      return { tasks: rows.map(toTask), nextCursor: more ? String(rows.at(-1)!.seq) : null };
    });
  }

  getRun(runId: string): Promise<RunRecord | null> {
    return this.#read(() => {
      const row = this.#st.runById.get(runId, this.namespace) as RunRow | undefined;
      return row ? toRun(row) : null;
    });
  }

  listRuns(filter: RunFilter = {}): Promise<RunPage> {
    return this.#read(() => {
      const limit = filter.limit ?? DEFAULT_PAGE;
      const order = filter.order ?? 'desc';
      const cursor =
        filter.cursor === undefined ? null : parseSeqCursor(filter.cursor, 'listRuns.cursor');
      // Seqs above the cursor oldest first, or below it newest first.
      const rows = (order === 'asc'
        ? this.#st.runsPage.all(this.namespace, cursor ?? 0, limit + 1)
        : this.#st.runsPageDesc.all(
            this.namespace,
            cursor ?? Number.MAX_SAFE_INTEGER,
            limit + 1,
          )) as unknown as RunRow[];
      const more = rows.length > limit;
      if (more) rows.length = limit;
      return { runs: rows.map(toRun), nextCursor: more ? String(rows.at(-1)!.seq) : null };
    });
  }

  listAgents(): Promise<AgentRecord[]> {
    return this.#read(() => {
      const inFlight = new Map<string, string[]>();
      for (const row of this.#st.tasksRunning.all(this.namespace) as unknown as {
        agent_id: string;
        id: string;
      }[]) {
        const list = inFlight.get(row.agent_id);
        if (list) list.push(row.id);
        else inFlight.set(row.agent_id, [row.id]);
      }
      const stats = new Map<string, AgentStatsRow[]>();
      for (const row of this.#st.agentStatsList.all(this.namespace) as unknown as AgentStatsRow[]) {
        const list = stats.get(row.agent_id);
        if (list) list.push(row);
        else stats.set(row.agent_id, [row]);
      }
      const rows = this.#st.agentsList.all(this.namespace) as unknown as AgentRow[];
      return rows.map((row) =>
        toAgent(row, inFlight.get(row.id) ?? [], toAgentStats(stats.get(row.id) ?? [])),
      );
    });
  }

  stats(): Promise<Stats> {
    return this.#read(() => {
      const ns = this.namespace;
      const byState = countsOf(this.#st.namespaceCounts.get(ns) as RunRow | undefined);
      // One row per queue, ordered by requires set: sum the queues of a set into one group.
      const readyByRequires: Stats['readyByRequires'] = [];
      let last: string | null = null;
      for (const row of this.#st.tasksReadyByRequires.all(ns) as unknown as {
        requires: string;
        type: string;
        count: number;
      }[]) {
        if (row.requires !== last) {
          readyByRequires.push({
            requires: JSON.parse(row.requires) as string[],
            count: 0,
            byType: {},
          });
          last = row.requires;
        }
        const group = readyByRequires.at(-1)!;
        group.count += row.count;
        group.byType[row.type] = row.count;
      }
      readyByRequires.sort((x, y) => compareLists(x.requires, y.requires));
      const agents = { active: 0, lost: 0, stopped: 0 };
      for (const row of this.#st.agentsByState.all(ns) as unknown as {
        state: keyof typeof agents;
        count: number;
      }[]) {
        agents[row.state] = row.count;
      }
      return { byState, readyByRequires, agents };
    });
  }

  latestEvents(options: LatestEventsOptions): Promise<BatonEvent[]> {
    // events_ns (ns, id) walked backwards, each row's type tested, stopping at `limit` matches.
    return this.#read(() =>
      (
        this.#st.eventsLatest.all(
          this.namespace,
          JSON.stringify(options.types),
          options.limit,
        ) as unknown as EventRow[]
      ).map(toEvent),
    );
  }

  async readEvents(options: ReadEventsOptions = {}): Promise<BatonEvent[]> {
    this.#open();
    this.#group.flush();
    const after = parseSeqCursor(options.since, 'readEvents.since');
    const limit = options.limit ?? DEFAULT_EVENT_PAGE;
    const read = (): BatonEvent[] =>
      (this.#st.eventsSince.all(this.namespace, after, limit) as unknown as EventRow[]).map(
        toEvent,
      );
    const blockMs = options.blockMs ?? 0;
    if (blockMs <= 0) return read();
    const deadline = performance.now() + blockMs;
    for (;;) {
      const seen = this.#wakeups.version();
      const events = read();
      const remaining = deadline - performance.now();
      if (events.length > 0 || remaining <= 0 || options.signal?.aborted) return events;
      await this.#wakeups.waitForEvents(seen, remaining, options.signal);
      if (this.#closed) return [];
    }
  }

  lastEventId(): Promise<string | null> {
    return this.#read(() => {
      const row = this.#st.eventsLast.get(this.namespace) as { id: number } | undefined;
      return row === undefined ? null : String(row.id);
    });
  }

  async recordEvent(event: RecordableEvent): Promise<string> {
    this.#open();
    const data = JSON.stringify(event.data ?? {});
    await this.#write((tx) => {
      tx.event(event.type, null, null, event.agentId ?? null, data);
    });
    return (await this.lastEventId())!;
  }

  async waitForWork(options: WaitForWorkOptions): Promise<void> {
    this.#open();
    this.#group.flush();
    if (options.signal?.aborted) return;
    const filter: WorkFilter = { capabilities: options.capabilities, types: options.types };
    const now = this.#clock();
    // Ready tasks this agent's last claim left to better-fitting peers are not its work yet.
    const deferredUntil =
      options.agentId === undefined ? undefined : this.#deferrals.get(options.agentId);
    const deferring = deferredUntil !== undefined && deferredUntil > now;
    const seen = this.#wakeups.version();
    if (!deferring && this.#hasReadyWork(filter)) return;
    let due = this.#nextDue();
    if (due !== null && due <= now) return;
    if (deferring && (due === null || deferredUntil < due)) due = deferredUntil;
    await this.#wakeups.waitForWork(
      seen,
      filter,
      due,
      options.timeoutMs,
      options.signal,
      deferring,
    );
  }

  // ---------------------------------------------------------------------------------------------
  // The usage and cost ledger, budgets (ledger.ts)

  async recordUsage(usage: CheckedUsage): Promise<UsageOutcome> {
    this.#open();
    return this.#write((tx) => this.#ledger.record(tx, usage));
  }

  usageOf(taskId: string): Promise<UsageRecord[]> {
    return this.#read(() => this.#ledger.usageOf(taskId));
  }

  costs(query: CostQuery = {}): Promise<CostReport> {
    return this.#read(() => {
      const runId = query.runId ?? null;
      if (runId !== null && !this.#st.runById.get(runId, this.namespace))
        throw new NotFoundError('run', runId);
      const by = query.by ?? null;
      const { total, groups } = this.#ledger.totals(runId, by);
      const budget = runId === null ? null : this.#ledger.budgetOf(runId);
      return { runId, total, by, groups, budget };
    });
  }

  budgetOf(id: string): Promise<BudgetStatus | null> {
    return this.#read(() => this.#ledger.budgetOf(id));
  }

  async reserveBudget(input: CheckedReserve): Promise<ReserveOutcome> {
    this.#open();
    return this.#write((tx): ReserveOutcome => {
      const row = this.#leaseRow(this.#st.taskLease, input.taskId, this.namespace);
      if (!holds(row, input, tx.now))
        return this.#refusal(input, row, tx.now, false) as ReserveOutcome;
      return this.#ledger.reserve(tx, input, { seq: row.seq, runId: row.run_id });
    });
  }

  async releaseReservation(reservationId: string, taskId?: string): Promise<boolean> {
    this.#open();
    return this.#write(() => this.#ledger.release(reservationId, taskId ?? null));
  }

  // ---------------------------------------------------------------------------------------------
  // Model selection (models.ts)

  async recordModelChoice(input: ModelChoiceInput): Promise<ModelChoiceOutcome> {
    this.#open();
    return this.#write((tx) => this.#models.recordChoice(tx, input));
  }

  async recordModelOutcome(input: ModelOutcomeInput): Promise<void> {
    this.#open();
    await this.#write(() => this.#models.recordOutcome(input));
  }

  modelHistory(query: ModelHistoryQuery): Promise<ModelHistory[]> {
    return this.#read(() => this.#models.history(query));
  }

  // ---------------------------------------------------------------------------------------------
  // Shared state (state.ts)

  getState(scope: string, key: string): Promise<StateEntry | null> {
    return this.#read(() => this.#state.get(scope, key, this.#clock()));
  }

  async setState(input: CheckedStateWrite): Promise<StateOutcome> {
    this.#open();
    return this.#write((tx) => this.#fenced(input.fence, tx.now) ?? this.#state.set(input, tx.now));
  }

  async deleteState(input: StateDelete): Promise<StateOutcome> {
    this.#open();
    return this.#write(
      (tx) => this.#fenced(input.fence, tx.now) ?? this.#state.delete(input, tx.now),
    );
  }

  listState(scope: string, options: CheckedStateList): Promise<StateEntry[]> {
    return this.#read(() => this.#state.list(scope, options, this.#clock()));
  }

  /** The refusal of a write under a lease the writer does not hold now; null when it holds it. */
  #fenced(fence: HeldLeaseRef | undefined, now: number): StateOutcome | null {
    if (fence === undefined) return null;
    const row = this.#leaseRow(this.#st.taskLease, fence.taskId, this.namespace);
    if (holds(row, fence, now)) return null;
    return this.#refusal(fence, row, now, false) as StateOutcome;
  }

  // Expertise versions (migrations/000013_expertise_versions.sql)

  async addExpertiseVersion(input: ExpertiseVersionInput): Promise<ExpertiseVersion> {
    this.#open();
    return this.#write((tx) => {
      const row = this.#xp.last.get(this.namespace, input.domain) as { version: number | null };
      const version = (row.version ?? 0) + 1;
      const origin = input.origin ?? null;
      this.#xp.put.run(
        this.namespace,
        input.domain,
        version,
        input.text,
        input.source,
        origin,
        tx.now,
      );
      return {
        domain: input.domain,
        version,
        text: input.text,
        source: input.source,
        origin,
        createdAt: tx.now,
      };
    });
  }

  expertiseVersions(domain: string): Promise<ExpertiseVersion[]> {
    return this.#read(() =>
      (this.#xp.all.all(this.namespace, domain) as unknown as ExpertiseRow[]).map((r) =>
        expertiseVersion(domain, r),
      ),
    );
  }

  getExpertiseVersion(domain: string, version?: number): Promise<ExpertiseVersion | null> {
    return this.#read(() => {
      const row = (
        version === undefined
          ? this.#xp.latest.get(this.namespace, domain)
          : this.#xp.one.get(this.namespace, domain, version)
      ) as ExpertiseRow | undefined;
      return row === undefined ? null : expertiseVersion(domain, row);
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Submissions called before close() are written first (one still waiting for another
    // process's lock is rejected with BATON_CLOSED when the connection closes below).
    this.#group.flush();
    if (this.#sweptWithLock) {
      // Hand the sweep over at once rather than after the lock runs out.
      try {
        await writeTransaction(
          this.#db,
          this.#file,
          () => this.#st.sweepLockGiveUp.run(this.namespace, this.#holder),
          this.#busyTimeoutMs,
          this.#lockWaits,
        );
      } catch {
        // The lock runs out on its own.
      }
    }
    this.#closed = true;
    this.#wakeups.close();
    const peers = peersByFile.get(this.#file);
    peers?.delete(this);
    if (peers?.size === 0) peersByFile.delete(this.#file);
    // The checkpoint worker lets go of the file first, so that closing our connection is the
    // last close: it checkpoints and removes the WAL, and nothing touches the file afterwards.
    if (this.#checkpointFallback) await unwatchCheckpoints(this.#file, this.#checkpointFallback);
    this.#db.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  #open(): void {
    if (this.#closed) {
      throw new BatonError(
        'BATON_CLOSED',
        `the sqlite backend on ${this.#file} was closed; open a new one`,
      );
    }
  }

  #taskRow(statement: StatementSync, ...args: SQLInputValue[]): TaskRow | undefined {
    const values = statement.get(...args) as unknown as SQLOutputValue[] | undefined;
    return values && readTaskRow(values, columnsOf<TaskRow>(statement, TASK_ROW_COLUMNS));
  }

  #taskRows(statement: StatementSync, ...args: SQLInputValue[]): TaskRow[] {
    const columns = columnsOf<TaskRow>(statement, TASK_ROW_COLUMNS);
    return (statement.all(...args) as unknown as SQLOutputValue[][]).map((values) =>
      readTaskRow(values, columns),
    );
  }

  #leaseRow(statement: StatementSync, ...args: SQLInputValue[]): LeaseRow | undefined {
    const values = statement.get(...args) as unknown as SQLOutputValue[] | undefined;
    return values && readLeaseRow(values, columnsOf<LeaseRow>(statement, LEASE_ROW_COLUMNS));
  }

  #leaseRows(statement: StatementSync, ...args: SQLInputValue[]): LeaseRow[] {
    const columns = columnsOf<LeaseRow>(statement, LEASE_ROW_COLUMNS);
    return (statement.all(...args) as unknown as SQLOutputValue[][]).map((values) =>
      readLeaseRow(values, columns),
    );
  }

  /** Run a read on the open store, reporting any failure as a rejection like the writes do. */
  #read<T>(fn: () => T): Promise<T> {
    try {
      this.#open();
      this.#group.flush();
      return Promise.resolve(fn());
    } catch (error) {
      const mapped = storeError(error, this.#file);
      return Promise.reject(mapped instanceof Error ? mapped : new Error(String(mapped)));
    }
  }

  /**
   * Write transactions this backend committed: one per write, and one per group of submissions
   * however many it held (see group-commit.ts). For diagnostics (bench/http.ts reports it):
   * while only submissions are made, submissions / commits is how many a transaction carried.
   */
  get commits(): number {
    return this.#commits;
  }

  /**
   * The time of the write transaction under way, read once it holds the write lock: writes of
   * every process on the file are applied one at a time, so their times follow that order (a
   * time read before `BEGIN IMMEDIATE` waited for another process's commit would be stale). Never
   * before the latest time the namespace recorded (core/clock.ts).
   */
  #now(): number {
    const last = this.#st.eventsLastAt.get(this.namespace) as { at: number } | undefined;
    return storeTime(this.#clock(), last?.at ?? null);
  }

  /**
   * Run one write transaction, then let the caches learn what it committed and wake the
   * waiters (of this and every other backend on the same file in this process) it concerns.
   * Submissions still waiting for their group are written first, so that the writes of this
   * process happen in the order they were called.
   */
  async #write<T>(fn: (tx: WriteTx) => T): Promise<T> {
    this.#group.flush();
    let tx!: WriteTx;
    const result = await writeTransaction(
      this.#db,
      this.#file,
      () => {
        tx = new WriteTx(this.#st, this.namespace, this.#now());
        const value = fn(tx);
        tx.finish();
        return value;
      },
      this.#busyTimeoutMs,
      this.#lockWaits,
    );
    this.#committed([tx]);
    return result;
  }

  /**
   * After a commit, with the state of each write it held (several for a group of submissions):
   * the caches learn the queues they registered, and the waiters they concern wake up once.
   */
  #committed(txs: readonly WriteTx[]): void {
    this.#commits++;
    const readyQueues = txs.length === 1 ? txs[0]!.readyQueues : new Set<number>();
    let earliestDelayed: number | null = null;
    let wroteEvents = false;
    for (const tx of txs) {
      for (const [key, id] of tx.newQueues) this.#queueIds.set(key, id);
      if (txs.length > 1) for (const queue of tx.readyQueues) readyQueues.add(queue);
      if (
        tx.earliestDelayed !== null &&
        (earliestDelayed === null || tx.earliestDelayed < earliestDelayed)
      )
        earliestDelayed = tx.earliestDelayed;
      wroteEvents ||= tx.wroteEvents;
    }
    const workChanged = readyQueues.size > 0 || earliestDelayed !== null;
    if (!wroteEvents && !workChanged) return;
    for (const peer of peersByFile.get(this.#file) ?? []) {
      if (peer.namespace !== this.namespace || peer.#closed) continue;
      if (workChanged) peer.#wakeups.workChanged(readyQueues, earliestDelayed);
      if (wroteEvents) peer.#wakeups.eventsWritten();
    }
  }

  /** Learn queues registered since the last look (by any process). */
  #refreshQueues(): void {
    const rows = this.#st.queuesSince.all(this.#lastQueueId) as unknown as {
      id: number;
      type: string;
      requires: string;
    }[];
    for (const row of rows) {
      this.#queues.set(row.id, { type: row.type, requires: JSON.parse(row.requires) as string[] });
      this.#queueIds.set(queueKey(row.type, row.requires), row.id);
      this.#lastQueueId = row.id;
    }
  }

  /**
   * The queues a worker takes: it has every capability the queue requires and, when it names
   * types, handles the queue's type. Cached per filter, extended as queues appear.
   */
  #eligibleQueues(filter: WorkFilter): number[] {
    this.#refreshQueues();
    const key = filterKey(filter);
    let entry = this.#eligible.get(key);
    if (!entry) {
      if (this.#eligible.size >= 1000) this.#eligible.clear();
      entry = { upTo: 0, queues: [] };
      this.#eligible.set(key, entry);
    }
    if (entry.upTo < this.#lastQueueId) {
      const have = new Set(filter.capabilities);
      const types = filter.types === undefined ? null : new Set(filter.types);
      for (const [id, queue] of this.#queues) {
        if (
          id > entry.upTo &&
          (types === null || types.has(queue.type)) &&
          queue.requires.every((c) => have.has(c))
        ) {
          entry.queues.push(id);
        }
      }
      entry.upTo = this.#lastQueueId;
    }
    return entry.queues;
  }

  #takes(filter: WorkFilter, queue: number): boolean {
    if (!this.#queues.has(queue)) this.#refreshQueues();
    const q = this.#queues.get(queue);
    if (!q) return true; // unknown: wake, and let the claim decide
    return (
      (filter.types === undefined || filter.types.includes(q.type)) &&
      q.requires.every((c) => filter.capabilities.includes(c))
    );
  }

  #hasReadyWork(filter: WorkFilter): boolean {
    for (const queue of this.#eligibleQueues(filter)) {
      if (this.#st.tasksReadyExists.get(this.namespace, queue)) return true;
    }
    return false;
  }

  #nextDue(): number | null {
    return (this.#st.tasksDelayedNext.get(this.namespace) as { at: number | null }).at;
  }
}

/** The cache key of a queue: its type and requires set (JSON never holds a raw NUL). */
function queueKey(type: string, requires: string): string {
  return `${type}\u0000${requires}`;
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

/** The cache key of a worker's filter: sorted distinct capabilities, and types or any type. */
function filterKey(filter: WorkFilter): string {
  const capabilities = [...new Set(filter.capabilities)].sort();
  const types = filter.types === undefined ? null : [...new Set(filter.types)].sort();
  return JSON.stringify([capabilities, types]);
}

/** A map for the claims a settle call finds held, when any item carries log lines; else none. */
function heldClaims(items: readonly { logs?: unknown[] }[]): Map<string, HeldClaim> | undefined {
  return items.some((item) => item.logs !== undefined && item.logs.length > 0)
    ? new Map()
    : undefined;
}

/** The claim of a lease a settle call found held: its task, token, attempt and agent. */
function heldClaim(row: LeaseRow): HeldClaim {
  return { taskSeq: row.seq, token: row.token, attempt: row.attempts, agentId: row.agent_id ?? '' };
}

/**
 * Whether `ref` still holds the lease of `row`: its agent is the holder, its token the current
 * one, the task running, the lease not expired.
 */
function holds(row: LeaseRow | undefined, ref: HeldLeaseRef, now: number): row is LeaseRow {
  return (
    row !== undefined &&
    row.agent_id === ref.agentId &&
    row.token === ref.token &&
    row.state === 'running' &&
    row.lease_expires_at !== null &&
    row.lease_expires_at >= now
  );
}

interface ExpertiseRow {
  version: number;
  text: string;
  source: string;
  origin: string | null;
  created_at: number;
}

function expertiseVersion(domain: string, row: ExpertiseRow): ExpertiseVersion {
  return {
    domain,
    version: row.version,
    text: row.text,
    source: row.source,
    origin: row.origin,
    createdAt: row.created_at,
  };
}
