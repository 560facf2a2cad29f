/**
 * The task state machine of DESIGN.md ("Task states") as data, so every backend refuses the same
 * transitions, and the rule that derives a run's state from its tasks' states.
 */
import { isTerminal, TASK_STATES, type RunState, type TaskState } from './types.ts';

/**
 * Every allowed transition. A terminal state (succeeded, failed, skipped, cancelled) is left
 * only by a replay (`Backend.retryTask`), which resurrects the record in place: its attempt
 * history is kept and its next attempts are numbered on. Succeeded and cancelled tasks are never
 * replayed (to run one again, submit a new task).
 *
 * - `blocked → ready` when its last hard dependency succeeds (or soft one ends), `→ delayed` when
 *   that happens before its `runAfter`, `→ skipped` when a hard dependency fails, is cancelled
 *   or is skipped.
 * - `delayed → ready` when `runAfter` (or the retry backoff) is reached.
 * - `ready → running` on claim.
 * - `running → succeeded | failed`; `→ delayed` for a retry with backoff, or a release with a
 *   delay (a handler that deferred); `→ ready` for a retry without backoff, or when the lease is
 *   released at once (graceful shutdown, lost agent).
 * - any non-terminal `→ cancelled`.
 * - `failed → ready` when the task is retried (replayed), with a fresh attempt budget.
 * - `skipped → blocked` when the failed task it was skipped for is retried and none of its hard
 *   dependencies is still failed, cancelled or skipped (it is revived, waiting again).
 */
export const TRANSITIONS: Record<TaskState, readonly TaskState[]> = {
  blocked: ['ready', 'delayed', 'skipped', 'cancelled'],
  delayed: ['ready', 'cancelled'],
  ready: ['running', 'cancelled'],
  running: ['succeeded', 'failed', 'delayed', 'ready', 'cancelled'],
  succeeded: [],
  failed: ['ready'],
  skipped: ['blocked'],
  cancelled: [],
};

/** Whether a task may move from `from` to `to` (a state never "moves" to itself). */
export function canTransition(from: TaskState, to: TaskState): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * The state a task is stored in when it is submitted: `blocked` while it has unmet dependencies,
 * else `delayed` while `runAfter` is in the future, else `ready`.
 *
 * @param task.dependsOnCount dependencies not yet met (already finished ones are not counted).
 * @param now the current time in epoch ms.
 */
export function initialState(
  task: { dependsOnCount: number; runAfter: number | null },
  now: number,
): TaskState {
  if (task.dependsOnCount > 0) return 'blocked';
  if (task.runAfter !== null && task.runAfter > now) return 'delayed';
  return 'ready';
}

/**
 * A run's state from the count of its tasks in each state:
 * - `running` while any task is not terminal;
 * - then `failed` if any task failed (a failure is the most important thing to report, even if
 *   the run was also cancelled afterwards);
 * - else `cancelled` if any task was cancelled;
 * - else `succeeded` if every task succeeded (a run with no tasks counts as succeeded);
 * - else `failed` (tasks were skipped, which only happens below a failure or a cancellation, so
 *   this is a safety net rather than a real case).
 */
export function runStateOf(byState: Record<TaskState, number>): RunState {
  let total = 0;
  for (const state of TASK_STATES) {
    const count = byState[state] ?? 0;
    total += count;
    if (count > 0 && !isTerminal(state)) return 'running';
  }
  if ((byState.failed ?? 0) > 0) return 'failed';
  if ((byState.cancelled ?? 0) > 0) return 'cancelled';
  if ((byState.succeeded ?? 0) === total) return 'succeeded';
  return 'failed';
}

/** A count of zero for every state, to fill in from a `GROUP BY state`. */
export function emptyStateCounts(): Record<TaskState, number> {
  const counts = {} as Record<TaskState, number>;
  for (const state of TASK_STATES) counts[state] = 0;
  return counts;
}
