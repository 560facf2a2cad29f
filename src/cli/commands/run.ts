/**
 * `baton run <plan>`: submit a plan as a run and execute it on a local pool of in-process
 * agents on the same store, with live progress and a final summary.
 *
 * Each agent is a worker with one slot, so the summary can say which agent ran each task; all
 * of them get every capability the plan requires (plus `shell`), so any of them can take any
 * shell task, and any `http` task (a remote agent service, `src/executors/http.ts`). Tasks of
 * other types (`executor:` in the plan) wait for a worker elsewhere that handles them. The pool defaults to the plan's widest DAG level: more agents could never all be
 * busy.
 *
 * A plan that declares `agents:` gets exactly those instead (each with `shell` added), and the
 * routing decides which of them takes each task; every shell task must then be one some agent
 * can take, or the run is refused before anything is stored, rather than left waiting forever.
 */
import { createLogUpdate } from 'log-update';

import type { SubmittedRun } from '../../backends/backend.ts';
import type { AttemptRecord, BatonEvent, RunRecord } from '../../core/types.ts';
import { NotFoundError } from '../../core/errors.ts';
import { normalizeRun } from '../../core/validate.ts';
import { httpHandler } from '../../executors/http.ts';
import { shellHandler } from '../../executors/shell.ts';
import type { Baton } from '../../runtime/baton.ts';
import { checkAgentsCoverTasks, loadPlan, type Plan } from '../../runtime/plan.ts';
import type { Worker } from '../../runtime/worker.ts';
import type { CliContext } from '../context.ts';
import { defaultRunConcurrency } from '../parse.ts';
import { RunProgress } from '../progress.ts';
import { renderSummary, type RunSummary } from '../render.ts';
import { summarizeRun, type SummaryAgent } from '../summary.ts';
import { collectTasks } from './pages.ts';

export interface RunCommandOptions {
  /**
   * Number of in-process agents; not allowed with a plan that declares its agents.
   * @default the plan's DAG width, at most 16
   */
  concurrency?: number;
}

/** The exit code of a usage error (as `baton`'s EXIT.usage), for one found only in the plan. */
const USAGE_EXIT = 2;

/** One in-process agent `baton run` starts. */
interface LocalAgent {
  name: string;
  capabilities: string[];
  labels: Record<string, string>;
  concurrency: number;
}

/** Exit codes by the signal that interrupted the run (128 + signal number, as shells report). */
const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };
/** How often the live display redraws when no event arrives (for the elapsed time). */
const REDRAW_MS = 100;
/** Events whose line stays above the live frame. */
const FAILURE_EVENTS: ReadonlySet<BatonEvent['type']> = new Set([
  'task.retrying',
  'task.failed',
  'task.skipped',
  'agent.lost',
  'agent.stalled',
]);
/** Events read per round trip while catching up with the stream. */
const EVENT_PAGE = 5000;

export async function runCommand(
  ctx: CliContext,
  planFile: string,
  options: RunCommandOptions = {},
): Promise<number> {
  // Everything about the plan is checked before the store is opened: a bad plan stores nothing.
  const plan = await loadPlan(planFile);
  if (plan.agents !== null && options.concurrency !== undefined) {
    ctx.note(
      `error: --concurrency cannot be used with ${plan.file}: the plan declares its own agents ` +
        `(${plan.agents.map((a) => a.name).join(', ')}) and baton run starts exactly those; ` +
        `set concurrency: on its agents instead, or remove agents: from the plan to run on --concurrency generic agents`,
    );
    return USAGE_EXIT;
  }
  checkAgentsCoverTasks(plan);
  const { width } = normalizeRun(plan.run, { now: Date.now() });
  const agents = localAgents(plan, options.concurrency ?? defaultRunConcurrency(width));
  const capabilities = [...new Set(agents.flatMap((a) => a.capabilities))].sort();

  const baton = await ctx.open();
  const stopping = new AbortController();
  let interruptedBy: 'SIGINT' | 'SIGTERM' | undefined;
  const workers: Worker[] = [];
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    if (interruptedBy === undefined) {
      interruptedBy = signal;
      ctx.note(
        `\n${signal}: stopping the agents; running tasks may finish first (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to stop at once)`,
      );
      stopping.abort();
      // No new task starts from now on; running ones may finish within the grace period.
      for (const worker of workers) {
        worker.stop().catch((error: unknown) => ctx.logger.error({ err: error }, 'stop failed'));
      }
    } else {
      for (const worker of workers) void worker.stop({ graceMs: 0 });
    }
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  try {
    const startedAt = Date.now();
    // The run's events are read from here on: its first ones are written by the submit itself,
    // and nothing before it (the store's history) is read.
    const since = await baton.lastEventId();
    const submitted = await baton.submitRun(plan.run);
    ctx.logger.info(
      {
        runId: submitted.runId,
        tasks: submitted.tasks.length,
        agents: agents.length,
        capabilities,
      },
      'run submitted',
    );
    const elsewhere = unhandledTypes(plan.run.tasks);
    if (elsewhere.length > 0) {
      // Workers claim only the task types they handle: these wait for a worker that has them.
      ctx.note(
        `the local agents run shell and http tasks only; the tasks of ${elsewhere.join(', ')} wait for a worker ` +
          `on ${ctx.storeUrl} with a handler for their type (the SDK's baton.worker({ handlers })).`,
      );
    }

    const agentNames = new Map<string, string>();
    const started: SummaryAgent[] = [];
    for (const agent of agents) {
      const worker = baton.worker({
        name: agent.name,
        capabilities: agent.capabilities,
        labels: agent.labels,
        concurrency: agent.concurrency,
        handlers: { shell: shellHandler(), http: httpHandler() },
        handleSignals: false,
        logger: ctx.logger.child({ agent: agent.name }),
      });
      agentNames.set(worker.agentId, agent.name);
      started.push({ id: worker.agentId, ...agent });
      workers.push(worker);
    }
    await Promise.all(workers.map((w) => w.start()));

    const progress = new RunProgress(
      plan.name,
      submitted.tasks.map((t, i) => ({
        id: t.id,
        key: t.key,
        epic: plan.run.tasks[i]?.epic ?? null,
        state: t.state,
      })),
      startedAt,
      (id) => agentNames.get(id) ?? id,
    );
    await follow(ctx, baton, submitted, since, progress, stopping.signal);

    // Let in-flight handlers finish (graceful) and give back what is left.
    await Promise.all(workers.map((w) => w.stop()));

    if (interruptedBy !== undefined) {
      const run = await baton.getRun(submitted.runId);
      const left =
        run === null
          ? ''
          : ` (${run.progress.total - Math.round(run.progress.done * run.progress.total)} of ${run.progress.total} tasks unfinished)`;
      const others = capabilities.filter((c) => c !== 'shell');
      const extra =
        (ctx.namespace === undefined ? '' : ` --namespace ${ctx.namespace}`) +
        (others.length > 0 ? ` --capabilities ${others.join(',')}` : '');
      ctx.note(
        `interrupted: run ${submitted.runId} is left in the store${left}.\n` +
          `Resume it with \`baton worker --store ${ctx.storeUrl}${extra}\`, follow it with \`baton status ${submitted.runId}\`, or cancel it with \`baton cancel ${submitted.runId}\`.`,
      );
      return SIGNAL_EXIT[interruptedBy];
    }

    const summary = await summarize(baton, submitted, started);
    if (ctx.json) ctx.printJson(summary);
    else ctx.print(`\n${renderSummary(summary)}`);
    ctx.logger.info(
      { runId: summary.runId, state: summary.state, wallMs: summary.wallMs },
      'run finished',
    );
    return summary.state === 'succeeded' ? 0 : 1;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    await baton.close();
  }
}

/**
 * Show the run's events until it completes (or `signal` aborts): a redrawn frame on a terminal,
 * plain lines otherwise, nothing with `--json` (stdout then carries only the summary).
 * @param since the newest event id before the run was submitted (null: the stream was empty).
 */
async function follow(
  ctx: CliContext,
  baton: Baton,
  submitted: SubmittedRun,
  since: string | null,
  progress: RunProgress,
  signal: AbortSignal,
): Promise<void> {
  // A terminal that reports 0 rows (some pseudo-terminals) would show an empty frame.
  const live = !ctx.json && ctx.io.stdout.isTTY === true && (ctx.io.stdout.rows ?? 24) > 0;
  const draw = live ? createLogUpdate(ctx.io.stdout) : undefined;
  const redraw = (): void => draw?.(progress.frame(Date.now()));
  const timer = draw ? setInterval(redraw, REDRAW_MS) : undefined;
  redraw();
  try {
    // From just before the submit, filtered to this run (other producers share the stream).
    const events = baton.events({
      signal,
      pageSize: EVENT_PAGE,
      ...(since === null ? {} : { since }),
    });
    for await (const event of events) {
      if (event.runId !== submitted.runId) continue;
      if (event.type === 'task.submitted' && event.taskId !== null && !progress.has(event.taskId)) {
        progress.add({ id: event.taskId, key: null, epic: null, state: 'blocked' });
      }
      const line = progress.apply(event);
      if (draw) {
        // Failures stay in the scrollback above the frame, so their reason is not redrawn away.
        if (line !== null && FAILURE_EVENTS.has(event.type)) draw.persist(line);
        redraw();
      } else if (line !== null && !ctx.json) ctx.print(line);
      if (isRunEnd(event)) break;
    }
  } finally {
    clearInterval(timer);
    if (draw) {
      redraw();
      draw.done();
    }
  }
}

/**
 * The agents to start: the plan's own (each with `shell` added), or else `count` generic agents
 * of one slot, each with every capability the plan's tasks require.
 */
function localAgents(plan: Plan, count: number): LocalAgent[] {
  if (plan.agents !== null) {
    return plan.agents.map((a) => ({
      name: a.name,
      capabilities: [...new Set([...a.capabilities, 'shell'])].sort(),
      labels: a.labels,
      concurrency: a.concurrency,
    }));
  }
  const capabilities = [
    ...new Set([...plan.run.tasks.flatMap((t) => t.requires ?? []), 'shell']),
  ].sort();
  return Array.from({ length: count }, (_, i) => ({
    name: `agent-${i + 1}`,
    capabilities,
    labels: {},
    concurrency: 1,
  }));
}

/** The task types the local agents have handlers for. */
const LOCAL_TYPES: ReadonlySet<string> = new Set(['shell', 'http']);

/** Task types of the plan besides the local ones (`shell`, `http`), with their counts: `llm (3)`. */
function unhandledTypes(tasks: readonly { type: string }[]): string[] {
  const counts = new Map<string, number>();
  for (const { type } of tasks) {
    if (!LOCAL_TYPES.has(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return [...counts].map(([type, n]) => `type ${type} (${n})`);
}

function isRunEnd(event: BatonEvent): boolean {
  return event.type === 'run.completed' || event.type === 'run.cancelled';
}

/** @param local the agents this command started, listed first in the summary (even if idle). */
async function summarize(
  baton: Baton,
  submitted: SubmittedRun,
  local: readonly SummaryAgent[],
): Promise<RunSummary> {
  const run: RunRecord | null = await baton.getRun(submitted.runId);
  if (run === null) throw new NotFoundError('run', submitted.runId);
  const order = new Map(submitted.tasks.map((t, i) => [t.id, i]));
  const tasks = (await collectTasks(baton, { runId: run.id })).sort(
    (a, b) => (order.get(a.id) ?? order.size) - (order.get(b.id) ?? order.size),
  );
  const attempts = new Map<string, AttemptRecord[]>();
  for (const task of tasks) attempts.set(task.id, await baton.attempts(task.id));
  // Agents of other processes on the same store may have taken tasks too: name them as well.
  const known = new Map((await baton.agents()).map((a) => [a.id, a]));
  const names = new Map([...known].map(([id, a]) => [id, a.name]));
  for (const agent of local) names.set(agent.id, agent.name);
  const localIds = new Set(local.map((a) => a.id));
  const others = new Set(
    [...attempts.values()].flat().flatMap((a) => (localIds.has(a.agentId) ? [] : [a.agentId])),
  );
  const agents: SummaryAgent[] = [...local];
  for (const id of others) {
    const record = known.get(id);
    if (record) agents.push(record);
  }
  return summarizeRun({
    run,
    tasks,
    attempts,
    agents,
    agentLabel: (id) => names.get(id) ?? id,
    costs: await baton.costs({ runId: run.id }),
  });
}
