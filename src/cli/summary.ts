/**
 * The numbers in the summary of `baton run`: per-task durations from the recorded attempts, the
 * wall time beside the sum of task times (the parallel speed-up), and the critical-path lower
 * bound — the heaviest dependency chain with each task's actual duration as its weight, which no
 * number of agents could have beaten.
 */
import { longestPath } from '../core/dag.ts';
import type { AttemptRecord, RunRecord, TaskRecord } from '../core/types.ts';
import { countStates, type RunSummary, type TaskSummary } from './render.ts';

export interface SummaryInput {
  run: RunRecord;
  /** The run's tasks, in the order to list them (plan order). */
  tasks: readonly TaskRecord[];
  /** Every attempt of each task, by task id. */
  attempts: ReadonlyMap<string, readonly AttemptRecord[]>;
  /** Display name for an agent id (`agent-2`); the id itself when unknown. */
  agentLabel: (agentId: string) => string;
  /** When the run ended, if the run record does not say (epoch ms). */
  endedAt?: number;
}

/**
 * Time agents spent on a task: the sum of its finished attempts. A task that never ran has
 * none (null), so it weighs nothing on the critical path.
 */
export function taskBusyMs(task: TaskRecord, attempts: readonly AttemptRecord[]): number | null {
  const finished = attempts.filter((a) => a.finishedAt !== null);
  if (finished.length > 0) {
    return finished.reduce(
      (sum, a) => sum + Math.max(0, (a.finishedAt ?? a.startedAt) - a.startedAt),
      0,
    );
  }
  if (task.startedAt !== null && task.finishedAt !== null)
    return Math.max(0, task.finishedAt - task.startedAt);
  return null;
}

export function summarizeRun(input: SummaryInput): RunSummary {
  const { run, tasks } = input;
  const rows: TaskSummary[] = tasks.map((t) => {
    const attempts = input.attempts.get(t.id) ?? [];
    const last = attempts.reduce<AttemptRecord | undefined>(
      (latest, a) => (latest === undefined || a.attempt > latest.attempt ? a : latest),
      undefined,
    );
    const agentId = last?.agentId ?? t.agentId;
    return {
      id: t.id,
      key: t.key ?? t.id,
      epic: t.epic,
      agent: agentId === null ? null : input.agentLabel(agentId),
      attempts: Math.max(t.attempts, attempts.length),
      durationMs: taskBusyMs(t, attempts),
      state: t.state,
      error: t.error?.message.split('\n', 1)[0] ?? null,
    };
  });

  const lastFinish = Math.max(run.createdAt, ...tasks.map((t) => t.finishedAt ?? 0));
  const endedAt = run.finishedAt ?? input.endedAt ?? lastFinish;
  const wallMs = Math.max(0, endedAt - run.createdAt);
  const sumTaskMs = rows.reduce((sum, r) => sum + (r.durationMs ?? 0), 0);

  const weight = new Map(rows.map((r) => [r.key, r.durationMs ?? 0]));
  // Only edges inside the listed tasks: a stored run is a valid DAG, and the summary must not
  // fail over a dependency it was not given.
  const critical = longestPath(
    tasks.map((t) => ({
      key: t.key ?? t.id,
      dependsOn: t.dependsOn
        .filter((d) => weight.has(d.key))
        .map((d) => ({ key: d.key, soft: d.soft })),
    })),
    (key) => weight.get(key) ?? 0,
  );

  return {
    runId: run.id,
    name: run.name,
    state: run.state,
    tasks: rows,
    counts: countStates(tasks.map((t) => t.state)),
    wallMs,
    sumTaskMs,
    speedup: wallMs > 0 ? sumTaskMs / wallMs : null,
    criticalPath: { keys: critical.path, ms: critical.length },
  };
}
