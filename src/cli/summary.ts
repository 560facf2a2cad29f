/**
 * The numbers in the summary of `baton run`: per-task durations from the recorded attempts, the
 * wall time beside the sum of task times (the parallel speed-up), and the critical-path lower
 * bound — the heaviest dependency chain with each task's actual duration as its weight, which no
 * number of agents could have beaten.
 *
 * Durations are handler times (`AttemptRecord.runMs`, measured by the worker), not the attempt's
 * claim-to-outcome stamps: those include the time a lease waited for its handler to start and
 * for its outcome to be stored, and a worker that claims ahead overlaps them, so summing them
 * can claim more busy time than the slots had. An attempt whose worker did not report its
 * handler time counts its stamps instead, and what slots cannot have done is never reported: an
 * agent is busy at most the wall time × its slots, and the speed-up is at most the slots.
 */
import { longestPath } from '../core/dag.ts';
import type { CostReport } from '../core/ledger.ts';
import type { AttemptRecord, RunRecord, TaskRecord } from '../core/types.ts';
import { countStates, type AgentSummary, type RunSummary, type TaskSummary } from './render.ts';

/** An agent as the summary describes it. `AgentRecord`s fit. */
export interface SummaryAgent {
  id: string;
  name: string;
  capabilities: readonly string[];
  labels: Readonly<Record<string, string>>;
  /** Its slots: what bounds its busy time (and, summed, the speed-up). Absent: unknown. */
  concurrency?: number;
}

export interface SummaryInput {
  run: RunRecord;
  /** The run's tasks, in the order to list them (plan order). */
  tasks: readonly TaskRecord[];
  /** Every attempt of each task, by task id. */
  attempts: ReadonlyMap<string, readonly AttemptRecord[]>;
  /** Display name for an agent id (`agent-2`); the id itself when unknown. */
  agentLabel: (agentId: string) => string;
  /**
   * The agents of the summary's agents block, in order, listed even if they ran nothing (the
   * command's own agents). Any other agent that ran an attempt is added after them, by its label
   * and with unknown capabilities. @default []
   */
  agents?: readonly SummaryAgent[];
  /** When the run ended, if the run record does not say (epoch ms). */
  endedAt?: number;
  /** What the run's model calls cost, and its budget (docs/costs.md). @default not shown */
  costs?: CostReport;
}

/**
 * How long a finished attempt kept its agent busy: its handler's time as its worker reported it,
 * else (a worker that did not report it) claim to recorded outcome. Null while it runs.
 */
export function attemptBusyMs(attempt: AttemptRecord): number | null {
  if (attempt.finishedAt === null) return null;
  return attempt.runMs ?? Math.max(0, attempt.finishedAt - attempt.startedAt);
}

/**
 * Time agents spent on a task: the sum of its finished attempts ({@link attemptBusyMs}). A task
 * that never ran has none (null), so it weighs nothing on the critical path.
 */
export function taskBusyMs(task: TaskRecord, attempts: readonly AttemptRecord[]): number | null {
  let sum: number | null = null;
  for (const a of attempts) {
    const ms = attemptBusyMs(a);
    if (ms !== null) sum = (sum ?? 0) + ms;
  }
  if (sum !== null) return sum;
  if (task.startedAt !== null && task.finishedAt !== null)
    return Math.max(0, task.finishedAt - task.startedAt);
  return null;
}

/**
 * What each agent did for the run: the tasks it ran an attempt of, and the time its finished
 * attempts took (a task retried on the same agent counts once, its time in full), at most what
 * its slots allow in the wall time.
 */
function summarizeAgents(input: SummaryInput, wallMs: number): AgentSummary[] {
  const work = new Map<string, { tasks: Set<string>; busyMs: number }>();
  for (const [taskId, attempts] of input.attempts) {
    for (const a of attempts) {
      const entry = work.get(a.agentId) ?? { tasks: new Set<string>(), busyMs: 0 };
      entry.tasks.add(taskId);
      entry.busyMs += attemptBusyMs(a) ?? 0;
      work.set(a.agentId, entry);
    }
  }
  const listed = new Set((input.agents ?? []).map((a) => a.id));
  const describe = (
    id: string,
    name: string,
    capabilities: readonly string[] | null,
    labels: Readonly<Record<string, string>>,
    concurrency: number | undefined,
  ): AgentSummary => {
    const busyMs = work.get(id)?.busyMs ?? 0;
    return {
      id,
      name,
      capabilities: capabilities === null ? null : [...capabilities].sort(),
      labels: { ...labels },
      concurrency: concurrency ?? null,
      tasks: work.get(id)?.tasks.size ?? 0,
      busyMs: concurrency === undefined ? busyMs : Math.min(busyMs, wallMs * concurrency),
    };
  };
  return [
    ...(input.agents ?? []).map((a) =>
      describe(a.id, a.name, a.capabilities, a.labels, a.concurrency),
    ),
    ...[...work.keys()]
      .filter((id) => !listed.has(id))
      .map((id) => describe(id, input.agentLabel(id), null, {}, undefined)),
  ];
}

/**
 * The slots of the agents that ran the run's attempts, or null when one of them is not known
 * (the store forgot an agent of another process): the speed-up's ceiling.
 */
function slotsOf(agents: readonly AgentSummary[]): number | null {
  let slots = 0;
  for (const agent of agents) {
    if (agent.tasks === 0) continue;
    if (agent.concurrency === null) return null;
    slots += agent.concurrency;
  }
  return slots;
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
      error: t.error?.message ?? null,
    };
  });

  const lastFinish = Math.max(run.createdAt, ...tasks.map((t) => t.finishedAt ?? 0));
  const endedAt = run.finishedAt ?? input.endedAt ?? lastFinish;
  const wallMs = Math.max(0, endedAt - run.createdAt);
  const sumTaskMs = rows.reduce((sum, r) => sum + (r.durationMs ?? 0), 0);
  const agents = summarizeAgents(input, wallMs);
  const slots = slotsOf(agents);
  // Never faster than every slot busy all along: what is left above that is not parallelism
  // but time counted from stamps (attempts whose worker did not report its handler time).
  const speedup =
    wallMs > 0 ? (slots === null ? sumTaskMs / wallMs : Math.min(sumTaskMs / wallMs, slots)) : null;

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
    agents,
    counts: countStates(tasks.map((t) => t.state)),
    wallMs,
    sumTaskMs,
    speedup,
    criticalPath: { keys: critical.path, ms: critical.length },
    ...(input.costs === undefined
      ? {}
      : { cost: { ...input.costs.total, budget: input.costs.budget } }),
  };
}
