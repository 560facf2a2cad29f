/**
 * Planning a submission before it is sent to Redis: ids, idempotency matches, dependency edges,
 * initial states, ready-queue scores, and the argument lists of the `submit*` scripts (read by
 * `lua/includes/submit.lua`). Pure: no I/O, so the scripts only check and apply.
 */
import { TASK_STATES, type NormalizedTask, type TaskState } from '../../core/types.ts';
import type { SubmittedTask } from '../backend.ts';
import type { TaskSpecJson } from './codec.ts';
import { newTaskId } from '../ids.ts';

/** How a submission relates to runs. */
export type SubmitMode = 'new' | 'add' | 'none';

/** A task already stored that the submission refers to (by idempotency key or run key). */
export interface StoredTask {
  id: string;
  key: string | null;
  state: TaskState;
}

/** One new task, planned. */
export interface PlannedTask {
  /** Position in the submission's input. */
  index: number;
  /** Position among the new tasks, in input order: its seq is the submission's base + 1 + this. */
  offset: number;
  task: NormalizedTask;
  /** The task as stored: TaskSpecJson as JSON text (codec.ts). */
  spec: string;
  id: string;
  state: TaskState;
  /** Dependencies on other new tasks (each releases the task once). */
  unmet: number;
  /** Some new task depends on it. */
  hasDependents: boolean;
  /** Dependency ids in `dependsOn` order. */
  depIds: string[];
  /** Edges from new tasks of the batch: [dependency id, soft]. */
  internal: [string, boolean][];
  /** Edges from stored tasks, settled at commit: [dependency id, soft, key as named]. */
  external: [string, boolean, string][];
}

export interface SubmissionPlan {
  mode: SubmitMode;
  runId: string;
  runName: string;
  /** Version of the run's key index the plan was made against (add mode). */
  keysVersion: string;
  /** One answer per input task; new tasks' states may still change at commit. */
  answers: SubmittedTask[];
  tasks: PlannedTask[];
  /** Idempotency keys the commit must take: [key, new task id]. */
  idem: [string, string][];
}

/** Tasks per staged chunk, and the most payload bytes one chunk may carry. */
export const CHUNK_TASKS = 500;
export const CHUNK_BYTES = 4 * 1024 * 1024;

/** Number of values per task in the stage arguments (lua/includes/submit.lua TASK_FIELDS). */
export const TASK_FIELDS = 16;

/**
 * Plan the new tasks of a validated batch.
 *
 * @param stored tasks the batch may refer to: `byIdem` by idempotency key (found taken), and
 *   `byKey` by key in the run (add mode).
 */
export function planSubmission(
  tasks: NormalizedTask[],
  options: {
    mode: SubmitMode;
    runId: string;
    runName: string;
    keysVersion: string;
    now: number;
    byIdem: ReadonlyMap<string, StoredTask>;
    byKey: ReadonlyMap<string, string>;
  },
): SubmissionPlan {
  const answers = new Array<SubmittedTask>(tasks.length);
  const planned: PlannedTask[] = [];
  const byIndex = new Array<PlannedTask | null>(tasks.length).fill(null);
  /** Keys of the batch → the task they name: a new one, or a stored one by idempotency. */
  const batchKeys = new Map<string, { planned: PlannedTask | null; stored: StoredTask | null }>();
  const idemSeen = new Map<string, { planned: PlannedTask | null; stored: StoredTask | null }>();
  const idem: [string, string][] = [];

  // Pass 1: which tasks are new, and their ids.
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i]!;
    const key = task.idempotencyKey;
    if (key !== null) {
      const seen = idemSeen.get(key);
      const stored = seen ? seen.stored : (options.byIdem.get(key) ?? null);
      const same = seen ?? (stored ? { planned: null, stored } : null);
      if (same) {
        // The same task again: answer it, and let dependencies on this key point at it.
        idemSeen.set(key, same);
        if (task.key !== null) batchKeys.set(task.key, same);
        continue;
      }
    }
    const p: PlannedTask = {
      index: i,
      offset: planned.length,
      task,
      spec: '',
      id: newTaskId(),
      state: 'ready',
      unmet: 0,
      hasDependents: false,
      depIds: [],
      internal: [],
      external: [],
    };
    p.spec = specJson(p.id, task);
    planned.push(p);
    byIndex[i] = p;
    const ref = { planned: p, stored: null };
    if (task.key !== null) batchKeys.set(task.key, ref);
    if (key !== null) {
      idemSeen.set(key, ref);
      idem.push([key, p.id]);
    }
  }

  // Pass 2: edges and initial states.
  for (const p of planned) {
    for (const dep of p.task.dependsOn) {
      const inBatch = batchKeys.get(dep.key);
      if (inBatch?.planned) {
        p.depIds.push(inBatch.planned.id);
        p.internal.push([inBatch.planned.id, dep.soft]);
        inBatch.planned.hasDependents = true;
        p.unmet++;
        continue;
      }
      const id = inBatch?.stored?.id ?? options.byKey.get(dep.key);
      // normalizeTasks checked every key against the batch and the run: this is a bug guard.
      if (id === undefined)
        throw new Error(`dependency '${dep.key}' of task ${p.task.key ?? p.index} is unknown`);
      p.depIds.push(id);
      p.external.push([id, dep.soft, dep.key]);
    }
    if (p.unmet > 0 || p.external.length > 0) p.state = 'blocked';
    else if (p.task.runAfter !== null && p.task.runAfter > options.now) p.state = 'delayed';
    else p.state = 'ready';
  }

  for (let i = 0; i < tasks.length; i++) {
    const p = byIndex[i];
    const task = tasks[i]!;
    if (p) {
      answers[i] = { id: p.id, key: task.key, existing: false, state: p.state };
    } else {
      const same = idemSeen.get(task.idempotencyKey!)!;
      const target = same.planned;
      answers[i] = target
        ? { id: target.id, key: target.task.key, existing: true, state: target.state }
        : { id: same.stored!.id, key: same.stored!.key, existing: true, state: same.stored!.state };
    }
  }
  return {
    mode: options.mode,
    runId: options.runId,
    runName: options.runName,
    keysVersion: options.keysVersion,
    answers,
    tasks: planned,
    idem,
  };
}

/** Ready-queue score: priority first, then the longer critical path (see keys.ts). */
export function readyScore(priority: number, criticalPath: number): string {
  // Clamped so the score stays an exact integer in a double; priorities beyond ±1e9 tie.
  const p = Math.max(-1e9, Math.min(1e9, priority));
  const cp = Math.max(1, Math.min(999_999, criticalPath));
  return String(p * 1_000_000 + (1_000_000 - cp));
}

/**
 * What never changes about a task, as stored in its `spec` field (codec.ts TaskSpecJson), but for
 * the end: the text stops after `"createdAt":`, and the script that stores the task appends the
 * time it runs at and the closing brace (lua/includes/submit.lua stage_tasks), so that a task is
 * created by the store's clock, as everything else that happens to it.
 */
function specJson(id: string, t: NormalizedTask): string {
  const spec: TaskSpecJson = {
    id,
    type: t.type,
    payload: t.payload,
    key: t.key,
    title: t.title,
    epic: t.epic,
    requires: t.requires,
    priority: t.priority,
    maxAttempts: t.maxAttempts,
    timeoutMs: t.timeoutMs,
    backoff: t.backoff,
    idempotencyKey: t.idempotencyKey,
    dependsOn: t.dependsOn,
    criticalPath: t.criticalPath,
    affinity: t.affinity,
    ...(t.aggregate ? { aggregate: true as const } : {}),
    // Last: the claim script reads it from the end of the spec (claim-10.lua ready_since).
    createdAt: 0,
  };
  const json = JSON.stringify(spec);
  return json.slice(0, json.length - '0}'.length);
}

/**
 * The name of a task's ready queue (lua/includes/registry.lua): its type and sorted requires
 * set, as JSON `[type, [requires…]]`.
 */
function queueKey(type: string, requires: readonly string[]): string {
  return JSON.stringify([type, requires]);
}

/** The TASK_FIELDS values of one task, in the order `stage_tasks` reads them. */
export function taskArgs(p: PlannedTask, out: (string | number)[]): void {
  const t = p.task;
  let edges = '';
  for (const [id, soft] of p.internal) edges += `${edges === '' ? '' : ' '}${id} ${soft ? 1 : 0}`;
  out.push(
    p.id,
    p.offset,
    p.spec,
    t.type,
    t.key ?? '',
    t.timeoutMs ?? '',
    t.maxAttempts,
    queueKey(t.type, t.requires),
    t.runAfter ?? '',
    p.depIds.join(' '),
    p.unmet,
    p.hasDependents ? '1' : '0',
    p.state,
    readyScore(t.priority, t.criticalPath),
    edges,
    // Routing reads a task's affinity rules in the claim script without parsing its spec.
    t.affinity.length > 0 ? JSON.stringify(t.affinity) : '',
  );
}

/** The commit arguments `read_commit` reads. */
export function commitArgs(plan: SubmissionPlan): (string | number)[] {
  const counts = new Map<TaskState, number>();
  for (const p of plan.tasks) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
  const out: (string | number)[] = [plan.mode, plan.runId, plan.runName, plan.keysVersion];
  for (const state of TASK_STATES) out.push(counts.get(state) ?? 0);
  out.push(plan.idem.length);
  for (const [key, id] of plan.idem) out.push(key, id);
  const external = plan.tasks.flatMap((p) =>
    p.external.map((e) => [p.id, e[0], e[1] ? '1' : '0', e[2]] as const),
  );
  out.push(external.length);
  for (const e of external) out.push(...e);
  const keyed = plan.mode === 'add' ? plan.tasks.filter((p) => p.task.key !== null) : [];
  out.push(keyed.length);
  for (const p of keyed) out.push(p.task.key!, p.id);
  return out;
}

/**
 * Split a large submission into stage chunks: tasks that are not ready first (so none of them
 * can change state before its task.submitted event is written), then the ready ones.
 */
export function stageChunks(plan: SubmissionPlan): PlannedTask[][] {
  const ordered = [
    ...plan.tasks.filter((p) => p.state !== 'ready'),
    ...plan.tasks.filter((p) => p.state === 'ready'),
  ];
  const chunks: PlannedTask[][] = [];
  let chunk: PlannedTask[] = [];
  let bytes = 0;
  for (const p of ordered) {
    const size = approxBytes(p);
    if (chunk.length > 0 && (chunk.length >= CHUNK_TASKS || bytes + size > CHUNK_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(p);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Whether the plan fits one `submit` call. */
export function fitsOneCall(plan: SubmissionPlan): boolean {
  if (plan.tasks.length > CHUNK_TASKS) return false;
  let bytes = 0;
  for (const p of plan.tasks) bytes += approxBytes(p);
  return bytes <= CHUNK_BYTES;
}

/** UTF-16 length of what a task sends, as a cheap stand-in for its bytes. */
function approxBytes(p: PlannedTask): number {
  return 100 + p.spec.length;
}
