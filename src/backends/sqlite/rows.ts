/**
 * Rows as SQLite returns them, and their mapping to the domain records of `core/types.ts`.
 * Column names follow the schema in `migrations/`.
 *
 * The hot statements (whole task rows, lease rows) are read as arrays: `node:sqlite` builds a
 * row object property by property, which costs more than the query itself for a 30-column row.
 * {@link readTaskRow} and {@link readLeaseRow} turn an array into a plain object by column
 * position, found once per statement from its column names.
 */
import type { SQLOutputValue, StatementSync } from 'node:sqlite';
import { emptyStateCounts } from '../../core/state.ts';
import {
  TASK_STATES,
  type AgentHealth,
  type AgentRecord,
  type AgentState,
  type AgentTypeStats,
  type AttemptModel,
  type AttemptOutcome,
  type AttemptRecord,
  type BatonEvent,
  type DependencySpec,
  type EventType,
  type Json,
  type RetryPolicy,
  type RunRecord,
  type RunState,
  type TaskError,
  type TaskRecord,
  type TaskState,
} from '../../core/types.ts';

export interface TaskRow {
  seq: number;
  id: string;
  ns: string;
  run_id: string | null;
  key: string | null;
  type: string;
  title: string | null;
  epic: string | null;
  payload: string;
  requires: string;
  queue: number;
  priority: number;
  critical_path: number;
  max_attempts: number;
  timeout_ms: number | null;
  backoff: string;
  idempotency_key: string | null;
  run_after: number | null;
  depends_on: string | null;
  dep_ids: string | null;
  pending_deps: number;
  has_dependents: number;
  state: TaskState;
  attempts: number;
  token: number;
  agent_id: string | null;
  lease_expires_at: number | null;
  deadline_at: number | null;
  result: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** Affinity rules (JSON) or NULL (migration 000003). */
  affinity: string | null;
  aggregate: number;
  /** Agents its attempts failed on (JSON) or NULL (migration 000003). */
  failed_agents: string | null;
}

/** The columns settling a lease reads (`task-lease.sql`, `tasks-lease-expired.sql` …). */
export interface LeaseRow {
  seq: number;
  id: string;
  run_id: string | null;
  key: string | null;
  state: TaskState;
  token: number;
  attempts: number;
  max_attempts: number;
  backoff: string;
  queue: number;
  agent_id: string | null;
  lease_expires_at: number | null;
  timeout_ms: number | null;
  has_dependents: number;
}

/** Positions of a row type's columns in the arrays a statement returns. */
export type Columns<T> = Record<keyof T, number>;

const columnCache = new WeakMap<StatementSync, Record<string, number>>();

/**
 * Where each column of `T` is in `statement`'s result arrays.
 *
 * @throws Error when the statement lacks one: a programming error in the SQL files.
 */
export function columnsOf<T>(
  statement: StatementSync,
  names: readonly (keyof T & string)[],
): Columns<T> {
  const cached = columnCache.get(statement);
  if (cached) return cached as Columns<T>;
  const positions = new Map(statement.columns().map((column, i) => [column.name, i]));
  const out: Record<string, number> = {};
  for (const name of names) {
    const i = positions.get(name);
    if (i === undefined)
      throw new Error(`SQL statement lacks column ${name}: ${statement.sourceSQL}`);
    out[name] = i;
  }
  columnCache.set(statement, out);
  return out as Columns<T>;
}

export const TASK_ROW_COLUMNS = [
  'seq',
  'id',
  'ns',
  'run_id',
  'key',
  'type',
  'title',
  'epic',
  'payload',
  'requires',
  'queue',
  'priority',
  'critical_path',
  'max_attempts',
  'timeout_ms',
  'backoff',
  'idempotency_key',
  'run_after',
  'depends_on',
  'dep_ids',
  'pending_deps',
  'has_dependents',
  'state',
  'attempts',
  'token',
  'agent_id',
  'lease_expires_at',
  'deadline_at',
  'result',
  'error',
  'created_at',
  'updated_at',
  'started_at',
  'finished_at',
  'affinity',
  'failed_agents',
  'aggregate',
] as const satisfies readonly (keyof TaskRow)[];

export const LEASE_ROW_COLUMNS = [
  'seq',
  'id',
  'run_id',
  'key',
  'state',
  'token',
  'attempts',
  'max_attempts',
  'backoff',
  'queue',
  'agent_id',
  'lease_expires_at',
  'timeout_ms',
  'has_dependents',
] as const satisfies readonly (keyof LeaseRow)[];

type Values = readonly SQLOutputValue[];

export function readTaskRow(v: Values, c: Columns<TaskRow>): TaskRow {
  return {
    seq: v[c.seq] as number,
    id: v[c.id] as string,
    ns: v[c.ns] as string,
    run_id: v[c.run_id] as string | null,
    key: v[c.key] as string | null,
    type: v[c.type] as string,
    title: v[c.title] as string | null,
    epic: v[c.epic] as string | null,
    payload: v[c.payload] as string,
    requires: v[c.requires] as string,
    queue: v[c.queue] as number,
    priority: v[c.priority] as number,
    critical_path: v[c.critical_path] as number,
    max_attempts: v[c.max_attempts] as number,
    timeout_ms: v[c.timeout_ms] as number | null,
    backoff: v[c.backoff] as string,
    idempotency_key: v[c.idempotency_key] as string | null,
    run_after: v[c.run_after] as number | null,
    depends_on: v[c.depends_on] as string | null,
    dep_ids: v[c.dep_ids] as string | null,
    pending_deps: v[c.pending_deps] as number,
    has_dependents: v[c.has_dependents] as number,
    state: v[c.state] as TaskState,
    attempts: v[c.attempts] as number,
    token: v[c.token] as number,
    agent_id: v[c.agent_id] as string | null,
    lease_expires_at: v[c.lease_expires_at] as number | null,
    deadline_at: v[c.deadline_at] as number | null,
    result: v[c.result] as string | null,
    error: v[c.error] as string | null,
    created_at: v[c.created_at] as number,
    updated_at: v[c.updated_at] as number,
    started_at: v[c.started_at] as number | null,
    finished_at: v[c.finished_at] as number | null,
    affinity: v[c.affinity] as string | null,
    aggregate: v[c.aggregate] as number,
    failed_agents: v[c.failed_agents] as string | null,
  };
}

export function readLeaseRow(v: Values, c: Columns<LeaseRow>): LeaseRow {
  return {
    seq: v[c.seq] as number,
    id: v[c.id] as string,
    run_id: v[c.run_id] as string | null,
    key: v[c.key] as string | null,
    state: v[c.state] as TaskState,
    token: v[c.token] as number,
    attempts: v[c.attempts] as number,
    max_attempts: v[c.max_attempts] as number,
    backoff: v[c.backoff] as string,
    queue: v[c.queue] as number,
    agent_id: v[c.agent_id] as string | null,
    lease_expires_at: v[c.lease_expires_at] as number | null,
    timeout_ms: v[c.timeout_ms] as number | null,
    has_dependents: v[c.has_dependents] as number,
  };
}

export type StateCounts = Record<`n_${TaskState}`, number>;

export interface RunRow extends StateCounts {
  seq: number;
  id: string;
  ns: string;
  name: string;
  state: RunState;
  created_at: number;
  finished_at: number | null;
}

export interface AgentRow {
  ns: string;
  id: string;
  name: string;
  capabilities: string;
  labels: string;
  concurrency: number;
  host: string | null;
  pid: number | null;
  version: string | null;
  state: AgentState;
  started_at: number;
  last_heartbeat_at: number;
  progress_at: number | null;
  overdue_at: number | null;
  stalled_at: number | null;
  cpu_percent: number | null;
  rss_bytes: number | null;
  abandoned_handlers: number;
  /** Who may act for the agent through the HTTP API (AgentSpec.owner); NULL for none. */
  owner: string | null;
}

/** One row of `agent_stats`: an agent's counters for one task type. */
export interface AgentStatsRow {
  agent_id: string;
  type: string;
  succeeded: number;
  failed: number;
  total_run_ms: number;
}

export interface AttemptRow {
  task_seq: number;
  token: number;
  attempt: number;
  agent_id: string;
  started_at: number;
  finished_at: number | null;
  outcome: AttemptOutcome;
  error: string | null;
  /** NULL on rows from before migration 000007. */
  run_ms: number | null;
  /** The model selection's choice as JSON (migration 000011); NULL when none was made. */
  model: string | null;
}

export interface EventRow {
  id: number;
  ns: string;
  type: EventType;
  at: number;
  task_id: string | null;
  run_id: string | null;
  agent_id: string | null;
  data: string;
}

/**
 * Many tasks share the same `requires` and `backoff` text; parse each distinct text once.
 * Bounded so a store with endless distinct values cannot grow it without limit.
 */
class ParseCache<T> {
  readonly #map = new Map<string, T>();
  get(text: string): T {
    let value = this.#map.get(text);
    if (value === undefined) {
      if (this.#map.size >= 1000) this.#map.clear();
      value = JSON.parse(text) as T;
      this.#map.set(text, value);
    }
    return value;
  }
}

const requiresCache = new ParseCache<string[]>();
const backoffCache = new ParseCache<RetryPolicy>();

export function parseBackoff(text: string): RetryPolicy {
  return { ...backoffCache.get(text) };
}

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function toTask(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    runId: row.run_id,
    type: row.type,
    payload: JSON.parse(row.payload) as Json,
    key: row.key,
    title: row.title,
    epic: row.epic,
    requires: [...requiresCache.get(row.requires)],
    priority: row.priority,
    maxAttempts: row.max_attempts,
    timeoutMs: row.timeout_ms,
    backoff: parseBackoff(row.backoff),
    idempotencyKey: row.idempotency_key,
    runAfter: row.run_after,
    dependsOn:
      row.depends_on === null ? [] : (JSON.parse(row.depends_on) as Required<DependencySpec>[]),
    criticalPath: row.critical_path,
    state: row.state,
    attempts: row.attempts,
    agentId: row.agent_id,
    leaseExpiresAt: row.lease_expires_at,
    result: parseJson<Json>(row.result),
    error: parseJson<TaskError>(row.error),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    affinity: row.affinity === null ? [] : (JSON.parse(row.affinity) as TaskRecord['affinity']),
    aggregate: row.aggregate === 1,
    failedAgents: row.failed_agents === null ? [] : (JSON.parse(row.failed_agents) as string[]),
  };
}

export function countsOf(row: StateCounts | undefined): Record<TaskState, number> {
  const counts = emptyStateCounts();
  if (row) for (const state of TASK_STATES) counts[state] = row[`n_${state}`];
  return counts;
}

export function toRun(row: RunRow): RunRecord {
  const byState = countsOf(row);
  let total = 0;
  let terminal = 0;
  for (const state of TASK_STATES) {
    total += byState[state];
    if (
      state === 'succeeded' ||
      state === 'failed' ||
      state === 'skipped' ||
      state === 'cancelled'
    ) {
      terminal += byState[state];
    }
  }
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    progress: {
      total,
      byState,
      done: total === 0 ? (row.state === 'running' ? 0 : 1) : terminal / total,
    },
  };
}

/** The counters of one agent by type, from its `agent_stats` rows. */
export function toAgentStats(rows: readonly AgentStatsRow[]): Record<string, AgentTypeStats> {
  const out: Record<string, AgentTypeStats> = {};
  for (const row of rows) {
    out[row.type] = {
      succeeded: row.succeeded,
      failed: row.failed,
      meanRunMs: row.succeeded > 0 ? Math.round(row.total_run_ms / row.succeeded) : null,
    };
  }
  return out;
}

/**
 * The agent's health: its state, refined for an active agent by a stall the sweep declared and
 * that no progress has ended yet (the next sweep records the recovery; reading already says so),
 * then by handlers its worker abandoned that still run (AgentHealth).
 */
function healthOf(row: AgentRow): AgentHealth {
  if (row.state !== 'active') return row.state;
  const stalled = row.stalled_at !== null && (row.progress_at ?? row.started_at) <= row.stalled_at;
  if (stalled) return 'stalled';
  return row.abandoned_handlers > 0 ? 'degraded' : 'ok';
}

export function toAgent(
  row: AgentRow,
  inFlight: string[],
  stats: Record<string, AgentTypeStats>,
): AgentRecord {
  const health = healthOf(row);
  return {
    id: row.id,
    name: row.name,
    capabilities: JSON.parse(row.capabilities) as string[],
    labels: JSON.parse(row.labels) as Record<string, string>,
    concurrency: row.concurrency,
    host: row.host,
    pid: row.pid,
    version: row.version,
    state: row.state,
    startedAt: row.started_at,
    lastHeartbeatAt: row.last_heartbeat_at,
    inFlight,
    health,
    stalledAt: health === 'stalled' ? row.stalled_at : null,
    stats,
    process: {
      cpuPercent: row.cpu_percent,
      rssBytes: row.rss_bytes,
      abandonedHandlers: row.abandoned_handlers,
    },
  };
}

export function toAttempt(row: AttemptRow, taskId: string): AttemptRecord {
  return {
    taskId,
    attempt: row.attempt,
    agentId: row.agent_id,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    outcome: row.outcome,
    error: parseJson<TaskError>(row.error),
    runMs: row.run_ms ?? null,
    model: parseJson<AttemptModel>(row.model ?? null),
  };
}

export function toEvent(row: EventRow): BatonEvent {
  return {
    id: String(row.id),
    type: row.type,
    at: row.at,
    taskId: row.task_id,
    runId: row.run_id,
    agentId: row.agent_id,
    data: JSON.parse(row.data) as BatonEvent['data'],
  };
}
