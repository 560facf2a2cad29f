/**
 * Pure text rendering for the CLI: durations, state symbols, tables, the live progress frame,
 * plain per-event lines and the final run summary. Nothing here does I/O, so all of it is
 * unit-tested on strings.
 */
import type { BatonEvent, RunRecord, TaskRecord, TaskState } from '../core/types.ts';
import { TASK_STATES } from '../core/types.ts';
import type { BudgetStatus, CostTotals } from '../core/ledger.ts';
import { costLine } from './costs.ts';

/** One symbol per task state, used by the live display and the plain event lines. */
export const STATE_SYMBOL: Readonly<Record<TaskState, string>> = {
  blocked: '·',
  delayed: '◷',
  ready: '○',
  running: '▶',
  succeeded: '✓',
  failed: '✗',
  skipped: '↷',
  cancelled: '⊘',
};

/** `0.41s`, `12.30s`, `2m05.0s`; `-` when unknown. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  const clamped = Math.max(0, ms);
  if (clamped < 60_000) return `${(clamped / 1000).toFixed(2)}s`;
  const minutes = Math.floor(clamped / 60_000);
  const seconds = (clamped - minutes * 60_000) / 1000;
  return `${minutes}m${seconds.toFixed(1).padStart(4, '0')}s`;
}

/** The elapsed-time column of plain event lines: `[  1.23s]`. */
export function elapsedTag(ms: number): string {
  return `[${formatDuration(ms).padStart(7)}]`;
}

/** A speed-up factor such as `3.42x`. */
export function formatSpeedup(factor: number | null): string {
  return factor === null || !Number.isFinite(factor) ? '-' : `${factor.toFixed(2)}x`;
}

export interface TableOptions {
  /** Indices of columns to right-align (numbers). @default [] */
  alignRight?: number[];
  /** Spaces between columns. @default 2 */
  gap?: number;
}

/** A plain-text table: a header row, a rule, then the rows; columns padded to their widest cell. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  const right = new Set(options.alignRight ?? []);
  const gap = ' '.repeat(options.gap ?? 2);
  const widths = headers.map((h, i) =>
    Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))),
  );
  const line = (cells: readonly string[]): string =>
    widths
      .map((w, i) => {
        const cell = cells[i] ?? '';
        const pad = ' '.repeat(Math.max(0, w - displayWidth(cell)));
        return right.has(i) ? pad + cell : cell + pad;
      })
      .join(gap)
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join(gap);
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** Code points, which is what a terminal shows for the symbols used here. */
function displayWidth(text: string): number {
  return [...text].length;
}

/** Counts of each state that has at least one task, in state order: `3 succeeded · 1 running`. */
export function formatCounts(byState: Partial<Record<TaskState, number>>): string {
  const parts = TASK_STATES.filter((s) => (byState[s] ?? 0) > 0).map(
    (s) => `${byState[s] ?? 0} ${s}`,
  );
  return parts.length > 0 ? parts.join(' · ') : 'no tasks';
}

export function countStates(states: Iterable<TaskState>): Record<TaskState, number> {
  const counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  for (const s of states) counts[s] += 1;
  return counts;
}

/** What the live display knows about one task. */
export interface LiveTask {
  key: string;
  epic: string | null;
  state: TaskState;
}

/** The epic lane of tasks without one. */
export const NO_EPIC = '(none)';

/**
 * The redrawn live frame: a header, one line per epic with one symbol per task (in plan order),
 * then the counts by state.
 *
 * ```
 * quickstart  4.21s  8/12 done
 *   ingest   ✓✓✓✓  4/4
 *   analyse  ✓▶▶○  1/4
 * 8 succeeded · 2 running · 2 ready
 * ```
 */
export function renderLiveFrame(
  runName: string,
  tasks: readonly LiveTask[],
  elapsedMs: number,
): string {
  const lanes = groupByEpic(tasks);
  const width = Math.max(...[...lanes.keys()].map((e) => displayWidth(e)), 0);
  const done = tasks.filter((t) => isDone(t.state)).length;
  const lines = [`${runName}  ${formatDuration(elapsedMs)}  ${done}/${tasks.length} done`];
  for (const [epic, lane] of lanes) {
    const symbols = lane.map((t) => STATE_SYMBOL[t.state]).join('');
    const laneDone = lane.filter((t) => isDone(t.state)).length;
    lines.push(`  ${epic.padEnd(width)}  ${symbols}  ${laneDone}/${lane.length}`);
  }
  lines.push(formatCounts(countStates(tasks.map((t) => t.state))));
  return lines.join('\n');
}

function isDone(state: TaskState): boolean {
  return (
    state === 'succeeded' || state === 'failed' || state === 'skipped' || state === 'cancelled'
  );
}

/** Epics in order of first appearance; tasks keep their order inside a lane. */
export function groupByEpic<T extends { epic: string | null }>(
  tasks: readonly T[],
): Map<string, T[]> {
  const lanes = new Map<string, T[]>();
  for (const t of tasks) {
    const epic = t.epic ?? NO_EPIC;
    const lane = lanes.get(epic);
    if (lane) lane.push(t);
    else lanes.set(epic, [t]);
  }
  return lanes;
}

/** Names for the plain event lines. */
export interface EventLineContext {
  /** When the display started (epoch ms), for the elapsed column. */
  startedAt: number;
  /** A task's key (or title, or id) for display. */
  taskLabel(taskId: string): string;
  /** An agent's display name (`agent-2`) for its id. */
  agentLabel(agentId: string): string;
  /** When the task's current attempt started, if known, for the duration column. */
  attemptStartedAt?(taskId: string): number | undefined;
}

/**
 * One plain line for an event, or null for events a person watching a run does not need
 * (`task.submitted`, `task.ready`, agent heartbeats…).
 *
 * `[  1.23s] ✓ build  agent-2  0.41s`
 */
export function renderEventLine(event: BatonEvent, ctx: EventLineContext): string | null {
  const tag = elapsedTag(event.at - ctx.startedAt);
  const task = event.taskId === null ? '' : ctx.taskLabel(event.taskId);
  const agent = event.agentId === null ? '' : ctx.agentLabel(event.agentId);
  const started = event.taskId === null ? undefined : ctx.attemptStartedAt?.(event.taskId);
  // How long the handler ran, as its worker reported it with the outcome; else claim to outcome.
  const runMs = event.data['runMs'];
  const took =
    typeof runMs === 'number'
      ? formatDuration(runMs)
      : started === undefined
        ? ''
        : formatDuration(event.at - started);
  const message = errorMessage(event.data['error']);
  const join = (...parts: string[]): string =>
    `${tag} ${parts.filter((p) => p.length > 0).join('  ')}`;
  switch (event.type) {
    case 'task.claimed':
      return join(`${STATE_SYMBOL.running} ${task}`, agent, attemptLabel(event.data['attempt']));
    case 'task.succeeded':
      return join(`${STATE_SYMBOL.succeeded} ${task}`, agent, took);
    case 'task.retrying':
      return join(`↻ ${task}`, agent, took, message ? `retrying: ${message}` : 'retrying');
    case 'task.failed':
      return join(`${STATE_SYMBOL.failed} ${task}`, agent, took, message);
    case 'task.skipped':
      return join(`${STATE_SYMBOL.skipped} ${task}`, 'skipped');
    case 'task.cancelled':
      return join(`${STATE_SYMBOL.cancelled} ${task}`, 'cancelled');
    case 'task.released':
      return join(`${STATE_SYMBOL.ready} ${task}`, agent, 'released');
    case 'task.retried':
      return join(`↻ ${task}`, 'retried');
    case 'agent.lost':
      return join(`! ${agent} lost`);
    case 'agent.stalled':
      return join(`! ${agent} stalled: alive, but its tasks make no progress`);
    case 'agent.recovered':
      return join(`${agent} recovered`);
    case 'agent.degraded':
      return join(
        `! ${agent} degraded: a handler ignored its abort; its slot was freed`,
        typeof event.data['taskId'] === 'string' ? ctx.taskLabel(event.data['taskId']) : '',
      );
    case 'run.completed': {
      const state = typeof event.data['state'] === 'string' ? event.data['state'] : 'completed';
      return join(`run ${state}`);
    }
    case 'run.cancelled':
      return join('run cancelled');
    default:
      return null;
  }
}

function attemptLabel(attempt: unknown): string {
  return typeof attempt === 'number' && attempt > 1 ? `attempt ${attempt}` : '';
}

function errorMessage(error: unknown): string {
  if (typeof error === 'string') return firstLine(error);
  if (error !== null && typeof error === 'object' && 'message' in error) {
    const message = error.message;
    if (typeof message === 'string') return firstLine(message);
  }
  return '';
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

/** One task in the final summary of `baton run`. */
export interface TaskSummary {
  id: string;
  key: string;
  epic: string | null;
  /** Display name of the agent that ran the last attempt (`agent-2`), or null. */
  agent: string | null;
  attempts: number;
  /**
   * How long its handlers ran, over all its finished attempts (claim to outcome for an attempt
   * whose worker did not report it), or null if it never ran.
   */
  durationMs: number | null;
  state: TaskState;
  error: string | null;
}

/** One agent in the final summary of `baton run`: what it could take, and what it did. */
export interface AgentSummary {
  id: string;
  /** Display name (`agent-2`, or the name a plan gave it). */
  name: string;
  /** Sorted; null for an agent of another process that the store no longer knows. */
  capabilities: string[] | null;
  labels: Record<string, string>;
  /** Its slots; null when unknown (an agent of another process the store no longer knows). */
  concurrency: number | null;
  /** Tasks it ran at least one attempt of. */
  tasks: number;
  /**
   * Time its handlers ran for the run's finished attempts, at most the wall time × its slots
   * (when they are known).
   */
  busyMs: number;
}

/** The final summary of `baton run`, also what `--json` prints. */
export interface RunSummary {
  runId: string;
  name: string;
  state: RunRecord['state'];
  tasks: TaskSummary[];
  /** The run's agents: the command's own, then any other agent that ran an attempt. */
  agents: AgentSummary[];
  counts: Record<TaskState, number>;
  /** From submit to the last task's end. */
  wallMs: number;
  /** Sum of every task's duration: the time one agent would have needed. */
  sumTaskMs: number;
  /**
   * `sumTaskMs / wallMs`, at most the slots of the agents that ran the run's tasks (when they
   * are known); null when the wall time is 0.
   */
  speedup: number | null;
  /** The heaviest dependency chain with actual durations as weights: no pool can beat it. */
  criticalPath: { keys: string[]; ms: number };
  /** What the run's model calls cost, and its budget (docs/costs.md); absent: not asked. */
  cost?: CostTotals & { budget: BudgetStatus | null };
}

/**
 * The agents block under the summary table: each agent's capabilities (and labels, when any
 * agent has some), the tasks it ran and its busy time, so the routing can be read off.
 */
export function renderAgentsBlock(agents: readonly AgentSummary[]): string {
  const withLabels = agents.some((a) => Object.keys(a.labels).length > 0);
  const rows = agents.map((a) => [
    a.name,
    a.capabilities === null ? '?' : a.capabilities.join(', ') || '-',
    ...(withLabels
      ? [
          Object.entries(a.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ') || '-',
        ]
      : []),
    String(a.tasks),
    formatDuration(a.busyMs),
  ]);
  const headers = ['AGENT', 'CAPABILITIES', ...(withLabels ? ['LABELS'] : []), 'TASKS', 'BUSY'];
  const numbers = withLabels ? [3, 4] : [2, 3];
  return renderTable(headers, rows, { alignRight: numbers });
}

/** The summary table, the agents block, and the timing lines under them. */
export function renderSummary(summary: RunSummary): string {
  const rows = summary.tasks.map((t) => [
    t.key,
    t.epic ?? '',
    t.agent ?? '-',
    String(t.attempts),
    formatDuration(t.durationMs),
    `${STATE_SYMBOL[t.state]} ${t.state}`,
  ]);
  const table = renderTable(['TASK', 'EPIC', 'AGENT', 'ATTEMPTS', 'DURATION', 'STATE'], rows, {
    alignRight: [3, 4],
  });
  const path = summary.criticalPath.keys.length > 0 ? summary.criticalPath.keys.join(' -> ') : '-';
  const cost = summary.cost && costLine(summary.cost, summary.cost.budget);
  const failures = summary.tasks
    .filter((t) => t.error !== null && t.state !== 'succeeded')
    .map((t) => `  ${t.key}: ${t.error ?? ''}`);
  return [
    table,
    ...(summary.agents.length > 0 ? ['', renderAgentsBlock(summary.agents)] : []),
    '',
    `run ${summary.runId} (${summary.name}) ${summary.state}: ${formatCounts(summary.counts)}`,
    `wall time       ${formatDuration(summary.wallMs)}`,
    `sum of tasks    ${formatDuration(summary.sumTaskMs)}`,
    `speed-up        ${formatSpeedup(summary.speedup)} (sum of tasks / wall time)`,
    `critical path   ${formatDuration(summary.criticalPath.ms)} (lower bound): ${path}`,
    ...(cost ? [cost] : []),
    ...(failures.length > 0 ? ['', 'failures:', ...failures] : []),
  ].join('\n');
}

/** `baton status` without an id: recent runs. */
export function renderRunList(runs: readonly RunRecord[], now: number): string {
  if (runs.length === 0) return 'no runs in this store';
  const rows = runs.map((r) => [
    r.id,
    r.name,
    r.state,
    `${r.progress.total - remaining(r)}/${r.progress.total}`,
    formatAge(now - r.createdAt),
  ]);
  return renderTable(['RUN', 'NAME', 'STATE', 'DONE', 'CREATED'], rows, { alignRight: [3] });
}

function remaining(run: RunRecord): number {
  const b = run.progress.byState;
  return b.blocked + b.delayed + b.ready + b.running;
}

/** `5s ago`, `3m ago`, `2h ago`, `4d ago`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** `baton status <runId>`: the run's state, counts, then one line per task. */
export function renderRunStatus(
  run: RunRecord,
  tasks: readonly TaskRecord[],
  now: number,
  agentLabel: (agentId: string) => string = (id) => id,
): string {
  const elapsed = (run.finishedAt ?? now) - run.createdAt;
  const header = [
    `run ${run.id} (${run.name}) ${run.state}  ${formatDuration(elapsed)}`,
    `${formatCounts(run.progress.byState)}  (${Math.round(run.progress.done * 100)}% done)`,
  ];
  const rows = tasks.map((t) => [
    `${STATE_SYMBOL[t.state]} ${t.key ?? t.id}`,
    t.epic ?? '',
    t.state,
    String(t.attempts),
    t.agentId === null ? '-' : agentLabel(t.agentId),
    formatDuration(taskDuration(t, now)),
    t.error?.message ? firstLine(t.error.message) : '',
  ]);
  const table = renderTable(
    ['TASK', 'EPIC', 'STATE', 'ATTEMPTS', 'AGENT', 'DURATION', 'ERROR'],
    rows,
    {
      alignRight: [3, 5],
    },
  );
  return [...header, '', table].join('\n');
}

/** `baton tasks`: one line per task. */
export function renderTaskList(
  tasks: readonly TaskRecord[],
  agentLabel: (agentId: string) => string = (id) => id,
): string {
  if (tasks.length === 0) return 'no tasks match';
  const rows = tasks.map((t) => [
    t.id,
    t.key ?? '',
    t.type,
    `${STATE_SYMBOL[t.state]} ${t.state}`,
    t.runId ?? '',
    String(t.attempts),
    t.agentId === null ? '' : agentLabel(t.agentId),
  ]);
  return renderTable(['ID', 'KEY', 'TYPE', 'STATE', 'RUN', 'ATTEMPTS', 'AGENT'], rows, {
    alignRight: [5],
  });
}

/** How long a task ran: start to finish, or start to now while running. */
export function taskDuration(task: TaskRecord, now: number): number | null {
  if (task.startedAt === null) return null;
  return (task.finishedAt ?? (task.state === 'running' ? now : task.updatedAt)) - task.startedAt;
}
