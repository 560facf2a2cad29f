/**
 * A run's aggregated result (seeds 002 and 003, docs/planner.md#the-runs-result): the results of
 * the tasks declared `aggregate: true`, or else of its sinks — the tasks no other task of the run
 * depends on. A `plan` task is not a sink of a run that has other tasks: the tasks it spawned
 * are. Pure: computed from the run's tasks when it is read, so every backend gives the same.
 */
import { PLAN_TASK_TYPE } from './goal.ts';
import type { Json, TaskRecord } from './types.ts';

export interface RunResult {
  /** Which tasks it holds: those declared `aggregate: true`, or the run's sinks. */
  from: 'aggregate' | 'sinks';
  /**
   * Each of those tasks' result, by key (by id for a task without one); null for a task that has
   * not succeeded (yet).
   */
  results: Record<string, Json | null>;
}

/** The run's result from its tasks; null for a run without tasks. */
export function runResult(
  tasks: readonly Pick<
    TaskRecord,
    'id' | 'key' | 'type' | 'state' | 'result' | 'dependsOn' | 'aggregate'
  >[],
): RunResult | null {
  if (tasks.length === 0) return null;
  const declared = tasks.filter((t) => t.aggregate === true);
  let chosen = declared;
  if (declared.length === 0) {
    const needed = new Set(tasks.flatMap((t) => t.dependsOn.map((d) => d.key)));
    const others = tasks.some((t) => t.type !== PLAN_TASK_TYPE);
    chosen = tasks.filter(
      (t) => !(t.key !== null && needed.has(t.key)) && !(others && t.type === PLAN_TASK_TYPE),
    );
  }
  const results: Record<string, Json | null> = {};
  for (const task of chosen)
    results[task.key ?? task.id] = task.state === 'succeeded' ? task.result : null;
  return { from: declared.length > 0 ? 'aggregate' : 'sinks', results };
}
