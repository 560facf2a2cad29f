/**
 * The backend seam. It speaks in queue operations, not storage commands; each adapter
 * (sqlite, redis) owns its connections and passes the same conformance suite
 * (`test/conformance/`). Every argument is checked once, above the adapters, by the checking
 * layer `openBackend` puts in front of each of them (`checked.ts`), so adapters cannot disagree
 * on what they accept. Adapters report refusals as {@link SettleOutcome} status codes, worded
 * once (`refusals.ts`), that {@link outcomeError} turns into errors, so every backend says the
 * same thing.
 */
import {
  BudgetExceededError,
  ConflictError,
  LeaseLostError,
  NotFoundError,
  type BatonError,
  type BudgetFacts,
} from '../core/errors.ts';
import {
  fromNano,
  type BudgetStatus,
  type CostBasis,
  type CostGroup,
  type CostReport,
  type Reservation,
  type UsageRecord,
} from '../core/ledger.ts';
import type { LogBounds, LogLevel, LogPage, LogStream } from '../core/logs.ts';
import type { Complexity, Tier } from '../core/model-choice.ts';
import type { RoutingPolicy } from '../core/routing.ts';
import type {
  AgentRecord,
  AgentReport,
  AgentSpec,
  AttemptRecord,
  BatonEvent,
  EventType,
  Json,
  Lease,
  RunRecord,
  RunSpec,
  TaskError,
  TaskRecord,
  TaskSpec,
  TaskState,
} from '../core/types.ts';

/** Differences between adapters, declared as data so the conformance suite can adapt. */
export interface BackendFeatures {
  /** Several processes can share the store. */
  multiProcess: boolean;
  /** `waitForWork` wakes on a submit from another process without polling. */
  blockingWait: boolean;
}

export interface SubmittedTask {
  id: string;
  key: string | null;
  /** True when an existing task was returned because its `idempotencyKey` matched. */
  existing: boolean;
  state: TaskState;
}

export interface SubmittedRun {
  runId: string;
  tasks: SubmittedTask[];
}

export interface SubmitTasksOptions {
  /**
   * Add the tasks to this existing, unfinished run (dynamic graphs: fan-out and join).
   * Their `dependsOn` may name keys of tasks already in the run.
   */
  runId?: string;
}

export interface ClaimRequest {
  agentId: string;
  /** The agent's capabilities; only tasks whose `requires` ⊆ these are claimed. */
  capabilities: readonly string[];
  /**
   * Only tasks whose `type` is in this list are claimed (a worker passes the types it has
   * handlers for, so a mixed fleet never takes a task it cannot run). Absent: any type.
   * @default any type
   */
  types?: readonly string[];
  /** Claim at most this many tasks (the worker's free slots). */
  max: number;
  /** Lease duration. */
  leaseTtlMs: number;
}

export interface LeaseRef {
  taskId: string;
  token: number;
}

/**
 * A lease named by the agent that holds it: complete, fail and release refuse an item whose
 * `agentId` is not the holder's (`lease_lost`, nothing changes), as renew does for its agent.
 */
export interface HeldLeaseRef extends LeaseRef {
  /** The agent that claimed the task and holds its lease. */
  agentId: string;
}

/**
 * The longest `delayMs` a release accepts: a year. Longer waits are not "not now" but "never",
 * which is a cancel.
 */
export const MAX_RELEASE_DELAY_MS = 365 * 24 * 60 * 60 * 1000;

/** A lease to give back without counting its attempt (see {@link Backend.release}). */
export interface ReleaseInput extends HeldLeaseRef, CarriedLogs {
  /**
   * Keep the task `delayed` this long before it can be claimed again, in whole ms (at most
   * {@link MAX_RELEASE_DELAY_MS}); 0 makes it `ready` at once.
   * @default 0
   */
  delayMs?: number;
  /**
   * Why the lease is given back, for the `task.released` event (e.g. `deferred: agent busy`).
   * @default 'released'
   */
  reason?: string;
}

/** Options of {@link Backend.retryTask}. */
export interface RetryTaskOptions {
  /** Why the task is retried, for the `task.retried` event. @default null */
  reason?: string;
}

/** One line for an attempt's log (docs/logs.md). */
export interface LogLineInput {
  /** The line, without its newline: at most `LOG_LIMITS.maxLineBytes` of UTF-8. */
  text: string;
  /** Where it came from. @default 'log' */
  stream?: LogStream;
  /** @default 'info' */
  level?: LogLevel;
}

/**
 * Lines of the attempt a lease names, in the order they were written. The attempt's agent
 * writes its log, also after the attempt ended (its last lines may arrive a moment after its
 * outcome); another agent is refused.
 */
export interface LogAppend extends HeldLeaseRef {
  lines: LogLineInput[];
}

/**
 * Per-item answer of {@link Backend.appendLogs}: `not_found` when there is no such task or it
 * never had an attempt with that token; `refused` when another agent ran that attempt.
 */
export type LogAppendOutcome =
  | { taskId: string; status: 'ok' }
  | { taskId: string; status: 'not_found' | 'refused'; reason: string };

/**
 * The lines an attempt wrote that are not stored yet, carried by the call that settles it
 * (complete, fail, release): stored in the same atomic step, before the outcome, so a reader
 * that sees the task finished has every line of it. Stored whatever the item's answer, when its
 * agent ran the attempt the token names.
 */
export interface CarriedLogs {
  /** @default none */
  logs?: LogLineInput[];
}

export interface CompleteInput extends HeldLeaseRef, CarriedLogs {
  result: Json;
  /**
   * How long the handler ran, in ms (≥ 0; stored rounded to whole ms): the attempt's
   * `AttemptRecord.runMs`, what busy time and speed-up are computed from.
   * @default not reported (AttemptRecord.runMs null)
   */
  runMs?: number;
}

export interface FailInput extends HeldLeaseRef, CarriedLogs {
  error: TaskError;
  /**
   * How long the handler ran, in ms (≥ 0; stored rounded to whole ms): to its failure, or to the
   * abort of an attempt that timed out. See {@link CompleteInput.runMs}.
   * @default not reported (AttemptRecord.runMs null)
   */
  runMs?: number;
  /** Overrides `error.retryable`: false fails the task at once. */
  retryable?: boolean;
  /**
   * Overrides the backoff policy for this retry: whole ms, from 0 to
   * {@link MAX_RELEASE_DELAY_MS}.
   */
  retryDelayMs?: number;
  /** How the attempt ended. @default 'failed' */
  outcome?: 'failed' | 'timed_out';
}

/**
 * Per-item answer of renew/complete/fail/release. `lease_lost`: the caller does not hold the
 * lease (another agent holds it, or the token is stale: expired, released, cancelled,
 * re-claimed); `not_found`: no such task. `cancelled` (renew only, from the holder): the task
 * was cancelled and its handler should stop. A refusal's `reason` never names a token.
 */
export type SettleOutcome =
  | { taskId: string; status: 'ok'; state: TaskState; expiresAt?: number }
  | { taskId: string; status: 'lease_lost' | 'not_found' | 'cancelled'; reason: string };

export interface TaskFilter {
  state?: TaskState;
  runId?: string;
  type?: string;
  agentId?: string;
  /** @default 100 */
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface TaskPage {
  tasks: TaskRecord[];
  nextCursor: string | null;
}

export interface RunFilter {
  /** @default 100 */
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor` (of a listing in the same `order`). */
  cursor?: string;
  /**
   * Submission order: `desc` lists the newest run first (what a person expects from a status
   * list, and the recent runs cost one page however many there are); `asc` the oldest first.
   * @default 'desc'
   */
  order?: 'asc' | 'desc';
}

export interface RunPage {
  runs: RunRecord[];
  nextCursor: string | null;
}

export interface SweepOptions {
  /** An active agent silent (no heartbeat, no renew) for longer than this is declared lost. */
  agentTtlMs: number;
  /**
   * Declare stalled the active agents whose worker loop made no progress for longer than this
   * while it owed some. Progress is a `renew` (of any leases, even none) or a `complete` or
   * `fail` of a lease it holds; a bare `heartbeat` proves the process alive, not its loop, so it
   * is not progress. An agent owes progress when either
   * 1. it holds a running task claimed more than `stallAfterMs` ago, or
   * 2. the sweep ended one of its attempts for running past its `timeoutMs` (the worker should
   *    have aborted and reported it itself) and the agent has reported nothing since.
   *
   * That is: stalled ⇔ active ∧ no progress for `stallAfterMs` ∧ (a running task claimed more
   * than `stallAfterMs` ago ∨ an unreported timeout more than `stallAfterMs` ago). The sweep
   * writes `agent.stalled` once (data: `reason` `no_progress` or `timeout`, `lastProgressAt`),
   * and `agent.recovered` once the agent makes progress again (also when a sweep without
   * `stallAfterMs` finds it). Registering again clears a stall. Lost beats stalled: an agent
   * that also stops heartbeating is declared lost.
   *
   * Waiting `stallAfterMs` after a missed timeout, rather than flagging it at once, is what
   * keeps a healthy worker whose own timeout report arrives a moment after the sweep's from
   * looking stalled.
   * @default no stall detection (recoveries are still recorded)
   */
  stallAfterMs?: number;
  /**
   * Asked about each active agent silent for longer than `agentTtlMs` before it is declared
   * lost: `true` spares it in this sweep. The sweeper spares agents whose process it can see
   * alive on its own host (a starved process, not a dead one); the decision is the caller's,
   * the adapter only applies it. Called synchronously, at most once per agent per sweep. An
   * adapter whose sweep reads the time inside the store (Redis) asks about the agents silent for
   * a little less than the TTL too, by the caller's clock: its answer for an agent the store does
   * not find past the TTL does not matter.
   * @default none spared
   */
  spare?: (agent: SilentAgent) => boolean;
}

/** An agent past its TTL, as {@link SweepOptions.spare} sees it. */
export interface SilentAgent {
  id: string;
  /** The host and process the agent registered from. */
  host: string | null;
  pid: number | null;
  /** When it registered (ms of the backend's clock). */
  startedAt: number;
  lastHeartbeatAt: number;
}

export interface SweepResult {
  /** Leases that ran out, whose tasks were retried or failed. */
  expired: number;
  /** Running tasks past their `timeoutMs`. */
  timedOut: number;
  /** Delayed tasks whose `runAfter` was reached. */
  promoted: number;
  /** Agents declared lost, and the leases released with them. */
  agentsLost: string[];
  released: number;
  /** Agents declared stalled by this sweep (see {@link SweepOptions.stallAfterMs}). */
  agentsStalled: string[];
  /** Stalled agents this sweep found making progress again. */
  agentsRecovered: string[];
  /** Budget reservations released because their lease was lost or ended (docs/costs.md). */
  reservationsReleased: number;
}

/** A sweep that did nothing (another process swept, or nothing was due). */
export function emptySweepResult(): SweepResult {
  return {
    expired: 0,
    timedOut: 0,
    promoted: 0,
    agentsLost: [],
    released: 0,
    agentsStalled: [],
    agentsRecovered: [],
    reservationsReleased: 0,
  };
}

/**
 * Where a backend's store is, so another thread or process can open its own connection to the
 * same store and namespace (the worker's heartbeat thread does).
 */
export interface StoreLocation {
  /** The store URL, as `openBackend` takes it. */
  url: string;
  namespace: string;
}

export interface Stats {
  byState: Record<TaskState, number>;
  /**
   * Ready tasks grouped by their `requires` set (sorted capabilities), sorted by it; `byType`
   * splits each group's count by task type.
   */
  readyByRequires: { requires: string[]; count: number; byType: Record<string, number> }[];
  agents: { active: number; lost: number; stopped: number };
}

/** Every event type, for checking a type filter (the compile-time check below keeps it whole). */
export const EVENT_TYPES = [
  'run.submitted',
  'run.completed',
  'run.cancelled',
  'run.reopened',
  'task.submitted',
  'task.ready',
  'task.delayed',
  'task.claimed',
  'task.succeeded',
  'task.retrying',
  'task.failed',
  'task.released',
  'task.skipped',
  'task.cancelled',
  'task.retried',
  'task.revived',
  'agent.joined',
  'agent.lost',
  'agent.stalled',
  'agent.recovered',
  'agent.degraded',
  'agent.left',
  'usage.recorded',
  'task.model_selected',
  'pool.scaled_up',
  'pool.scaled_down',
  'pool.restarted',
] as const satisfies readonly EventType[];
const _everyEventType: Exclude<EventType, (typeof EVENT_TYPES)[number]> extends never
  ? true
  : never = true;
void _everyEventType;

/** Most events {@link Backend.latestEvents} returns. */
export const MAX_LATEST_EVENTS = 200;

export interface LatestEventsOptions {
  /** Keep only events of these types (at least one). */
  types: readonly EventType[];
  /** How many events at most, 1–{@link MAX_LATEST_EVENTS}. */
  limit: number;
}

export interface ReadEventsOptions {
  /** Exclusive: events after this id. Absent: from the start. */
  since?: string;
  /** @default 1000 */
  limit?: number;
  /** When no event is available, wait up to this long for one. @default 0 */
  blockMs?: number;
  signal?: AbortSignal;
}

export interface WaitForWorkOptions {
  /** Wake only for tasks whose `requires` ⊆ these (as {@link ClaimRequest.capabilities}). */
  capabilities: readonly string[];
  /**
   * Wake only for tasks whose `type` is in this list (as {@link ClaimRequest.types}). Absent:
   * any type.
   * @default any type
   */
  types?: readonly string[];
  /**
   * The agent that waits (the one whose claim just came back empty). A claim that left tasks to
   * better-fitting agents (routing, docs/routing.md) makes its agent's next wait ignore those
   * tasks until they are its to take, or until something changes, instead of returning at once
   * because ready work exists. Without it the wait only knows whether work is ready.
   * @default none
   */
  agentId?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** What {@link Backend.readLogs} reads. */
export interface ReadLogsOptions {
  taskId: string;
  /** Only this attempt's lines (1-based). @default every attempt */
  attempt?: number;
  /** Exclusive: lines after this `seq` (a `LogPage.cursor`). @default 0, from the start */
  after?: number;
  /** Most lines returned. @default 1000 */
  limit?: number;
  /** Only lines of this stream (`cut` markers are always returned). @default every stream */
  stream?: LogStream;
}

/**
 * What {@link Backend.readAgentLogs} reads: log lines across tasks, by the agent that ran them,
 * level and time, as an operator looks for what an agent did (seed 003's `agent_logs`).
 */
export interface ReadAgentLogsOptions {
  /** Only lines of attempts this agent ran. @default every agent */
  agentId?: string;
  /** Only lines of this level or a more severe one. @default 'debug' (every level) */
  level?: LogLevel;
  /** Only lines stored at or after this time (epoch ms, the store's clock). @default no bound */
  since?: number;
  /** Only lines stored before this time (epoch ms). @default no bound */
  until?: number;
  /** Exclusive: lines after this `seq` (a `LogPage.cursor`). @default 0, from the start */
  after?: number;
  /** Most lines returned. @default 1000 */
  limit?: number;
}

/** Event types a caller may record; every other type is written by the backend itself. */
export const RECORDABLE_EVENT_TYPES = [
  'agent.degraded',
  'pool.scaled_up',
  'pool.scaled_down',
  'pool.restarted',
] as const;
export type RecordableEventType = (typeof RECORDABLE_EVENT_TYPES)[number];

export interface RecordableEvent {
  type: RecordableEventType;
  /** The agent the event is about, if any (e.g. the worker a pool started or stopped). */
  agentId?: string | null;
  /** JSON details, e.g. `{ reason, workers }`; at most the backend's `maxPayloadBytes`. */
  data?: { [key: string]: Json };
}

/**
 * One model call's usage, recorded against the attempt that made it: the lease's task and token,
 * and the agent that held it (docs/costs.md). The lease need not be held any more: a call an
 * attempt made before it was fenced out (its lease expired, the task was cancelled) is recorded
 * all the same, since the money was spent; only an attempt the agent never held is refused.
 */
export interface UsageInput extends HeldLeaseRef {
  provider: string;
  model: string;
  /** Every input token, cache reads and writes included. */
  inputTokens: number;
  /** Every output token, reasoning included. */
  outputTokens: number;
  /** @default 0 */
  cacheReadTokens?: number;
  /** @default 0 */
  cacheWriteTokens?: number;
  /** @default 0 */
  reasoningTokens?: number;
  /** The call's cost in USD, priced above the seam (runtime/ledger.ts). */
  costUsd: number;
  /** Where the cost came from. */
  costBasis: CostBasis;
  /**
   * The reservation this call held (from {@link Backend.reserveBudget}): settled in the same
   * step, its hold replaced by the recorded cost. One already released or settled is ignored.
   * @default none
   */
  reservationId?: string;
}

/** A usage item as adapters apply it: every count filled in, the cost in nano-dollars. */
export type CheckedUsage = Required<Omit<UsageInput, 'reservationId'>> &
  Pick<UsageInput, 'reservationId'> & { costNano: number };

/**
 * The answer of {@link Backend.recordUsage}: the record, or `not_found` (no such task) or
 * `not_held` (the agent held no attempt of the task with that token); nothing is recorded then.
 * {@link recordedUsage} turns it into the record or the error every backend reports.
 */
export type UsageOutcome =
  { status: 'ok'; record: UsageRecord } | { status: 'not_found' | 'not_held'; taskId: string };

/**
 * The model that `model: auto` chose for the attempt (task, token) the agent holds or held, and
 * why (docs/llm.md#model-selection): stored on the attempt (`AttemptRecord.model`) with a
 * `task.model_selected` event.
 */
export interface ModelChoiceInput extends HeldLeaseRef {
  /** The model id chosen, e.g. `anthropic:claude-sonnet-4-5`. */
  model: string;
  tier: Tier;
  complexity: Complexity;
  /** Why: every step of the rule that decided or moved the tier. At most 2,000 characters. */
  reason: string;
}

/** Answer of {@link Backend.recordModelChoice}. */
export type ModelChoiceOutcome =
  | { status: 'ok'; attempt: number; runId: string | null }
  | { status: 'not_found' | 'not_held'; taskId: string };

/**
 * How one model call of a task type and complexity ended, for model selection's history: a
 * success, or an answer that failed the task's output schema (the model's fault, not the
 * provider's or the network's).
 */
export interface ModelOutcomeInput {
  taskType: string;
  complexity: Complexity;
  model: string;
  succeeded: boolean;
}

/** Which history {@link Backend.modelHistory} reads: one task type and complexity, these models. */
export interface ModelHistoryQuery {
  taskType: string;
  complexity: Complexity;
  /** At most 16 model ids. */
  models: string[];
}

/** A model's record on a task type and complexity: calls counted, and how many succeeded. */
export interface ModelHistory {
  model: string;
  runs: number;
  succeeded: number;
}

/** A model call's worst case to reserve against its task's budgets, by the lease holder. */
export interface ReserveInput extends HeldLeaseRef {
  /** The worst case of the call, in USD (from 0 to MAX_USD). */
  usd: number;
}

/** A reservation request as adapters apply it: the amount in nano-dollars. */
export type CheckedReserve = ReserveInput & { nano: number };

/**
 * The answer of {@link Backend.reserveBudget}: the reservation; `exceeded` with the facts of the
 * budget (the run's first, then the task's) that cannot hold it; or the
 * refusal of a lease the caller does not hold (`lease_lost`, `not_found`, as complete's). Nothing
 * is held unless `ok`. Amounts are in nano-dollars. {@link reservationOf} turns it into the reservation or the error.
 */
export type ReserveOutcome =
  | { status: 'ok'; reservation: Reservation }
  | { status: 'exceeded'; facts: BudgetRefusal }
  | Exclude<SettleOutcome, { status: 'ok' }>;

/** What a budget that could not hold a reservation held, in nano-dollars (as stored). */
export interface BudgetRefusal {
  scope: BudgetFacts['scope'];
  /** The run or task id. */
  id: string;
  limitNano: number;
  spentNano: number;
  reservedNano: number;
  requestedNano: number;
}

/** What {@link Backend.costs} totals: one run, or the whole namespace; grouped or not. */
export interface CostQuery {
  /** Only this run's calls. @default the whole namespace */
  runId?: string;
  /** Totals by run, epic, task, agent or model besides the grand total. @default no groups */
  by?: CostGroup;
}

// Shared state (docs/mcp.md): small JSON values agents share, by scope and key.

/**
 * One entry of shared state. `scope` is decided above the seam (`run:<id>` for a run's state,
 * `ns:<name>` for a named namespace of state); the backend only keeps entries apart by it.
 */
export interface StateEntry {
  scope: string;
  key: string;
  value: Json;
  /** 1 when the entry was created, +1 on every write: what a compare-and-set expects. */
  version: number;
  /** When the entry expires (epoch ms), or null when it does not. */
  expiresAt: number | null;
  updatedAt: number;
}

/** A write of shared state (see {@link Backend.setState}). */
export interface StateWrite {
  scope: string;
  key: string;
  value: Json;
  /** Expire the entry this long after the write, in whole ms. @default never */
  ttlMs?: number;
  /**
   * Compare-and-set: write only when the entry's version is this one; 0 means "only when there
   * is no entry". @default write whatever the version
   */
  expectedVersion?: number;
  /**
   * The lease the write is made under: written only while `agentId` holds the lease of `taskId`
   * with `token`, checked in the same atomic step, so a fenced-out attempt writes nothing.
   * @default no lease check
   */
  fence?: HeldLeaseRef;
}

/** A delete of shared state (see {@link Backend.deleteState}). */
export interface StateDelete {
  scope: string;
  key: string;
  /** Delete only when the entry's version is this one. @default whatever the version */
  expectedVersion?: number;
  /** As {@link StateWrite.fence}. @default no lease check */
  fence?: HeldLeaseRef;
}

/** Options of {@link Backend.listState}. */
export interface StateListOptions {
  /** Only keys that start with this. @default every key */
  prefix?: string;
  /** @default 100 (at most 1000) */
  limit?: number;
  /** List keys after this one (the last key of the previous page). @default from the first */
  after?: string;
}

/**
 * The answer of {@link Backend.setState} and {@link Backend.deleteState}: the entry written (or
 * deleted; null when there was none to delete); `version_mismatch` with the version found (null:
 * no entry); or the refusal of a fence the caller does not hold. Nothing changes unless `ok`.
 * {@link stateOf} turns it into the entry or the error every backend reports.
 */
export type StateOutcome =
  | { status: 'ok'; entry: StateEntry | null }
  | { status: 'version_mismatch'; version: number | null }
  | Exclude<SettleOutcome, { status: 'ok' }>;

/** A version of a domain's expertise file, as the store keeps it (docs/agents.md#expertise). */
export interface ExpertiseVersion {
  domain: string;
  /** 1, 2, … per domain, in the order they were recorded. */
  version: number;
  /** The file's text. */
  text: string;
  /** What wrote it: `learn` (the learn step), `add_learning` (MCP), `rollback`, `import`. */
  source: string;
  /** The task and attempt that learned it (`tsk_…#1`), the version a rollback restored (`v3`), or null. */
  origin: string | null;
  createdAt: number;
}

/** A version to record (see {@link Backend.addExpertiseVersion}). */
export interface ExpertiseVersionInput {
  domain: string;
  text: string;
  source: string;
  origin?: string | null;
}

export interface Backend {
  /** Adapter name, e.g. `sqlite`. */
  readonly name: string;
  readonly features: BackendFeatures;
  /**
   * How to open another connection equivalent to this one, or null when there is none: a store
   * that lives inside this instance (`sqlite::memory:`), or an instance on an injected clock (a
   * clock function cannot be handed to another thread, and a connection on the real clock would
   * write times this one does not expect).
   */
  readonly location: StoreLocation | null;

  /** Validate and store a whole run atomically: all tasks or none. */
  submitRun(run: RunSpec): Promise<SubmittedRun>;
  /** Validate and store tasks atomically (standalone, or added to a run with `runId`). */
  submitTasks(tasks: TaskSpec[], options?: SubmitTasksOptions): Promise<SubmittedTask[]>;

  /**
   * Lease up to `max` ready tasks the agent can run (`requires` ⊆ its capabilities, `type` among
   * `types` when given): priority, then critical path, then FIFO.
   */
  claim(request: ClaimRequest): Promise<Lease[]>;
  /**
   * Extend leases by `leaseTtlMs` and record the agent's heartbeat, its progress (even with no
   * leases: the worker loop is alive; see {@link SweepOptions.stallAfterMs}) and its `report`
   * when given (absent: the last report is kept). A lease `agentId` does not hold is refused
   * (`lease_lost`) and left as it is.
   */
  renew(
    agentId: string,
    leases: LeaseRef[],
    leaseTtlMs: number,
    report?: AgentReport,
  ): Promise<SettleOutcome[]>;
  /** Record successes; each item's {@link CarriedLogs.logs} are stored first, in the same step. */
  complete(items: CompleteInput[]): Promise<SettleOutcome[]>;
  /** Record failures; each item's {@link CarriedLogs.logs} are stored first, in the same step. */
  fail(items: FailInput[]): Promise<SettleOutcome[]>;
  /**
   * Give leases back without counting their attempts (graceful shutdown, a handler that
   * deferred): each attempt is recorded as `released` and the task is `ready` again at once, or
   * `delayed` for the item's `delayMs`. One `task.released` event per item, its data `{ attempt,
   * reason, delayMs }`. A malformed item (`delayMs` not an integer from 0 to
   * {@link MAX_RELEASE_DELAY_MS}, `reason` not a string) refuses the whole batch with a
   * `ValidationError` before anything changes.
   */
  release(items: ReleaseInput[]): Promise<SettleOutcome[]>;

  /**
   * Store lines of attempts' logs as they are written (docs/logs.md), each item's lines in order.
   * Each line gets the next `seq` of the namespace and the store's time; an attempt's log is
   * bounded by {@link BackendOptions.logs}. One answer per item, in input order.
   * @throws ValidationError for a malformed item or line, or a call over `LOG_LIMITS`; nothing
   *   is stored.
   */
  appendLogs(items: LogAppend[]): Promise<LogAppendOutcome[]>;
  /**
   * A page of a task's log in `seq` order, every attempt's (or one attempt's) lines, with a
   * `cut` marker where the bounds dropped lines after `after`. A page may hold fewer than
   * `limit` lines while more follow (`more`): read on from `cursor`.
   * @throws NotFoundError when there is no such task in the namespace.
   */
  readLogs(options: ReadLogsOptions): Promise<LogPage>;
  /**
   * A page of log lines across tasks, filtered by agent, level and time, in `seq` order (no
   * `cut` markers). A page may hold fewer than `limit` lines while more follow (`more`).
   */
  readAgentLogs(options?: ReadAgentLogsOptions): Promise<LogPage>;

  /** Cancel a task (no-op if terminal). A running handler learns of it on its next renew. */
  cancelTask(taskId: string, reason?: string): Promise<TaskRecord>;
  /**
   * Retry (replay) a failed task, atomically:
   * - the task goes from `failed` back to `ready` with a fresh attempt budget: as many attempts
   *   again as it was submitted with. Its `attempts` counter is kept, so the new attempts are
   *   numbered on from the failed ones (failed attempts 1–3, then 4, 5, …), and `maxAttempts` is
   *   raised instead, to `attempts` + the `maxAttempts` it was submitted with (3 of 3 → 3 of 6:
   *   "attempt 4 of 6"); each retry raises it again the same way. Backoff follows the attempt
   *   number, so it grows on from where it was too. Its attempt history is kept: `getAttempts`
   *   lists the earlier attempts first, then the new ones, in the order they started (the
   *   `task.retried` event says how many came before, in `previousAttempts`). Its error and
   *   `finishedAt` are cleared; `failedAgents` is kept (the replay prefers other agents first, as
   *   any retry does). Event `task.retried`, data `{ reason, previousAttempts }`.
   * - the tasks that were skipped because of the failure, through hard dependencies and on
   *   downstream, are revived: `blocked` again (waiting for the retried task), error and
   *   `finishedAt` cleared, one `task.revived` event each (data `{ retriedTaskId }`). A skipped
   *   task is revived only when none of its hard dependencies is still failed, cancelled or
   *   skipped (it could run), and not when its run was cancelled. Soft dependents were released
   *   by the failure, not skipped: they are left as they are.
   * - a finished run that has an open task again (the retried task's, or a revived task's) is
   *   `running` again, `finishedAt` cleared, with a `run.reopened` event (data `{ from,
   *   retriedTaskId }`); it completes again when its tasks finish.
   *
   * @throws NotFoundError when there is no such task in the namespace.
   * @throws ConflictError when the task is not `failed` (only failed tasks can be retried);
   *   nothing changes.
   * @throws ValidationError when `reason` is not a string.
   */
  retryTask(taskId: string, options?: RetryTaskOptions): Promise<TaskRecord>;
  /** Cancel every non-terminal task of a run. */
  cancelRun(runId: string, reason?: string): Promise<RunRecord>;

  /**
   * Register an agent, or make a known one active again.
   * @throws ConflictError (see {@link agentOwnerConflict}) when the id is registered with
   *   another {@link AgentSpec.owner}; nothing changes.
   */
  registerAgent(agent: AgentSpec): Promise<AgentRecord>;
  /**
   * The {@link AgentSpec.owner} an agent was registered with (null: none), or null when there
   * is no such agent. A server that binds agents to API tokens reads it; it never changes once
   * the agent exists.
   */
  agentOwner(agentId: string): Promise<{ owner: string | null } | null>;
  /**
   * Record a heartbeat, and the process's `report` when given (absent: the last report is
   * kept). Proves the agent's process alive, not that its loop makes progress. Throws
   * `AgentLostError` if the agent was declared lost.
   */
  heartbeat(agentId: string, report?: AgentReport): Promise<void>;
  /** The agent leaves: its remaining leases are released. */
  deregisterAgent(agentId: string): Promise<void>;

  /**
   * Housekeeping any process may run, idempotent: expire leases, time out attempts, promote
   * delayed tasks, declare silent agents lost (releasing their leases at once), declare agents
   * stalled or recovered (see {@link SweepOptions.stallAfterMs}).
   */
  sweep(options: SweepOptions): Promise<SweepResult>;

  getTask(taskId: string): Promise<TaskRecord | null>;
  getAttempts(taskId: string): Promise<AttemptRecord[]>;
  listTasks(filter?: TaskFilter): Promise<TaskPage>;
  getRun(runId: string): Promise<RunRecord | null>;
  listRuns(filter?: RunFilter): Promise<RunPage>;
  /** Every agent of the namespace in registration order, with its tasks, health and counters. */
  listAgents(): Promise<AgentRecord[]>;
  stats(): Promise<Stats>;

  /** Ordered events after `since`. */
  readEvents(options?: ReadEventsOptions): Promise<BatonEvent[]>;
  /**
   * The newest `limit` events of the given types, newest first, read backwards from the end of
   * the stream (cost grows with how far back the matches are, not with the stream's length).
   */
  latestEvents(options: LatestEventsOptions): Promise<BatonEvent[]>;
  /**
   * The id of the newest event in the stream, or null when it has none. Pass it as `since` to
   * read only what happens from now on, without replaying history.
   */
  lastEventId(): Promise<string | null>;
  /**
   * Append an event that is not a task transition, such as an autoscaling decision, to the
   * stream. Returns its id. Only the {@link RecordableEventType} types are accepted.
   */
  recordEvent(event: RecordableEvent): Promise<string>;
  /**
   * Resolve when work may be available for these capabilities and types, on timeout, or on
   * abort.
   */
  waitForWork(options: WaitForWorkOptions): Promise<void>;

  // The usage and cost ledger, and budgets (docs/costs.md).

  /**
   * Record one model call against the attempt (task, token) the agent held, whether or not it
   * still holds it, with a `usage.recorded` event; add its cost to what its run and task spent;
   * settle `reservationId` in the same step.
   */
  recordUsage(input: UsageInput): Promise<UsageOutcome>;
  /** Every call recorded against a task, in the order recorded. */
  usageOf(taskId: string): Promise<UsageRecord[]>;
  /**
   * Totals of the recorded calls of a run, or of the namespace, and by group when asked.
   * @throws NotFoundError when the run does not exist in the namespace.
   */
  costs(query?: CostQuery): Promise<CostReport>;
  /** The budget of a run or task (by id), or null when it has none. */
  budgetOf(id: string): Promise<BudgetStatus | null>;
  /**
   * Hold a model call's worst case against the budgets of the lease's run and task, atomically:
   * held only when spent + reserved + this ≤ the limit for each budget there is (a task without
   * any budget is held too, so what is in flight shows). The caller must hold the lease. The
   * reservation belongs to the lease: settled by {@link recordUsage}, given back by
   * {@link releaseReservation}, and released by the sweep once the lease ended or was lost.
   */
  reserveBudget(input: ReserveInput): Promise<ReserveOutcome>;
  /**
   * Give a reservation back (its call never happened, or failed before it cost anything). True
   * when it was held; false when it was settled, released or never made — or, with `taskId`,
   * when it is another task's (left held: it is not this caller's to give back).
   */
  releaseReservation(reservationId: string, taskId?: string): Promise<boolean>;

  // Model selection (docs/llm.md#model-selection).

  /**
   * Record on the attempt (task, token) the agent holds or held which model `model: auto` chose
   * and why, with a `task.model_selected` event (data `{ attempt, model, tier, complexity,
   * reason }`). Like usage, recorded even when the lease was lost since: it says what the
   * attempt ran on. A second choice for the same attempt replaces the first.
   */
  recordModelChoice(input: ModelChoiceInput): Promise<ModelChoiceOutcome>;
  /** Count one model call's outcome in the history of its task type, complexity and model. */
  recordModelOutcome(input: ModelOutcomeInput): Promise<void>;
  /** The history of a task type and complexity on each of `models` (zeros when none). */
  modelHistory(query: ModelHistoryQuery): Promise<ModelHistory[]>;
  // Shared state (docs/mcp.md). An expired entry is gone for every reader and writer at once.

  /** The entry, or null when there is none (or it expired). */
  getState(scope: string, key: string): Promise<StateEntry | null>;
  /**
   * Write an entry atomically: created at version 1, or its version + 1; its expiry set from
   * `ttlMs` (absent: it never expires). Refused, changing nothing, on a version other than
   * `expectedVersion` or a `fence` the caller does not hold.
   */
  setState(input: StateWrite): Promise<StateOutcome>;
  /** Delete an entry; refused as {@link setState} is. */
  deleteState(input: StateDelete): Promise<StateOutcome>;
  /** The live entries of a scope, in key order. */
  listState(scope: string, options?: StateListOptions): Promise<StateEntry[]>;

  // Expertise versions (docs/agents.md#expertise): append-only, per domain, in the namespace.

  /** Record a version of a domain's file: its number is the domain's last + 1, atomically. */
  addExpertiseVersion(input: ExpertiseVersionInput): Promise<ExpertiseVersion>;
  /** Every version of a domain, oldest first ([] for a domain with none). */
  expertiseVersions(domain: string): Promise<ExpertiseVersion[]>;
  /** One version, the latest when `version` is not given; null when there is none. */
  getExpertiseVersion(domain: string, version?: number): Promise<ExpertiseVersion | null>;

  close(): Promise<void>;
}

/** Options every adapter accepts. */
export interface BackendOptions {
  /** Isolates queues that share one store. @default 'default' */
  namespace?: string;
  /**
   * Time source in epoch ms; tests inject a controllable clock. Read where each transition is
   * applied; a small step back is held (core/clock.ts).
   * @default Date.now, read inside each SQLite write transaction; on Redis, the server's clock
   * (`TIME`, read inside each script)
   */
  clock?: () => number;
  /** Largest payload or result, in bytes of JSON. @default 1 MiB */
  maxPayloadBytes?: number;
  /**
   * The claim-time routing rule's knobs (`src/core/routing.ts`, docs/routing.md): fallback away
   * from agents a task failed on, label affinity, history and load.
   * @default DEFAULT_ROUTING
   * @example { preferWindowMs: 500, fallbackGraceMs: 10_000 }
   */
  routing?: Partial<RoutingPolicy>;
  /**
   * How much of each attempt's log the store keeps: its first `headBytes` and last `tailBytes`
   * (docs/logs.md). Applied by the process that appends, when it appends.
   * @default DEFAULT_LOG_BOUNDS: 64 KiB head, 256 KiB tail
   * @example { headBytes: 16 * 1024, tailBytes: 1024 * 1024 }
   */
  logs?: Partial<LogBounds>;
}

/** The one place that maps a refused outcome to the error every backend reports. */
export function outcomeError(outcome: SettleOutcome, token: number): BatonError | null {
  switch (outcome.status) {
    case 'ok':
      return null;
    case 'not_found':
      return new NotFoundError('task', outcome.taskId);
    case 'lease_lost':
    case 'cancelled':
      return new LeaseLostError(outcome.taskId, token, outcome.reason);
  }
}

/** Throw the mapped error of a refused outcome. */
export function assertSettled(outcome: SettleOutcome | undefined, ref: LeaseRef): void {
  const error = outcome
    ? outcomeError(outcome, ref.token)
    : new LeaseLostError(ref.taskId, ref.token, 'no answer from the backend');
  if (error) throw error;
}

/**
 * The error every backend reports for registering an agent id that is registered with another
 * owner ({@link AgentSpec.owner}): nothing changed. `details.reason` is `owner`, so a server can
 * tell it from other conflicts.
 */
export function agentOwnerConflict(agentId: string): ConflictError {
  return new ConflictError(
    `agent ${agentId} is registered by another owner (another API token, or none); an agent id cannot change hands: register under another id`,
    { agentId, reason: 'owner' },
  );
}

/**
 * The error every backend reports for `retryTask` of a task that is not failed (nothing
 * changed): what it is, and what to do instead.
 */
export function retryConflict(taskId: string, state: TaskState): ConflictError {
  let hint: string;
  switch (state) {
    case 'succeeded':
      hint = 'it succeeded; to run it again, submit a new task';
      break;
    case 'skipped':
      hint = 'retry the failed task it depends on instead, which revives it';
      break;
    case 'cancelled':
      hint = 'a cancelled task stays cancelled; to run it, submit a new task';
      break;
    default:
      hint = 'it has not finished, so it will run (or is running) anyway';
  }
  return new ConflictError(
    `task ${taskId} is ${state}: only failed tasks can be retried; ${hint}`,
    { taskId, state },
  );
}

/**
 * The one place that turns {@link Backend.recordUsage}'s answer into the record, or the error
 * every backend reports for a call that cannot be recorded.
 */
export function recordedUsage(outcome: UsageOutcome, input: HeldLeaseRef): UsageRecord {
  switch (outcome.status) {
    case 'ok':
      return outcome.record;
    case 'not_found':
      throw new NotFoundError('task', input.taskId);
    case 'not_held':
      throw new ConflictError(
        `agent ${input.agentId} held no attempt of task ${input.taskId} with this token: usage is recorded against the attempt that made the call, with the token and agent of its lease`,
        { taskId: input.taskId, agentId: input.agentId },
      );
  }
}

/**
 * The one place that turns {@link Backend.recordModelChoice}'s answer into the attempt number,
 * or the error every backend reports for a choice that cannot be recorded.
 */
export function recordedModelChoice(outcome: ModelChoiceOutcome, input: HeldLeaseRef): number {
  switch (outcome.status) {
    case 'ok':
      return outcome.attempt;
    case 'not_found':
      throw new NotFoundError('task', input.taskId);
    case 'not_held':
      throw new ConflictError(
        `agent ${input.agentId} held no attempt of task ${input.taskId} with this token: a model choice is recorded on the attempt it was made for, with the token and agent of its lease`,
        { taskId: input.taskId, agentId: input.agentId },
      );
  }
}

/**
 * The one place that turns {@link Backend.reserveBudget}'s answer into the reservation, or the
 * error every backend reports: `BudgetExceededError` (amounts in USD), or the lease's.
 */
export function reservationOf(outcome: ReserveOutcome, ref: LeaseRef): Reservation {
  if (outcome.status === 'ok') return outcome.reservation;
  if (outcome.status === 'exceeded') {
    const f = outcome.facts;
    throw new BudgetExceededError({
      scope: f.scope,
      id: f.id,
      limitUsd: fromNano(f.limitNano),
      spentUsd: fromNano(f.spentNano),
      reservedUsd: fromNano(f.reservedNano),
      requestedUsd: fromNano(f.requestedNano),
    });
  }
  throw outcomeError(outcome, ref.token) ?? new LeaseLostError(ref.taskId, ref.token);
}

/**
 * The one place that turns {@link Backend.setState}'s or {@link Backend.deleteState}'s answer into
 * the entry (null: nothing was deleted), or the error every backend reports: a `ConflictError`
 * (details.reason `version`) for a compare-and-set that found another version, or the lease's.
 */
export function stateOf(outcome: StateOutcome, input: StateWrite | StateDelete): StateEntry | null {
  if (outcome.status === 'ok') return outcome.entry;
  if (outcome.status === 'version_mismatch') {
    const found =
      outcome.version === null ? 'there is no entry' : `its version is ${outcome.version}`;
    return conflict(
      `state ${input.key} was not changed: the write expected version ${input.expectedVersion ?? '(any)'} but ${found}; read it again and retry with its version`,
      {
        key: input.key,
        expectedVersion: input.expectedVersion ?? null,
        version: outcome.version,
        reason: 'version',
      },
    );
  }
  throw outcomeError(outcome, input.fence?.token ?? 0) ?? new ConflictError('state not changed');
}

function conflict(message: string, details: Record<string, unknown>): never {
  throw new ConflictError(message, details);
}
