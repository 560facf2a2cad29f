/**
 * The domain model of Baton. The words here are the naming contract of DESIGN.md's glossary:
 * task, run, agent, worker, lease, backend, executor, event.
 */
import type { Complexity, Tier } from './model-choice.ts';

/** Any value that survives `JSON.stringify` → `JSON.parse` unchanged. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * The life of a task (DESIGN.md, "Task states").
 *
 * ```
 * submit ─► blocked ─(hard deps succeeded)─► ready ─claim─► running ─complete─► succeeded
 * submit ─► delayed ─(runAfter reached)────► ready           running ─fail─► delayed | failed
 * blocked ─(hard dep failed/cancelled/skipped)─► skipped     any non-terminal ─cancel─► cancelled
 * failed ─retry─► ready, and the tasks it skipped: skipped ─► blocked (Backend.retryTask)
 * ```
 */
export type TaskState =
  'blocked' | 'delayed' | 'ready' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

export const TASK_STATES: readonly TaskState[] = [
  'blocked',
  'delayed',
  'ready',
  'running',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
];

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set([
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
]);

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.has(state);
}

/** A run is `running` until every task in it is terminal. */
export type RunState = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Priority names map to numbers; a lower number runs first. */
export type PriorityName = 'critical' | 'high' | 'medium' | 'low';

/** Exponential backoff with jitter and a cap, applied between attempts of a failing task. */
export interface RetryPolicy {
  /** Delay before the second attempt, in ms. @default 1000 */
  baseMs: number;
  /** The delay never exceeds this, in ms. @default 60000 */
  maxMs: number;
  /** Growth factor per attempt. @default 2 */
  factor: number;
  /**
   * `full`: uniform in [0, d]; `equal`: d/2 + uniform in [0, d/2]; `none`: exactly d.
   * @default 'equal'
   */
  jitter: 'full' | 'equal' | 'none';
}

/** A dependency of a task on another task of the same run, by key. */
export interface DependencySpec {
  key: string;
  /**
   * A soft dependency releases its dependent when it reaches any terminal state; a hard one
   * (the default) only when it succeeds, and skips the dependent otherwise.
   * @default false
   */
  soft?: boolean;
}

/** What a producer submits: one unit of work. */
export interface TaskSpec {
  /** Which handler runs it (e.g. `shell`, `llm`, or any name a worker registers). */
  type: string;
  /** JSON input for the handler. @default null */
  payload?: Json;
  /** Unique in its run; other tasks of the run name it in `dependsOn`. */
  key?: string;
  /** A human title for displays. */
  title?: string;
  /** A lane for display and worktree grouping. */
  epic?: string;
  /** Capabilities an agent must all have to take this task. @default [] */
  requires?: string[];
  /** Lower runs first; names map `critical|high|medium|low` → 1..4. @default 'medium' (3) */
  priority?: number | PriorityName;
  /** Total attempts including the first. @default 3 */
  maxAttempts?: number;
  /** Each attempt is aborted after this many ms. @default no limit */
  timeoutMs?: number;
  /** Backoff between attempts. */
  backoff?: Partial<RetryPolicy>;
  /** Submitting twice with the same key yields the same task. */
  idempotencyKey?: string;
  /** Not claimable before this time (epoch ms). */
  runAfter?: number;
  /** Keys (or `{ key, soft }`) of tasks of the same run this task waits for. */
  dependsOn?: (string | DependencySpec)[];
  /**
   * Soft preferences for agents by label, alongside the hard `requires`: among agents that can
   * take the task, one whose labels match rules of larger total weight is preferred for a short
   * window after the task becomes ready (docs/routing.md). Never makes a task wait for an agent
   * that is not there.
   * @example [{ label: 'region', value: 'eu', weight: 2 }]
   * @default []
   */
  affinity?: AffinityRule[];
  /**
   * A spending limit for this task's model calls over all its attempts, besides its run's
   * (docs/costs.md). A call whose worst case does not fit fails with `BATON_BUDGET_EXCEEDED`.
   * @default no task budget
   * @example { usd: 0.5 }
   */
  budget?: Budget;
  /**
   * This task's result is the run's result (docs/planner.md#the-runs-result): a run whose tasks
   * declare it gives the results of those tasks, instead of the results of its sinks (the tasks
   * nothing depends on).
   * @default false
   */
  aggregate?: boolean;
}

/** A spending limit in USD (docs/costs.md): `{ usd: 5 }`. */
export interface Budget {
  /** At most this many US dollars, from 0 to 1,000,000; kept to the nano-dollar. */
  usd: number;
}

/** One soft preference of a task: agents whose label `label` is `value` score `weight`. */
export interface AffinityRule {
  label: string;
  value: string;
  /** Added to the score of a matching agent; negative to steer away from it. @default 1 */
  weight?: number;
}

/** A DAG of tasks submitted together, atomically. */
export interface RunSpec {
  /** A name for displays. @default 'run' */
  name?: string;
  tasks: TaskSpec[];
  /**
   * A spending limit for the model calls of every task in the run (docs/costs.md). Concurrent
   * calls cannot overshoot it: each reserves its worst case first.
   * @default no budget
   * @example { usd: 5 }
   */
  budget?: Budget;
}

/** A task after validation and normalisation: every default applied. */
export interface NormalizedTask {
  type: string;
  payload: Json;
  key: string | null;
  title: string | null;
  epic: string | null;
  requires: string[];
  priority: number;
  maxAttempts: number;
  timeoutMs: number | null;
  backoff: RetryPolicy;
  idempotencyKey: string | null;
  runAfter: number | null;
  dependsOn: Required<DependencySpec>[];
  /** Affinity rules with their weights, in the order given. */
  affinity: Required<AffinityRule>[];
  /** Number of tasks on the longest downstream path starting at this one (itself included). */
  criticalPath: number;
  /** Kahn level: 0 for tasks without dependencies inside the submission. */
  level: number;
  /** The task's own budget in USD (`budget.usd`), when it has one. */
  budgetUsd?: number;
  /**
   * Whether its result is the run's result (`TaskSpec.aggregate`). The backends always say;
   * absent reads as false.
   */
  aggregate?: boolean;
}

/** Why an attempt ended without success. */
export interface TaskError {
  message: string;
  /** A stable code such as `BATON_TIMEOUT` or `EXIT_CODE`. */
  code?: string;
  name?: string;
  /** When false, no further attempt is made. */
  retryable?: boolean;
  stack?: string;
}

/** A task as stored. */
export interface TaskRecord extends Omit<NormalizedTask, 'level' | 'budgetUsd'> {
  id: string;
  runId: string | null;
  state: TaskState;
  /**
   * Attempts started so far, over the task's whole life: a retried task's attempts are numbered
   * on from its failed ones (a graceful release gives its attempt back).
   */
  attempts: number;
  /**
   * The attempts the task may use in all: the `maxAttempts` it was submitted with, raised by each
   * `retryTask` to the attempts used so far plus that `maxAttempts` ("attempt 4 of 6").
   */
  maxAttempts: number;
  /** The agent holding (or that last held) the task. */
  agentId: string | null;
  leaseExpiresAt: number | null;
  result: Json | null;
  error: TaskError | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /**
   * Agents an attempt of this task failed on, timed out on, or was lost with (lease expired,
   * agent declared lost), in the order it happened, each once. A retry prefers other agents
   * (docs/routing.md). A graceful release does not count.
   */
  failedAgents: string[];
}

/** How one attempt ended. Each attempt's outcome is recorded exactly once. */
export type AttemptOutcome =
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'lease_expired'
  | 'agent_lost'
  | 'released'
  | 'cancelled';

export interface AttemptRecord {
  taskId: string;
  attempt: number;
  agentId: string;
  startedAt: number;
  finishedAt: number | null;
  outcome: AttemptOutcome;
  error: TaskError | null;
  /**
   * How long the handler ran, in ms, as its worker measured it with a monotonic clock: from its
   * start to its return (or, for an attempt that timed out, to the abort). Unlike
   * `finishedAt - startedAt` (claim to recorded outcome, by the store's clock) it leaves out the
   * time the lease waited for the handler to start and for the outcome to be stored. Null when
   * the worker did not report it (an HTTP worker that sent no `runMs`, a worker older than this
   * field) or no worker ended the attempt (lease expired, agent lost, released, cancelled).
   */
  runMs: number | null;
  /**
   * The model `model: auto` chose for this attempt of an `llm` task, with its tier and why
   * (docs/llm.md#model-selection); null when the attempt made no such choice.
   */
  model: AttemptModel | null;
}

/** The model an attempt was given by model selection, as recorded with `task.model_selected`. */
export interface AttemptModel {
  /** The model id, e.g. `anthropic:claude-sonnet-4-5`. */
  model: string;
  tier: Tier;
  complexity: Complexity;
  /** Every step of the rule that decided or moved the tier, joined with `; `. */
  reason: string;
}

export interface RunProgress {
  total: number;
  /** Count of tasks in each state; every state is present. */
  byState: Record<TaskState, number>;
  /** Terminal tasks / total, in [0, 1]. */
  done: number;
}

export interface RunRecord {
  id: string;
  name: string;
  state: RunState;
  createdAt: number;
  finishedAt: number | null;
  progress: RunProgress;
}

/** What a dependent sees of one of its dependencies. */
export interface DependencyOutcome {
  taskId: string;
  key: string;
  state: TaskState;
  soft: boolean;
  result: Json | null;
  error: TaskError | null;
}

/** The right to run one attempt of a task until `expiresAt`. */
export interface Lease {
  taskId: string;
  /**
   * Fencing token: increases by one on every claim of the task. Every renew/complete/fail
   * must present it; a stale token is refused (`LeaseLostError`).
   */
  token: number;
  /** Attempt number, 1-based. */
  attempt: number;
  agentId: string;
  expiresAt: number;
  task: TaskRecord;
  /** Outcomes of this task's dependencies, by key. */
  dependencies: Record<string, DependencyOutcome>;
}

export type AgentState = 'active' | 'lost' | 'stopped';

/**
 * How an agent is doing, as `listAgents` reports it:
 * - `ok`: active, heartbeating, and its worker loop makes progress;
 * - `stalled`: active and heartbeating (its process is alive), but its worker loop has made no
 *   progress for longer than the sweep's `stallAfterMs` while it owed some: it held a running
 *   task, or the sweep had to time out one of its attempts (see `SweepOptions.stallAfterMs` in
 *   `backends/backend.ts` for the exact rule). It is `ok` again once it renews its leases or
 *   reports an attempt;
 * - `degraded`: active and making progress, but its process still runs handlers that ignored
 *   their abort (timeout, cancel, lost lease) and that its worker abandoned after a grace period:
 *   their slots were freed for other tasks, their code may still hold memory or processes
 *   (`process.abandonedHandlers` says how many; an `agent.degraded` event names each task). It
 *   is `ok` again once they return. Stalled beats degraded;
 * - `lost`: it missed its heartbeats for longer than the agent TTL; its leases were released;
 * - `stopped`: it deregistered.
 */
export type AgentHealth = 'ok' | 'stalled' | 'degraded' | 'lost' | 'stopped';

/**
 * What an agent's process says about itself with a heartbeat (or a renew). `null` means the
 * process could not tell (e.g. the first CPU sample, which has no earlier one to compare with).
 */
export interface AgentReport {
  /**
   * CPU time the agent's whole process used since its previous report, as a percentage of one
   * core over that wall-clock interval (a process busy on two cores reports about 200).
   */
  cpuPercent: number | null;
  /** Resident memory of the agent's process, in bytes. */
  rssBytes: number | null;
  /**
   * Handlers of this agent that ignored their abort, were abandoned by its worker (slots freed)
   * and have not returned yet; while there are any, the agent's health is `degraded`.
   * @default 0
   */
  abandonedHandlers?: number;
}

/** An agent's counters for one task type. */
export interface AgentTypeStats {
  /** Attempts of this type the agent completed. */
  succeeded: number;
  /** Attempts of this type that ended `failed` or `timed_out` while the agent held them. */
  failed: number;
  /**
   * Mean run time of the succeeded attempts (claim to complete, by the backend's clock), in
   * ms; null before the first success.
   */
  meanRunMs: number | null;
}

/** What an agent says about itself when it registers. */
export interface AgentSpec {
  /** Stable id; generated when absent. */
  id?: string;
  name?: string;
  capabilities: string[];
  concurrency: number;
  labels?: Record<string, string>;
  host?: string;
  pid?: number;
  version?: string;
  /**
   * Who may act for this agent through the HTTP API: an opaque fingerprint the server derives
   * from the API token that registered the agent (never the token itself). Stored with the
   * agent and fixed at its first registration: registering the id again with another owner (or
   * without one, when it has one) is refused with `BATON_CONFLICT`. The SDK registers without
   * one.
   * @default none
   */
  owner?: string;
}

export interface AgentRecord {
  id: string;
  name: string;
  capabilities: string[];
  labels: Record<string, string>;
  concurrency: number;
  host: string | null;
  pid: number | null;
  version: string | null;
  state: AgentState;
  startedAt: number;
  lastHeartbeatAt: number;
  /** Tasks currently leased to this agent. */
  inFlight: string[];
  /** `state` refined by whether the agent's worker loop makes progress (see {@link AgentHealth}). */
  health: AgentHealth;
  /** When the sweep declared the agent stalled; null unless `health` is `stalled`. */
  stalledAt: number | null;
  /**
   * Counters by task type, over every attempt the agent (this id, across registrations) ran.
   * Types it never ran are absent.
   */
  stats: Record<string, AgentTypeStats>;
  /** The latest {@link AgentReport} of its process; nulls until it reports. */
  process: AgentReport;
}

export type EventType =
  | 'run.submitted'
  | 'run.completed'
  | 'run.cancelled'
  /** A finished run has an open task again: one of its failed tasks was retried (replayed). */
  | 'run.reopened'
  | 'task.submitted'
  | 'task.ready'
  | 'task.delayed'
  | 'task.claimed'
  | 'task.succeeded'
  | 'task.retrying'
  | 'task.failed'
  | 'task.released'
  | 'task.skipped'
  | 'task.cancelled'
  /** A failed task was retried (replayed): `ready` again with a fresh attempt budget. */
  | 'task.retried'
  /** A task skipped because of a failure is `blocked` again: the failed task was retried. */
  | 'task.revived'
  | 'agent.joined'
  | 'agent.lost'
  | 'agent.stalled'
  | 'agent.recovered'
  /** A worker abandoned a handler that ignored its abort (data: taskId, attempt, abortedBy…). */
  | 'agent.degraded'
  | 'agent.left'
  /** A model call's usage and cost was recorded in the ledger (data: provider, model, tokens…). */
  | 'usage.recorded'
  /** `model: auto` chose an attempt's model (data: attempt, model, tier, complexity, reason). */
  | 'task.model_selected'
  | 'pool.scaled_up'
  | 'pool.scaled_down'
  | 'pool.restarted';

/** An entry of the ordered, resumable event stream. */
export interface BatonEvent {
  /** Opaque, ordered id; pass the last one seen as `since` to resume. */
  id: string;
  type: EventType;
  at: number;
  taskId: string | null;
  runId: string | null;
  agentId: string | null;
  data: { [key: string]: Json };
}
