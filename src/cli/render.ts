/**
 * Pure text rendering for the CLI: durations, state symbols, tables, the live progress frame,
 * plain per-event lines and the final run summary. Nothing here does I/O, so all of it is
 * unit-tested on strings. Colour comes in as a {@link Paint} (none by default); widths are
 * counted in terminal columns (`colour.ts`, `width.ts`).
 */
import type { RunResult } from '../core/run-result.ts';
import type { BatonEvent, RunRecord, TaskRecord, TaskState } from '../core/types.ts';
import { TASK_STATES } from '../core/types.ts';
import { noColour, type Paint, type Tone } from './colour.ts';
import { displayWidth, fitWidth, padWidth } from './width.ts';
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

/** The colour of each state's symbol (and name): none for a task that simply waits its turn. */
export const STATE_TONE: Readonly<Record<TaskState, Tone | null>> = {
  blocked: 'muted',
  delayed: 'warn',
  ready: null,
  running: 'active',
  succeeded: 'ok',
  failed: 'bad',
  skipped: 'warn',
  cancelled: 'muted',
};

/** `text` (by default the state's symbol) in the state's colour. */
export function paintState(
  state: TaskState,
  paint: Paint,
  text: string = STATE_SYMBOL[state],
): string {
  const tone = STATE_TONE[state];
  return tone === null ? text : paint(tone, text);
}

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
      .map((w, i) => padWidth(cells[i] ?? '', w, right.has(i)))
      .join(gap)
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join(gap);
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/**
 * Counts of each state that has at least one task, in state order: `3 succeeded · 1 running`.
 * With `columns`, as many as fit, then `…`.
 */
export function formatCounts(
  byState: Partial<Record<TaskState, number>>,
  paint: Paint = noColour,
  columns = Number.POSITIVE_INFINITY,
): string {
  const parts = TASK_STATES.filter((s) => (byState[s] ?? 0) > 0).map((s) => ({
    text: `${byState[s] ?? 0} ${s}`,
    state: s,
  }));
  if (parts.length === 0) return 'no tasks';
  let out = '';
  let used = 0;
  for (const [i, part] of parts.entries()) {
    const sep = i === 0 ? '' : ' · ';
    const w = displayWidth(sep + part.text);
    // Room for this part, and for the `…` that says more follow unless it is the last.
    if (used + w + (i === parts.length - 1 ? 0 : 2) > columns)
      return `${out}${i === 0 ? '' : ' '}…`;
    out += sep + paintState(part.state, paint, part.text);
    used += w;
  }
  return out;
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

/** The terminal a live frame is drawn for, and how. */
export interface FrameOptions {
  /** Columns: no line of the frame is wider. @default 80 */
  columns?: number;
  /** Rows: the frame is at most `rows - 1` lines, so it never scrolls out of reach. @default 24 */
  rows?: number;
  /** @default no colour */
  paint?: Paint;
  /**
   * Lines under the counts, in the warning colour (what `baton run` is doing while it stops);
   * plain text, cut to the width. @default []
   */
  footer?: readonly string[];
}

/** Order of the states in a lane's bar when its tasks do not fit one symbol each. */
const BAR_ORDER: readonly TaskState[] = [
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
  'running',
  'delayed',
  'ready',
  'blocked',
];

/**
 * The redrawn live frame: a header, one line per epic with one symbol per task (in plan order),
 * then the counts by state, and the footer.
 *
 * ```
 * quickstart  4.21s  8/12 done
 *   ingest   ✓✓✓✓  4/4
 *   analyse  ✓▶▶○  1/4
 * 8 succeeded · 2 running · 2 ready
 * ```
 *
 * It fits the terminal, measured in columns (a CJK character or an emoji takes two), so the
 * terminal never wraps or scrolls it (a wrapped or scrolled frame cannot be redrawn in place and
 * leaves copies of itself behind): a lane with more tasks than columns is drawn as a bar whose
 * symbols stand for several tasks each, in state order (`✓✓✓✗▶▶○○○○  120/500`), a long epic name
 * is cut with `…`, and lanes beyond the rows are summed up on one line (unfinished lanes are
 * shown first).
 */
export function renderLiveFrame(
  runName: string,
  tasks: readonly LiveTask[],
  elapsedMs: number,
  options: FrameOptions = {},
): string {
  const columns = Math.max(1, options.columns ?? 80);
  const rows = Math.max(2, options.rows ?? 24);
  const paint = options.paint ?? noColour;
  // Cut before painting: an escape sequence cut in two would colour what follows.
  const footer = (options.footer ?? []).map((line) => paint('warn', fitWidth(line, columns)));
  const done = tasks.filter((t) => isDone(t.state)).length;
  const tail = `  ${formatDuration(elapsedMs)}  ${done}/${tasks.length} done`;
  const nameRoom = columns - displayWidth(tail);
  const lines = [
    nameRoom >= 1
      ? paint('strong', fitWidth(runName, nameRoom)) + tail
      : fitWidth(runName + tail, columns),
  ];
  const counts = formatCounts(countStates(tasks.map((t) => t.state)), paint, columns);

  const lanes = [...groupByEpic(tasks)];
  // Header, counts and footer, then lanes in the rest (leaving the cursor's line free).
  const room = rows - 1 - 2 - footer.length;
  let shown = lanes;
  let hidden: (typeof lanes)[number][] = [];
  if (lanes.length > Math.max(0, room)) {
    const keep = Math.max(0, room - 1);
    // Unfinished lanes first, then in plan order.
    const ranked = [...lanes.keys()].sort(
      (a, b) =>
        Number(lanes[a]![1].every((t) => isDone(t.state))) -
          Number(lanes[b]![1].every((t) => isDone(t.state))) || a - b,
    );
    const kept = new Set(ranked.slice(0, keep));
    shown = lanes.filter((_, i) => kept.has(i));
    hidden = lanes.filter((_, i) => !kept.has(i));
  }

  const epicWidth = Math.min(
    Math.max(0, ...shown.map(([epic]) => displayWidth(epic))),
    Math.max(4, Math.floor(columns / 4)),
  );
  for (const [epic, lane] of shown) {
    const laneDone = lane.filter((t) => isDone(t.state)).length;
    const count = `${laneDone}/${lane.length}`;
    const head = `  ${padWidth(fitWidth(epic, epicWidth), epicWidth)}  `;
    const room = columns - displayWidth(head) - 2 - displayWidth(count);
    if (room < 1) {
      lines.push(fitWidth(`${head}${count}`, columns));
      continue;
    }
    const bar =
      lane.length <= room
        ? lane.map((t) => paintState(t.state, paint)).join('')
        : proportionalBar(lane, room, paint);
    lines.push(`${head}${bar}  ${count}`);
  }
  if (hidden.length > 0 && room > 0) {
    const hiddenTasks = hidden.flatMap(([, lane]) => lane);
    const hiddenDone = hiddenTasks.filter((t) => isDone(t.state)).length;
    lines.push(
      fitWidth(
        `  … ${hidden.length} more epic${hidden.length === 1 ? '' : 's'}: ${hiddenDone}/${hiddenTasks.length} done`,
        columns,
      ),
    );
  }
  lines.push(counts, ...footer);
  return lines.slice(0, rows - 1).join('\n');
}

/**
 * `cells` symbols for a lane too long for one each: every state with tasks gets cells in
 * proportion to its count (at least one, while there are cells), largest remainders first.
 */
function proportionalBar(lane: readonly LiveTask[], cells: number, paint: Paint): string {
  const counts = countStates(lane.map((t) => t.state));
  const present = BAR_ORDER.filter((s) => counts[s] > 0);
  const share = new Map(present.map((s) => [s, (counts[s] * cells) / lane.length]));
  const given = new Map(present.map((s) => [s, Math.floor(share.get(s) ?? 0)]));
  // Every state present is seen, while there is room for it.
  for (const s of present) if ((given.get(s) ?? 0) === 0) given.set(s, 1);
  let total = [...given.values()].reduce((a, b) => a + b, 0);
  // Too many cells (the minimum of one each): take from the largest.
  while (total > cells) {
    const largest = [...given].sort((a, b) => b[1] - a[1])[0]!;
    given.set(largest[0], largest[1] - 1);
    total--;
  }
  // Too few: give to the largest remainders.
  const byRemainder = [...present].sort(
    (a, b) =>
      (share.get(b) ?? 0) - (given.get(b) ?? 0) - ((share.get(a) ?? 0) - (given.get(a) ?? 0)),
  );
  for (let i = 0; total < cells && byRemainder.length > 0; i++, total++) {
    const s = byRemainder[i % byRemainder.length]!;
    given.set(s, (given.get(s) ?? 0) + 1);
  }
  return present
    .map((s) => paintState(s, paint, STATE_SYMBOL[s].repeat(Math.max(0, given.get(s) ?? 0))))
    .join('');
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
  /** @default no colour */
  paint?: Paint;
}

/**
 * One plain line for an event, or null for events a person watching a run does not need
 * (`task.submitted`, `task.ready`, agent heartbeats…).
 *
 * `[  1.23s] ✓ build  agent-2  0.41s`
 */
export function renderEventLine(event: BatonEvent, ctx: EventLineContext): string | null {
  const paint = ctx.paint ?? noColour;
  const tag = paint('muted', elapsedTag(event.at - ctx.startedAt));
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
  const message = paint('bad', errorMessage(event.data['error']));
  const symbol = (state: TaskState): string => `${paintState(state, paint)} ${task}`;
  const join = (...parts: string[]): string =>
    `${tag} ${parts.filter((p) => p.length > 0).join('  ')}`;
  switch (event.type) {
    case 'task.claimed':
      return join(symbol('running'), agent, attemptLabel(event.data['attempt']));
    case 'task.succeeded':
      return join(symbol('succeeded'), agent, took);
    case 'task.retrying':
      return join(
        `${paint('warn', '↻')} ${task}`,
        agent,
        took,
        message ? `retrying: ${message}` : 'retrying',
      );
    case 'task.failed':
      return join(symbol('failed'), agent, took, message);
    case 'task.skipped':
      return join(symbol('skipped'), 'skipped');
    case 'task.cancelled':
      return join(symbol('cancelled'), 'cancelled');
    case 'task.released':
      return join(symbol('ready'), agent, 'released');
    case 'task.retried':
      return join(`${paint('warn', '↻')} ${task}`, 'retried');
    case 'agent.lost':
      return join(paint('bad', `! ${agent} lost`));
    case 'agent.stalled':
      return join(paint('warn', `! ${agent} stalled: alive, but its tasks make no progress`));
    case 'agent.recovered':
      return join(`${agent} recovered`);
    case 'agent.degraded':
      return join(
        paint('warn', `! ${agent} degraded: a handler ignored its abort; its slot was freed`),
        typeof event.data['taskId'] === 'string' ? ctx.taskLabel(event.data['taskId']) : '',
      );
    case 'run.completed': {
      const state = typeof event.data['state'] === 'string' ? event.data['state'] : 'completed';
      return join(paint(runTone(state), `run ${state}`));
    }
    case 'run.cancelled':
      return join('run cancelled');
    default:
      return null;
  }
}

/** The colour of a run's (final) state. */
function runTone(state: string): Tone {
  return state === 'succeeded' ? 'ok' : state === 'running' ? 'active' : 'bad';
}

function attemptLabel(attempt: unknown): string {
  return typeof attempt === 'number' && attempt > 1 ? `attempt ${attempt}` : '';
}

function errorMessage(error: unknown): string {
  if (typeof error === 'string') return oneLine(error);
  if (error !== null && typeof error === 'object' && 'message' in error) {
    const message = error.message;
    if (typeof message === 'string') return oneLine(message);
  }
  return '';
}

/** Longest {@link oneLine} form of an error, in characters. */
const ONE_LINE_MAX = 160;

/**
 * A message on one line, for a line of the live display or a table cell, where the whole of it
 * does not fit: its first line, then its last non-empty line (for a failed shell task, the first
 * line ends with "last lines of stderr:" and the last one is what the program said last),
 * `…` between them when lines were left out, cut to `max` characters keeping both ends.
 * The run summary and `baton status` show the whole message under their tables.
 *
 * `oneLine('x exited with code 1; last lines of stderr:\nwarn\nError: boom')` →
 * `x exited with code 1; last lines of stderr: … Error: boom`
 */
export function oneLine(message: string, max = ONE_LINE_MAX): string {
  const lines = message
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  const first = lines[0] ?? '';
  const last = lines.length > 1 ? (lines[lines.length - 1] ?? '').trim() : '';
  const text = last === '' ? first : `${first}${lines.length > 2 ? ' … ' : ' '}${last}`;
  if (text.length <= max) return text;
  // Keep the start (what failed) and the end (why), cut in the middle.
  const head = Math.ceil((max - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (max - 1 - head))}`;
}

/**
 * The failures block under the summary and `baton status`: each unsuccessful task with an error,
 * its whole message (for a shell task, the last lines of its stderr), indented under its key.
 *
 * ```
 * failures:
 *   build: sh -c "make" exited with code 2; last lines of stderr:
 *     make: *** [all] Error 1
 * ```
 */
export function renderFailures(
  tasks: readonly { key: string; state: TaskState; error: string | null }[],
  paint: Paint = noColour,
): string[] {
  const failed = tasks.filter((t) => t.error !== null && t.state !== 'succeeded');
  if (failed.length === 0) return [];
  const lines = [paint('bad', 'failures:')];
  for (const t of failed) {
    const [first = '', ...rest] = (t.error ?? '').replace(/\n+$/, '').split('\n');
    lines.push(
      `  ${paintState(t.state, paint, t.key)}: ${first}`,
      ...rest.map((line) => `    ${line}`.trimEnd()),
    );
  }
  return lines;
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
  /** The last attempt's error message, whole (several lines for a shell task's stderr). */
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
  /** The run's aggregated result (docs/planner.md); absent: not asked. */
  result?: RunResult | null;
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
export function renderSummary(summary: RunSummary, paint: Paint = noColour): string {
  const rows = summary.tasks.map((t) => [
    t.key,
    t.epic ?? '',
    t.agent ?? '-',
    String(t.attempts),
    formatDuration(t.durationMs),
    paintState(t.state, paint, `${STATE_SYMBOL[t.state]} ${t.state}`),
  ]);
  const table = renderTable(['TASK', 'EPIC', 'AGENT', 'ATTEMPTS', 'DURATION', 'STATE'], rows, {
    alignRight: [3, 4],
  });
  const path = summary.criticalPath.keys.length > 0 ? summary.criticalPath.keys.join(' -> ') : '-';
  const cost = summary.cost && costLine(summary.cost, summary.cost.budget);
  const failures = renderFailures(summary.tasks, paint);
  return [
    table,
    ...(summary.agents.length > 0 ? ['', renderAgentsBlock(summary.agents)] : []),
    '',
    `run ${summary.runId} (${summary.name}) ${paint(runTone(summary.state), summary.state)}: ${formatCounts(summary.counts, paint)}`,
    `wall time       ${formatDuration(summary.wallMs)}`,
    `sum of tasks    ${formatDuration(summary.sumTaskMs)}`,
    `speed-up        ${formatSpeedup(summary.speedup)} (sum of tasks / wall time)`,
    `critical path   ${formatDuration(summary.criticalPath.ms)} (lower bound): ${path}`,
    ...(cost ? [cost] : []),
    ...(failures.length > 0 ? ['', ...failures] : []),
  ].join('\n');
}

/** `baton status` without an id: recent runs. */
export function renderRunList(
  runs: readonly RunRecord[],
  now: number,
  paint: Paint = noColour,
): string {
  if (runs.length === 0) return 'no runs in this store';
  const rows = runs.map((r) => [
    r.id,
    r.name,
    paint(runTone(r.state), r.state),
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
  paint: Paint = noColour,
): string {
  const elapsed = (run.finishedAt ?? now) - run.createdAt;
  const header = [
    `run ${run.id} (${run.name}) ${paint(runTone(run.state), run.state)}  ${formatDuration(elapsed)}`,
    `${formatCounts(run.progress.byState, paint)}  (${Math.round(run.progress.done * 100)}% done)`,
  ];
  const rows = tasks.map((t) => [
    `${paintState(t.state, paint)} ${t.key ?? t.id}`,
    t.epic ?? '',
    paintState(t.state, paint, t.state),
    String(t.attempts),
    t.agentId === null ? '-' : agentLabel(t.agentId),
    formatDuration(taskDuration(t, now)),
    t.error?.message ? paint('bad', oneLine(t.error.message, 60)) : '',
  ]);
  const table = renderTable(
    ['TASK', 'EPIC', 'STATE', 'ATTEMPTS', 'AGENT', 'DURATION', 'ERROR'],
    rows,
    {
      alignRight: [3, 5],
    },
  );
  const failures = renderFailures(
    tasks.map((t) => ({ key: t.key ?? t.id, state: t.state, error: t.error?.message ?? null })),
    paint,
  );
  return [...header, '', table, ...(failures.length > 0 ? ['', ...failures] : [])].join('\n');
}

/** `baton tasks`: one line per task. */
export function renderTaskList(
  tasks: readonly TaskRecord[],
  agentLabel: (agentId: string) => string = (id) => id,
  paint: Paint = noColour,
): string {
  if (tasks.length === 0) return 'no tasks match';
  const rows = tasks.map((t) => [
    t.id,
    t.key ?? '',
    t.type,
    paintState(t.state, paint, `${STATE_SYMBOL[t.state]} ${t.state}`),
    t.runId ?? '',
    String(t.attempts),
    t.agentId === null ? '' : agentLabel(t.agentId),
  ]);
  return renderTable(['ID', 'KEY', 'TYPE', 'STATE', 'RUN', 'ATTEMPTS', 'AGENT'], rows, {
    alignRight: [5],
  });
}

/**
 * How long a task ran: start to finish, or start to now while running. A task waiting to run
 * (blocked, delayed, ready) has none, even when an earlier attempt ran (a retried or released
 * task keeps that attempt's start): it is not running now, and it has not finished.
 */
export function taskDuration(task: TaskRecord, now: number): number | null {
  if (task.startedAt === null) return null;
  if (task.state === 'blocked' || task.state === 'delayed' || task.state === 'ready') return null;
  return (task.finishedAt ?? (task.state === 'running' ? now : task.updatedAt)) - task.startedAt;
}
