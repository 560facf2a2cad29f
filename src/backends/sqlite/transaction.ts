/**
 * One write transaction of the SQLite backend: the state moves it makes, the events it writes,
 * and the consequences it must apply before it commits (released and skipped dependents, task
 * counts, finished runs). Every task state change goes through {@link WriteTx.moved} and writes
 * exactly one event, so the counts and the event stream cannot drift from the tasks.
 */
import { fromNano } from '../../core/ledger.ts';
import { backoffDelay } from '../../core/retry.ts';
import { runStateOf } from '../../core/state.ts';
import {
  TASK_STATES,
  isTerminal,
  type EventType,
  type RunState,
  type TaskError,
  type TaskState,
} from '../../core/types.ts';
import { countsOf, parseBackoff, type LeaseRow, type RunRow } from './rows.ts';
import { insertRows, type Statements } from './statements.ts';

const STATE_INDEX: Record<TaskState, number> = Object.fromEntries(
  TASK_STATES.map((state, i) => [state, i]),
) as Record<TaskState, number>;

/** A task that just reached a terminal state, whose dependents must hear of it. */
interface Settled {
  seq: number;
  id: string;
  key: string | null;
  state: TaskState;
}

/** A failed task to retry (see {@link WriteTx.replay}). */
export interface Replayed {
  seq: number;
  id: string;
  runId: string | null;
  queue: number;
  /** Attempts it used before the retry. */
  attempts: number;
  hasDependents: boolean;
}

/** A skipped dependent a retry may revive (`dependents-skipped.sql`). */
interface SkippedRow {
  seq: number;
  id: string;
  run_id: string | null;
  depends_on: string | null;
  dep_ids: string | null;
  has_dependents: number;
}

/** How an attempt that did not succeed ends (see {@link WriteTx.endAttempt}). */
export interface AttemptEnd {
  outcome: 'failed' | 'timed_out' | 'lease_expired' | 'agent_lost';
  error: TaskError;
  /** False: fail the task now whatever attempts are left. */
  retryable: boolean;
  /** Wait before the retry; `null` applies the task's backoff policy. */
  delayMs: number | null;
  /** How long the handler ran, as its worker reported it (a `fail`); null otherwise. */
  runMs?: number | null;
}

export class WriteTx {
  /**
   * The time every transition of this transaction is stamped with: read inside the transaction,
   * once it holds the write lock, and never before the namespace's latest recorded time
   * (core/clock.ts; SqliteBackend #now).
   */
  readonly now: number;
  readonly ns: string;
  readonly #st: Statements;
  /** Queues of tasks this transaction made ready (to wake the right waiters). */
  readonly readyQueues = new Set<number>();
  /** The earliest `runAfter` this transaction scheduled, or null. */
  earliestDelayed: number | null = null;
  /** Buffered events, seven values each (the columns of event-insert.sql). */
  readonly #events: (string | number | null)[] = [];
  /** Queues inserted by this transaction, by queue key: known to the caches only once committed. */
  readonly newQueues = new Map<string, number>();
  readonly #nsDelta = new Array<number>(TASK_STATES.length).fill(0);
  #nsTouched = false;
  readonly #runDeltas = new Map<string, number[]>();
  /** Runs being cancelled: their end is announced as `run.cancelled`, not `run.completed`. */
  readonly #cancelling = new Map<string, string>();
  /** The state each run a retry touched had before this transaction (see {@link replay}). */
  readonly #runStatesBefore = new Map<string, RunState | null>();

  constructor(st: Statements, ns: string, now: number) {
    this.#st = st;
    this.ns = ns;
    this.now = now;
  }

  /**
   * Append an event. Events are buffered and written at {@link finish} in multi-row inserts
   * (cheaper per event), in the order they were emitted.
   */
  event(
    type: EventType,
    taskId: string | null,
    runId: string | null,
    agentId: string | null,
    data: string | Record<string, unknown>,
  ): void {
    this.#events.push(
      this.ns,
      type,
      this.now,
      taskId,
      runId,
      agentId,
      typeof data === 'string' ? data : JSON.stringify(data),
    );
  }

  get wroteEvents(): boolean {
    return this.#events.length > 0;
  }

  /** Count a task moving `from` one state `to` another (`from` null: a new task). */
  moved(runId: string | null, from: TaskState | null, to: TaskState): void {
    const f = from === null ? -1 : STATE_INDEX[from];
    const t = STATE_INDEX[to];
    if (f >= 0) this.#nsDelta[f]! -= 1;
    this.#nsDelta[t]! += 1;
    this.#nsTouched = true;
    if (runId === null) return;
    let delta = this.#runDeltas.get(runId);
    if (!delta) {
      delta = new Array<number>(TASK_STATES.length).fill(0);
      this.#runDeltas.set(runId, delta);
    }
    if (f >= 0) delta[f]! -= 1;
    delta[t]! += 1;
  }

  /** Make sure the run is checked for completion at the end (a run with no new task of its own). */
  touchRun(runId: string): void {
    if (!this.#runDeltas.has(runId))
      this.#runDeltas.set(runId, new Array<number>(TASK_STATES.length).fill(0));
  }

  /** The run is being cancelled: announce its end as `run.cancelled` with this reason. */
  cancellingRun(runId: string, reason: string): void {
    this.#cancelling.set(runId, reason);
    this.touchRun(runId);
  }

  becameReady(queue: number): void {
    this.readyQueues.add(queue);
  }

  becameDelayed(runAfter: number): void {
    if (this.earliestDelayed === null || runAfter < this.earliestDelayed)
      this.earliestDelayed = runAfter;
  }

  /**
   * End a running attempt that did not succeed: record its outcome, then put the task back in
   * the queue (delayed by the backoff, or ready at once for a zero delay) when it is retryable
   * and has attempts left, else fail it and settle its dependents.
   */
  endAttempt(row: LeaseRow, end: AttemptEnd): TaskState {
    const st = this.#st;
    const now = this.now;
    const error = JSON.stringify(end.error);
    const runMs = end.runMs ?? null;
    st.attemptFinish.run(row.seq, row.token, end.outcome, error, now, runMs);
    // What the attempt's model calls cost, on its event (docs/costs.md).
    const spent = st.attemptCost.get(row.seq, row.token) as { cost_nano: number | null };
    const cost = spent.cost_nano === null ? {} : { costUsd: fromNano(spent.cost_nano) };
    // The agent's counters: a failure is its attempt failing or overrunning, not the agent
    // going away (lease_expired, agent_lost), which says nothing about the task type.
    if (end.outcome === 'failed' || end.outcome === 'timed_out') st.agentStatsFailed.run(row.seq);
    // Routing's fallback: a retry prefers agents this task has not failed on (every way an
    // attempt ends here counts; a graceful release does not come here).
    if (row.agent_id !== null) st.taskFailedAgent.run(row.seq, row.agent_id);
    if (end.retryable && row.attempts < row.max_attempts) {
      const delayMs = Math.max(
        0,
        end.delayMs ?? backoffDelay(parseBackoff(row.backoff), row.attempts),
      );
      const state: TaskState = delayMs > 0 ? 'delayed' : 'ready';
      st.taskRetry.run(row.seq, state, state === 'delayed' ? now + delayMs : null, error, now);
      this.moved(row.run_id, 'running', state);
      if (state === 'delayed') this.becameDelayed(now + delayMs);
      else this.becameReady(row.queue);
      this.event('task.retrying', row.id, row.run_id, row.agent_id, {
        attempt: row.attempts,
        delayMs,
        outcome: end.outcome,
        error: end.error,
        ...(runMs === null ? {} : { runMs }),
        ...cost,
      });
      return state;
    }
    st.taskFail.run(row.seq, error, now);
    this.moved(row.run_id, 'running', 'failed');
    this.event('task.failed', row.id, row.run_id, row.agent_id, {
      attempt: row.attempts,
      outcome: end.outcome,
      error: end.error,
      ...(runMs === null ? {} : { runMs }),
      ...cost,
    });
    if (row.has_dependents) this.settleDependents(row.seq, row.id, row.key, 'failed');
    return 'failed';
  }

  /**
   * Give a lease back without counting its attempt: the task is ready at once, or delayed for
   * `delayMs` (a handler that deferred). A `release` call always says its `delayMs` in the event;
   * an agent leaving (no `delayMs`) does not, as on every backend.
   */
  releaseAttempt(row: LeaseRow, reason: string, delayMs?: number): TaskState {
    const st = this.#st;
    st.attemptFinish.run(row.seq, row.token, 'released', null, this.now, null);
    const runAfter = delayMs !== undefined && delayMs > 0 ? this.now + delayMs : null;
    const state: TaskState = runAfter === null ? 'ready' : 'delayed';
    st.taskRelease.run(row.seq, this.now, state, runAfter);
    this.moved(row.run_id, 'running', state);
    if (runAfter === null) this.becameReady(row.queue);
    else this.becameDelayed(runAfter);
    this.event(
      'task.released',
      row.id,
      row.run_id,
      row.agent_id,
      delayMs === undefined
        ? { attempt: row.attempts, reason }
        : { attempt: row.attempts, reason, delayMs },
    );
    return state;
  }

  /**
   * A task reached a terminal state: release or skip its dependents, in the same transaction,
   * and so on downstream. Iterative (a queue, not recursion), so a 100 000-task chain of skips
   * cannot overflow the stack.
   */
  settleDependents(seq: number, id: string, key: string | null, state: TaskState): void {
    const st = this.#st;
    const now = this.now;
    const queue: Settled[] = [{ seq, id, key, state }];
    for (let i = 0; i < queue.length; i++) {
      const dep = queue[i]!;
      const edges = st.dependentsOf.all(dep.seq) as unknown as { task_seq: number; soft: number }[];
      for (const edge of edges) {
        if (dep.state === 'succeeded' || edge.soft) {
          const row = st.dependentRelease.get(edge.task_seq, now) as
            | {
                id: string;
                run_id: string | null;
                state: TaskState;
                queue: number;
                run_after: number | null;
              }
            | undefined;
          if (!row || row.state === 'blocked') continue;
          this.moved(row.run_id, 'blocked', row.state);
          if (row.state === 'ready') {
            this.becameReady(row.queue);
            this.event('task.ready', row.id, row.run_id, null, { after: dep.key ?? dep.id });
          } else {
            this.becameDelayed(row.run_after ?? now);
            this.event('task.delayed', row.id, row.run_id, null, { runAfter: row.run_after });
          }
          continue;
        }
        const name = dep.key === null ? `task ${dep.id}` : `'${dep.key}' (${dep.id})`;
        const error: TaskError = {
          message: `skipped: its hard dependency ${name} ended ${dep.state}`,
          code: 'DEPENDENCY_FAILED',
        };
        const row = st.dependentSkip.get(edge.task_seq, JSON.stringify(error), now) as
          | { id: string; run_id: string | null; key: string | null; has_dependents: number }
          | undefined;
        if (!row) continue;
        this.moved(row.run_id, 'blocked', 'skipped');
        this.event('task.skipped', row.id, row.run_id, null, {
          dependency: dep.key,
          dependencyId: dep.id,
          dependencyState: dep.state,
          error,
        });
        if (row.has_dependents)
          queue.push({ seq: edge.task_seq, id: row.id, key: row.key, state: 'skipped' });
      }
    }
  }

  /**
   * Retry (replay) a failed task (`Backend.retryTask`): `ready` with a fresh attempt budget, its
   * run reopened, and the dependents its failure skipped revived, and so on downstream.
   */
  replay(task: Replayed, reason: string | null): void {
    this.#st.taskReplay.run(task.seq, this.now);
    this.moved(task.runId, 'failed', 'ready');
    this.becameReady(task.queue);
    this.event('task.retried', task.id, task.runId, null, {
      reason,
      previousAttempts: task.attempts,
    });
    if (task.runId !== null) this.#reopenRun(task.runId, task.id);
    if (!task.hasDependents) return;
    this.#st.dependentsRewait.run(task.seq, this.now);
    this.#revive(task.seq, task.id);
  }

  /**
   * Revive the skipped hard dependents of a task that is open again (retried, or itself
   * revived): `blocked` again when none of their hard dependencies is still failed, cancelled or
   * skipped, and their run was not cancelled. Iterative, like {@link settleDependents}; a task
   * reached again through another revived dependency is checked again then.
   *
   * A task that leaves a terminal state at once makes its blocked soft dependents wait for it
   * again (`dependents-rewait.sql`): its ending released them, and its next ending will release
   * them once more. Tasks revived later in the same call count it as open already, so nothing
   * is counted twice.
   */
  #revive(seq: number, retriedTaskId: string): void {
    const st = this.#st;
    const queue = [seq];
    for (let i = 0; i < queue.length; i++) {
      for (const row of st.dependentsSkipped.all(queue[i]!) as unknown as SkippedRow[]) {
        if (row.run_id !== null && this.#runStateBefore(row.run_id) === 'cancelled') continue;
        const pending = this.#pendingIfRevived(row);
        if (pending === null) continue;
        if (st.taskRevive.run(row.seq, pending, this.now).changes === 0) continue;
        this.moved(row.run_id, 'skipped', 'blocked');
        this.event('task.revived', row.id, row.run_id, null, { retriedTaskId });
        if (row.run_id !== null) this.#reopenRun(row.run_id, retriedTaskId);
        if (row.has_dependents) {
          st.dependentsRewait.run(row.seq, this.now);
          queue.push(row.seq);
        }
      }
    }
  }

  /**
   * The dependencies a skipped task would wait for if revived (hard ones not succeeded, soft
   * ones not ended), or null when it cannot run: a hard dependency is failed, cancelled or
   * skipped. Each one it would wait for gets its edge (a dependency that had ended when the task
   * was submitted has none), so that its ending releases the task.
   */
  #pendingIfRevived(row: SkippedRow): number | null {
    const st = this.#st;
    const specs = JSON.parse(row.depends_on ?? '[]') as { soft?: boolean }[];
    const ids = JSON.parse(row.dep_ids ?? '[]') as string[];
    const deps = new Map<string, { seq: number; state: TaskState }>();
    for (const dep of st.dependencyStates.all(row.dep_ids ?? '[]') as unknown as {
      id: string;
      seq: number;
      state: TaskState;
    }[]) {
      deps.set(dep.id, dep);
    }
    const waits: { seq: number; soft: boolean }[] = [];
    for (let i = 0; i < ids.length; i++) {
      const dep = deps.get(ids[i]!);
      if (!dep) continue;
      const soft = specs[i]?.soft === true;
      if (soft ? isTerminal(dep.state) : dep.state === 'succeeded') continue;
      if (isTerminal(dep.state)) return null;
      waits.push({ seq: dep.seq, soft });
    }
    for (const wait of waits) {
      st.dependencyInsert.run(wait.seq, row.seq, wait.soft ? 1 : 0);
      st.taskMarkHasDependents.run(wait.seq);
    }
    return waits.length;
  }

  /** The state a run had before this transaction reopened it (null: no such run). */
  #runStateBefore(runId: string): RunState | null {
    let state = this.#runStatesBefore.get(runId);
    if (state === undefined) {
      const row = this.#st.runById.get(runId, this.ns) as RunRow | undefined;
      state = row ? row.state : null;
      this.#runStatesBefore.set(runId, state);
    }
    return state;
  }

  /** A finished run has an open task again: `running` again, announced once as `run.reopened`. */
  #reopenRun(runId: string, retriedTaskId: string): void {
    const before = this.#runStateBefore(runId);
    if (before === null || before === 'running') return;
    if (this.#st.runReopen.run(runId).changes === 0) return;
    this.event('run.reopened', null, runId, null, { from: before, retriedTaskId });
  }

  /**
   * Apply the task counts to the namespace and the runs, and finish every run whose last open
   * task this transaction settled (`run.completed`, or `run.cancelled` for {@link cancellingRun}).
   * Called once, last, before the commit, so run events follow the task events that caused them.
   */
  finish(): void {
    const st = this.#st;
    if (this.#nsTouched) st.namespaceCount.run(this.ns, ...this.#nsDelta);
    for (const [runId, delta] of this.#runDeltas) {
      const row = st.runCount.get(runId, ...delta) as unknown as RunRow | undefined;
      if (!row || row.state !== 'running') continue;
      if (row.n_blocked + row.n_delayed + row.n_ready + row.n_running > 0) continue;
      const state = runStateOf(countsOf(row));
      st.runFinish.run(runId, state, this.now);
      const reason = this.#cancelling.get(runId);
      if (reason === undefined) this.event('run.completed', null, runId, null, { state });
      else this.event('run.cancelled', null, runId, null, { state, reason });
    }
    insertRows(this.#st.eventInserts, this.#events);
  }
}
