/**
 * Storing a validated batch of tasks inside a write transaction: idempotency keys, each new
 * task's first state from its dependencies (tasks already stored may have finished: dynamic
 * graphs), multi-row inserts in submission order, and the dependency edges.
 */
import { initialState } from '../../core/state.ts';
import {
  isTerminal,
  type NormalizedTask,
  type TaskError,
  type TaskState,
} from '../../core/types.ts';
import { BatonError } from '../../core/errors.ts';
import type { SubmittedTask } from '../backend.ts';
import { newTaskId } from '../ids.ts';
import { insertRows, type Statements } from './statements.ts';
import type { WriteTx } from './transaction.ts';

/** `task.submitted` data per initial state, stringified once. */
const SUBMITTED_DATA: Record<TaskState, string> = {
  blocked: '{"state":"blocked"}',
  delayed: '{"state":"delayed"}',
  ready: '{"state":"ready"}',
  running: '{"state":"running"}',
  succeeded: '{"state":"succeeded"}',
  failed: '{"state":"failed"}',
  skipped: '{"state":"skipped"}',
  cancelled: '{"state":"cancelled"}',
};

/** A task the submission resolves a dependency key to: stored before, or new in the batch. */
export interface KnownTask {
  id: string;
  state: TaskState;
  /** The seq of a stored task; null for a new one (its seq is numbered at insert). */
  seq: number | null;
  /** Index in the batch for a new task, -1 for a stored one. */
  index: number;
}

/** What the submission decided for one new task before inserting it. */
interface Plan {
  task: NormalizedTask;
  id: string;
  state: TaskState;
  error: TaskError | null;
  depIds: string[];
  /** Dependencies still to settle, as (known task, soft) pairs: become rows of `deps`. */
  edges: { dep: KnownTask; soft: boolean }[];
  hasDependents: boolean;
}

/** Keyed tasks of a run, as dependency targets for tasks added to it. */
export function runKeys(st: Statements, runId: string): Map<string, KnownTask> {
  const keys = new Map<string, KnownTask>();
  const rows = st.tasksKeysOfRun.all(runId) as unknown as {
    seq: number;
    id: string;
    key: string;
    state: TaskState;
  }[];
  for (const row of rows)
    keys.set(row.key, { id: row.id, state: row.state, seq: row.seq, index: -1 });
  return keys;
}

/**
 * Store normalised tasks (one batch, already validated): resolve idempotency keys, decide each
 * new task's state from its dependencies (stored ones may already be finished), insert the
 * tasks in the order given (their seq is the FIFO order), then the dependency edges.
 */
export function insertTasks(
  st: Statements,
  tx: WriteTx,
  tasks: NormalizedTask[],
  runId: string | null,
  known: ReadonlyMap<string, KnownTask>,
  queueId: (tx: WriteTx, type: string, requires: string) => number,
): SubmittedTask[] {
  const ns = tx.ns;
  const now = tx.now;
  const out = new Array<SubmittedTask>(tasks.length);
  const plans = new Array<Plan | null>(tasks.length).fill(null);
  const byKey = new Map(known);
  const byIdempotencyKey = new Map<string, { answer: SubmittedTask; known: KnownTask }>();

  // Decide in dependency order (Kahn levels), so a dependency's state is known first.
  const order = tasks.map((_, i) => i);
  if (tasks.some((t) => t.level > 0))
    order.sort((a, b) => tasks[a]!.level - tasks[b]!.level || a - b);
  for (const i of order) {
    const task = tasks[i]!;
    if (task.idempotencyKey !== null) {
      let same = byIdempotencyKey.get(task.idempotencyKey);
      if (!same) {
        const stored = st.taskByIdempotencyKey.get(ns, task.idempotencyKey) as
          { seq: number; id: string; key: string | null; state: TaskState } | undefined;
        if (stored) {
          same = {
            answer: { id: stored.id, key: stored.key, existing: true, state: stored.state },
            known: { id: stored.id, state: stored.state, seq: stored.seq, index: -1 },
          };
          byIdempotencyKey.set(task.idempotencyKey, same);
        }
      }
      if (same) {
        // The same task again: answer it, and let dependencies on this key point at it.
        out[i] = same.answer;
        if (task.key !== null) byKey.set(task.key, same.known);
        continue;
      }
    }
    const plan: Plan = {
      task,
      id: newTaskId(),
      state: 'ready',
      error: null,
      depIds: [],
      edges: [],
      hasDependents: false,
    };
    let pending = 0;
    for (const dep of task.dependsOn) {
      const target = byKey.get(dep.key);
      // normalizeTasks checked every key against the batch and the run: this is a bug guard.
      if (!target)
        throw new BatonError(
          'BATON_VALIDATION',
          `dependency '${dep.key}' of task ${task.key ?? i} is unknown`,
        );
      plan.depIds.push(target.id);
      if (!isTerminal(target.state)) {
        pending++;
        plan.edges.push({ dep: target, soft: dep.soft });
        if (target.index >= 0) plans[target.index]!.hasDependents = true;
      } else if (target.state !== 'succeeded' && !dep.soft && plan.error === null) {
        plan.error = {
          message: `skipped: its hard dependency '${dep.key}' (${target.id}) had already ended ${target.state}`,
          code: 'DEPENDENCY_FAILED',
        };
      }
    }
    plan.state = plan.error
      ? 'skipped'
      : initialState({ dependsOnCount: pending, runAfter: task.runAfter }, now);
    plans[i] = plan;
    const known: KnownTask = { id: plan.id, state: plan.state, seq: null, index: i };
    if (task.key !== null) byKey.set(task.key, known);
    if (task.idempotencyKey !== null) {
      byIdempotencyKey.set(task.idempotencyKey, {
        answer: { id: plan.id, key: task.key, existing: true, state: plan.state },
        known,
      });
    }
  }

  // Number the new tasks in the order given (seq is the FIFO order), then insert them in
  // multi-row statements, then their dependency edges.
  const seqs = new Array<number>(tasks.length).fill(0);
  let seq = (st.tasksMaxSeq.get() as { seq: number }).seq;
  for (let i = 0; i < tasks.length; i++) if (plans[i]) seqs[i] = ++seq;
  const rows: (string | number | null)[] = [];
  for (let i = 0; i < tasks.length; i++) {
    const plan = plans[i];
    if (!plan) continue;
    const t = plan.task;
    const requires = JSON.stringify(t.requires);
    const queue = queueId(tx, t.type, requires);
    const hasDeps = t.dependsOn.length > 0;
    rows.push(
      seqs[i]!,
      plan.id,
      ns,
      runId,
      t.key,
      t.type,
      t.title,
      t.epic,
      JSON.stringify(t.payload),
      requires,
      queue,
      t.priority,
      t.criticalPath,
      t.maxAttempts,
      t.timeoutMs,
      JSON.stringify(t.backoff),
      t.idempotencyKey,
      t.runAfter,
      hasDeps ? JSON.stringify(t.dependsOn) : null,
      hasDeps ? JSON.stringify(plan.depIds) : null,
      plan.edges.length,
      plan.hasDependents ? 1 : 0,
      plan.state,
      plan.error ? JSON.stringify(plan.error) : null,
      now,
      now,
      plan.state === 'skipped' ? now : null,
      t.affinity.length > 0 ? JSON.stringify(t.affinity) : null,
      t.aggregate ? 1 : 0,
    );
    tx.event(
      'task.submitted',
      plan.id,
      runId,
      null,
      plan.error ? { state: plan.state, error: plan.error } : SUBMITTED_DATA[plan.state],
    );
    tx.moved(runId, null, plan.state);
    if (plan.state === 'ready') tx.becameReady(queue);
    else if (plan.state === 'delayed' && t.runAfter !== null) tx.becameDelayed(t.runAfter);
    out[i] = { id: plan.id, key: t.key, existing: false, state: plan.state };
  }
  insertRows(st.taskInserts, rows);

  for (let i = 0; i < tasks.length; i++) {
    const plan = plans[i];
    if (!plan || plan.edges.length === 0) continue;
    for (const edge of plan.edges) {
      const depSeq = edge.dep.index >= 0 ? seqs[edge.dep.index]! : edge.dep.seq!;
      st.dependencyInsert.run(depSeq, seqs[i]!, edge.soft ? 1 : 0);
      if (edge.dep.index < 0) st.taskMarkHasDependents.run(depSeq);
    }
  }
  return out;
}
