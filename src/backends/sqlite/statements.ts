/**
 * The catalogue of SQL statements, one per file in `sql/` (each file's header names its
 * parameters and what it returns). Prepared once per connection and reused: preparing is far
 * more expensive than running, and the hot paths run thousands of statements per second.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { sqlText } from './database.ts';

const FILES = {
  agentById: 'agent-by-id',
  agentClaimFilter: 'agent-claim-filter',
  agentClaimed: 'agent-claimed',
  agentHeartbeat: 'agent-heartbeat',
  agentInFlight: 'agent-in-flight',
  agentOverdue: 'agent-overdue',
  agentProgress: 'agent-progress',
  agentRecovered: 'agent-recovered',
  agentSetState: 'agent-set-state',
  agentStatsFailed: 'agent-stats-failed',
  agentStatsList: 'agent-stats-list',
  agentStatsOf: 'agent-stats-of',
  agentStatsOfAgentType: 'agent-stats-of-agent-type',
  agentStatsSucceeded: 'agent-stats-succeeded',
  agentUpsert: 'agent-upsert',
  agentsByState: 'agents-by-state',
  agentsList: 'agents-list',
  agentsRecovering: 'agents-recovering',
  agentsContenders: 'agents-contenders',
  agentsSilent: 'agents-silent',
  agentsStall: 'agents-stall',
  attemptCost: 'attempt-cost',
  attemptFinish: 'attempt-finish',
  attemptInsert: 'attempt-insert',
  attemptsOfTask: 'attempts-of-task',
  claimFilterInsert: 'claim-filter-insert',
  claimFilters: 'claim-filters',
  dataVersion: 'data-version',
  dependencyInsert: 'dependency-insert',
  dependencyOutcomes: 'dependency-outcomes',
  dependencyStates: 'dependency-states',
  dependentRelease: 'dependent-release',
  dependentSkip: 'dependent-skip',
  dependentsRewait: 'dependents-rewait',
  dependentsOf: 'dependents-of',
  dependentsSkipped: 'dependents-skipped',
  eventInsert: 'event-insert',
  eventsLast: 'events-last',
  eventsLatest: 'events-latest',
  eventsLastAt: 'events-last-at',
  eventsSince: 'events-since',
  logClaim: 'log-claim',
  logCutsOfTask: 'log-cuts-of-task',
  logHead: 'log-head',
  logSeq: 'log-seq',
  logSeqSave: 'log-seq-save',
  logState: 'log-state',
  logStateSave: 'log-state-save',
  logTailCut: 'log-tail-cut',
  logTailOldest: 'log-tail-oldest',
  logsOfAgent: 'logs-of-agent',
  logsOfNamespace: 'logs-of-namespace',
  logsOfTask: 'logs-of-task',
  namespaceCount: 'namespace-count',
  namespaceCounts: 'namespace-counts',
  queueInsert: 'queue-insert',
  queuesSince: 'queues-since',
  runById: 'run-by-id',
  runCount: 'run-count',
  runFinish: 'run-finish',
  runInsert: 'run-insert',
  runReopen: 'run-reopen',
  runsPage: 'runs-page',
  runsPageDesc: 'runs-page-desc',
  sweepLockGiveUp: 'sweep-lock-give-up',
  sweepLockHolder: 'sweep-lock-holder',
  sweepLockTake: 'sweep-lock-take',
  taskById: 'task-by-id',
  taskByIdempotencyKey: 'task-by-idempotency-key',
  taskBySeq: 'task-by-seq',
  taskCancel: 'task-cancel',
  taskClaim: 'task-claim',
  taskComplete: 'task-complete',
  taskFail: 'task-fail',
  taskFailedAgent: 'task-failed-agent',
  taskInsert: 'task-insert',
  taskLease: 'task-lease',
  taskMarkHasDependents: 'task-mark-has-dependents',
  taskRelease: 'task-release',
  taskRenew: 'task-renew',
  taskReplay: 'task-replay',
  taskRetry: 'task-retry',
  taskRevive: 'task-revive',
  tasksDelayedDue: 'tasks-delayed-due',
  tasksDelayedNext: 'tasks-delayed-next',
  tasksKeysOfRun: 'tasks-keys-of-run',
  tasksLeaseExpired: 'tasks-lease-expired',
  tasksMaxSeq: 'tasks-max-seq',
  tasksOpenOfRun: 'tasks-open-of-run',
  tasksPage: 'tasks-page',
  tasksPageFinished: 'tasks-page-finished',
  tasksPageLive: 'tasks-page-live',
  tasksPageOfRun: 'tasks-page-of-run',
  tasksReadyByRequires: 'tasks-ready-by-requires',
  tasksReadyCandidates: 'tasks-ready-candidates',
  tasksReadyExists: 'tasks-ready-exists',
  tasksReadyRouting: 'tasks-ready-routing',
  tasksRunning: 'tasks-running',
  tasksRunningOfAgent: 'tasks-running-of-agent',
  tasksTimedOut: 'tasks-timed-out',
} as const;

type Name = keyof typeof FILES;

/**
 * Statements whose rows are read as arrays (see `rows.ts`): whole task rows and lease rows,
 * which the hot paths read most.
 */
const ARRAY_ROWS: ReadonlySet<Name> = new Set<Name>([
  'taskById',
  'taskBySeq',
  'tasksPage',
  'tasksPageOfRun',
  'tasksPageFinished',
  'tasksPageLive',
  'tasksOpenOfRun',
  'taskLease',
  'tasksLeaseExpired',
  'tasksTimedOut',
  'tasksRunningOfAgent',
]);

/**
 * A multi-row statement: `statement` inserts (or reads for) `rows` rows of `width` values each.
 * Largest first; the last takes one row. One statement of many rows costs much less per row than
 * one per row.
 */
export interface BatchInsert {
  rows: number;
  width: number;
  statement: StatementSync;
}

export type Statements = Record<Name, StatementSync> & {
  /** `task-insert.sql` for 32, 8 and 1 tasks. */
  taskInserts: BatchInsert[];
  /** `event-insert.sql` for 64, 8 and 1 events. */
  eventInserts: BatchInsert[];
  /** `log-insert.sql` for 64, 16, 4 and 1 lines (100 lines: 3 statements, not 9). */
  logInserts: BatchInsert[];
  /** `log-states.sql` for 64, 16, 4 and 1 claims. */
  logStates: BatchInsert[];
};

export function prepareStatements(db: DatabaseSync): Statements {
  const out = {} as Statements;
  for (const [name, file] of Object.entries(FILES) as [Name, string][]) {
    const statement = db.prepare(sqlText(file));
    if (ARRAY_ROWS.has(name)) statement.setReturnArrays(true);
    out[name] = statement;
  }
  out.taskInserts = batches(db, FILES.taskInsert, [32, 8, 1]);
  out.eventInserts = batches(db, FILES.eventInsert, [64, 8, 1]);
  out.logInserts = batches(db, 'log-insert', [64, 16, 4, 1]);
  out.logStates = batches(db, 'log-states', [64, 16, 4, 1]);
  return out;
}

function batches(db: DatabaseSync, file: string, sizes: readonly number[]): BatchInsert[] {
  const sql = sqlText(file);
  const tuple = /VALUES\s*(\([?,\s]+\))/.exec(sql)?.[1];
  if (!tuple) throw new Error(`sql/${file}.sql has no VALUES row of '?' placeholders to repeat`);
  const width = tuple.split('?').length - 1;
  return sizes.map((rows) => ({
    rows,
    width,
    // `INSERT … VALUES (?, …)` → `INSERT … VALUES (?, …), (?, …), …`
    statement: db.prepare(sql.replace(tuple, Array.from({ length: rows }, () => tuple).join(', '))),
  }));
}

/** The rows a batch statement (a SELECT over its rows of values) returns for all of `values`. */
export function selectRows(batches: readonly BatchInsert[], values: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  let at = 0;
  for (const { rows, width, statement } of batches) {
    const size = rows * width;
    for (; values.length - at >= size; at += size) {
      for (const row of statement.all(...(values.slice(at, at + size) as SQLInputValue[])))
        out.push(row);
    }
  }
  return out;
}

/** Insert buffered rows (`width` values each, flattened) with the fewest statements. */
export function insertRows(batches: readonly BatchInsert[], values: readonly unknown[]): void {
  let at = 0;
  for (const { rows, width, statement } of batches) {
    const size = rows * width;
    for (; values.length - at >= size; at += size) {
      statement.run(...(values.slice(at, at + size) as SQLInputValue[]));
    }
  }
}
