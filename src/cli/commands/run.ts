/**
 * `baton run <plan>`: submit a plan as a run and execute it on a local pool of in-process
 * agents on the same store, with live progress and a final summary.
 *
 * Each agent is a worker with one slot, so the summary can say which agent ran each task. They
 * have `shell`, and the capabilities `--capabilities` says this machine has (none by default),
 * so any of them can take any shell task, any `http` task (a remote agent service,
 * `src/executors/http.ts`), any `llm` task (a model call, `src/executors/llm/`) and any `agent`
 * task (a coding agent's CLI, `src/executors/agent/`, configured by baton.config.yaml), that
 * requires no more; a task that requires more (`gpu`) is refused before anything is stored,
 * saying how to run it, rather than run on a machine nobody said has it. An llm task's provider
 * must be set up in this environment (its key), which is also checked before anything is stored.
 * Tasks of other types (`executor:` in the plan) wait for a worker elsewhere that handles them.
 * The pool defaults to the plan's widest DAG level: more agents could never all be busy.
 *
 * A plan that declares `agents:` gets exactly those instead (each with `shell` added), and the
 * routing decides which of them takes each task; every shell, http, llm and agent task must then be one some
 * agent can take, or the run is refused before anything is stored, rather than left waiting
 * forever.
 */
import type { SubmittedRun } from '../../backends/backend.ts';
import { PLAN_TASK_TYPE, goalRunSpec } from '../../core/goal.ts';
import { runResult } from '../../core/run-result.ts';
import type { AttemptRecord, RunRecord } from '../../core/types.ts';
import { NotFoundError, PlanError, type PlanIssue } from '../../core/errors.ts';
import { normalizeRun } from '../../core/validate.ts';
import { httpHandler } from '../../executors/http.ts';
import { llmSetupProblem } from '../../executors/llm/index.ts';
import { shellHandler } from '../../executors/shell.ts';
import type { Baton } from '../../runtime/baton.ts';
import {
  checkAgentsCoverTasks,
  LOCAL_TASK_TYPES,
  loadPlan,
  type Plan,
} from '../../runtime/plan.ts';
import type { BatonConfig } from '../../runtime/config.ts';
import type { Worker } from '../../runtime/worker.ts';
import { withWorkspace } from '../../workspace/handler.ts';
import { finishRunWorkspace, preparePlanWorkspace, startRunWorkspace } from './worktrees.ts';
import type { CliContext } from '../context.ts';
import { followRun, REDRAW_MS } from '../follow.ts';
import { LiveDisplay } from '../live.ts';
import { cliAgentHandler } from '../agent.ts';
import { cliLlmHandler, cliModelTiers } from '../llm.ts';
import { checkPlannerModels, cliPlanHandler, plannerModels } from '../planner.ts';
import { renderRunResult } from '../run-result.ts';
import { defaultRunConcurrency } from '../parse.ts';
import { RunProgress } from '../progress.ts';
import { formatCounts, renderSummary, type RunSummary } from '../render.ts';
import { summarizeRun, type SummaryAgent } from '../summary.ts';
import { collectTasks } from './pages.ts';

export interface RunCommandOptions {
  /**
   * Number of in-process agents; not allowed with a plan that declares its agents.
   * @default the plan's DAG width, at most 16
   */
  concurrency?: number;
  /**
   * Capabilities of the generic agents besides `shell` (what this machine has); not allowed with
   * a plan that declares its agents.
   * @default none
   */
  capabilities?: string[];
  /**
   * After SIGINT/SIGTERM, how long running tasks may finish before they are stopped and given
   * back to the queue, in ms.
   * @default 10000
   */
  graceMs?: number;
  /**
   * Plan and run this goal instead of a plan file: the run's first task is a `plan` task whose
   * planned tasks the same agents then run (docs/planner.md).
   */
  goal?: string;
  /** With `goal`: the run's budget in USD. @default none */
  budgetUsd?: number;
  /** The planner model. @default BATON_PLANNER_MODEL, else anthropic:claude-sonnet-4-5 */
  model?: string;
  /** The planned tasks' model. @default BATON_PLANNER_TASK_MODEL, else the planner's */
  taskModel?: string;
}

/** Agents `baton run --goal` starts when --concurrency does not say: the plan is not known yet. */
const GOAL_AGENTS = 4;

/** The grace period after an interrupt when `--grace` is not given. */
const DEFAULT_GRACE_MS = 10_000;

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
export async function runCommand(
  ctx: CliContext,
  planFile: string | undefined,
  options: RunCommandOptions = {},
): Promise<number> {
  const models = plannerModels(ctx.agentEnv, options);
  // Everything about the plan is checked before the store is opened: a bad plan stores nothing.
  const plan =
    options.goal === undefined ? await loadPlan(planFile ?? '') : goalPlan(options.goal, options);
  if (options.goal !== undefined) checkPlannerModels(models, ctx.agentEnv);
  if (plan.agents !== null && options.concurrency !== undefined) {
    ctx.note(
      `error: --concurrency cannot be used with ${plan.file}: the plan declares its own agents ` +
        `(${plan.agents.map((a) => a.name).join(', ')}) and baton run starts exactly those; ` +
        `set concurrency: on its agents instead, or remove agents: from the plan to run on --concurrency generic agents`,
    );
    return USAGE_EXIT;
  }
  if (plan.agents !== null && options.capabilities !== undefined) {
    ctx.note(
      `error: --capabilities cannot be used with ${plan.file}: the plan declares its own agents ` +
        `(${plan.agents.map((a) => a.name).join(', ')}), each with its capabilities; ` +
        `set capabilities: on its agents instead`,
    );
    return USAGE_EXIT;
  }
  const { parallel, cost } = ctx.config.config;
  if (plan.agents !== null && !parallel.enabled) {
    const source = ctx.config.sources.get('parallel.enabled');
    ctx.note(
      `error: ${source?.kind === 'flag' ? '--sequential' : 'parallel.enabled: false (baton.config.yaml)'} cannot be used with ${plan.file}: the plan declares its own agents ` +
        `(${plan.agents.map((a) => a.name).join(', ')}), which run at once; ` +
        `declare one agent with concurrency: 1 to run one task at a time, or remove agents: from the plan`,
    );
    return USAGE_EXIT;
  }
  const extra = [...new Set(options.capabilities ?? [])].sort();
  checkAgentsCoverTasks(plan, { capabilities: extra });
  checkLlmSetup(plan, ctx.agentEnv, ctx.config.config);
  // A plan without a budget gets the config file's (cost.budgetUsd), checked as the plan's is.
  if (plan.run.budget === undefined && cost.budgetUsd !== null) {
    plan.run.budget = { usd: cost.budgetUsd };
  }
  // Worktrees (docs/worktrees.md): the repository is checked and each task stamped before
  // anything is stored; a bad repository changes nothing.
  const workspace = await preparePlanWorkspace(ctx, plan);
  for (const note of workspace?.repo.notes ?? []) ctx.note(`note: ${note}`);
  const runSpec = workspace?.run ?? plan.run;
  const { width } = normalizeRun(runSpec, { now: Date.now() });
  // One agent with --sequential (or parallel.enabled: false), else --concurrency, else the
  // config file's parallel.maxConcurrency, else the plan's width (a goal's: GOAL_AGENTS).
  const count = !parallel.enabled
    ? 1
    : (options.concurrency ??
      parallel.maxConcurrency ??
      (options.goal === undefined ? defaultRunConcurrency(width) : GOAL_AGENTS));
  const agents = localAgents(plan, count, extra);
  const capabilities = [...new Set(agents.flatMap((a) => a.capabilities))].sort();
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;

  const baton = await ctx.open();
  const workers: Worker[] = [];
  const interrupt = new Interrupt(graceMs);
  /** Ends the event stream once the agents have stopped after an interrupt. */
  const stopped = new AbortController();
  let display: LiveDisplay | undefined;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    if (interrupt.signal === null) {
      interrupt.begin(signal, Date.now());
      // No new task starts from now on; running ones may finish within the grace period.
      Promise.all(workers.map((w) => w.stop()))
        .catch((error: unknown) => ctx.logger.error({ err: error }, 'stop failed'))
        .finally(() => stopped.abort());
    } else {
      interrupt.cutShort();
      for (const worker of workers) void worker.stop({ graceMs: 0 });
    }
    // On a terminal the frame says it (with the grace left); elsewhere one line says it.
    if (display) display.refresh();
    else if (!ctx.json) ctx.note(`\n${interrupt.describe(Date.now(), null).join('\n')}`);
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
    const submitted = await baton.submitRun(runSpec);
    if (workspace !== null) await startRunWorkspace(ctx, workspace, submitted.runId);
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
        `the local agents run shell, http, llm and agent tasks only; the tasks of ${elsewhere.join(', ')} wait for a worker ` +
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
        handlers: {
          shell: withWorkspace(shellHandler()),
          http: httpHandler(),
          llm: cliLlmHandler(ctx.agentEnv, { config: ctx.config.config }),
          [PLAN_TASK_TYPE]: cliPlanHandler(ctx.agentEnv, baton, models),
          agent: withWorkspace(
            cliAgentHandler(ctx.agentEnv, ctx.config.config, undefined, baton.backend),
          ),
        },
        handleSignals: false,
        shutdownGraceMs: graceMs,
        logger: ctx.logger.child({ agent: agent.name }),
      });
      agentNames.set(worker.agentId, agent.name);
      started.push({ id: worker.agentId, ...agent });
      workers.push(worker);
    }
    // Interrupted while submitting: no agent starts, so no task does.
    if (interrupt.signal === null) await Promise.all(workers.map((w) => w.start()));
    else stopped.abort();

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
      ctx.paint,
    );
    // A terminal that reports 0 rows (some pseudo-terminals) would show an empty frame.
    const live = !ctx.json && ctx.io.stdout.isTTY === true && (ctx.io.stdout.rows ?? 24) > 0;
    if (live) {
      display = new LiveDisplay(
        ctx.io.stdout,
        ctx.io.stderr,
        (size) => {
          const now = Date.now();
          const running = progress.tasks.filter((t) => t.state === 'running').length;
          const footer = interrupt.signal === null ? [] : interrupt.describe(now, running);
          return progress.frame(now, { ...size, footer });
        },
        { intervalMs: REDRAW_MS },
      );
      const shown = display;
      // Log lines and notes are printed above the frame, never written behind its back.
      ctx.routeStderr((text) => shown.print('stderr', text));
    }
    try {
      // What the agents did before they stopped after an interrupt is read too.
      await followRun(ctx, baton, submitted.runId, since, progress, {
        ...(display === undefined ? {} : { display }),
        signal: stopped.signal,
        catchUp: true,
      });
    } finally {
      display?.stop();
      ctx.routeStderr(null);
    }

    // Let in-flight handlers finish (graceful) and give back what is left.
    await Promise.all(workers.map((w) => w.stop()));

    const run = await baton.getRun(submitted.runId);
    if (interrupt.signal !== null && (run === null || run.state === 'running')) {
      const b = run?.progress.byState;
      const unfinished = b === undefined ? null : b.blocked + b.delayed + b.ready + b.running;
      const left =
        run === null || b === undefined
          ? ''
          : ` with ${unfinished} of ${run.progress.total} tasks unfinished (${formatCounts(b)})`;
      const others = capabilities.filter((c) => c !== 'shell');
      const extra =
        (ctx.namespace === undefined ? '' : ` --namespace ${ctx.namespace}`) +
        (others.length > 0 ? ` --capabilities ${others.join(',')}` : '');
      ctx.note(
        `interrupted: run ${submitted.runId} is left in the store${left}; no task started after ${interrupt.signal}.\n` +
          `Resume it with \`baton worker --store ${ctx.storeUrl}${extra}\`, follow it with \`baton status ${submitted.runId}\`, or cancel it with \`baton cancel ${submitted.runId}\`.`,
      );
      return SIGNAL_EXIT[interrupt.signal];
    }

    const summary = await summarize(baton, submitted, started);
    if (ctx.json) ctx.printJson(summary);
    else {
      ctx.print(`\n${renderSummary(summary, ctx.paint)}`);
      const shown = renderRunResult(summary.result ?? null);
      if (shown !== null) ctx.print(`\n${shown}`);
    }
    if (workspace !== null) await finishRunWorkspace(ctx, baton, submitted.runId);
    ctx.logger.info(
      { runId: summary.runId, state: summary.state, wallMs: summary.wallMs },
      'run finished',
    );
    if (interrupt.signal !== null) {
      // The tasks that were running when it came finished the run.
      ctx.note(`interrupted: run ${summary.runId} ${summary.state} while stopping`);
      return SIGNAL_EXIT[interrupt.signal];
    }
    return summary.state === 'succeeded' ? 0 : 1;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    await baton.close();
  }
}

/**
 * The run of `baton run --goal`: one `plan` task carrying the goal (checked with the run, as any
 * payload is), and the budget.
 */
function goalPlan(goal: string, options: RunCommandOptions): Plan {
  const run = goalRunSpec({
    description: goal,
    ...(options.budgetUsd === undefined ? {} : { budget: { usd: options.budgetUsd } }),
  });
  const spec = run.tasks[0]!;
  return {
    file: '(goal)',
    name: run.name ?? 'goal',
    run,
    tasks: [{ key: 'plan', executor: PLAN_TASK_TYPE, line: 1, column: 1, spec }],
    agents: null,
    workspace: null,
  };
}

/**
 * What `baton run` says while it stops after SIGINT/SIGTERM: no new task starts, the running
 * ones may finish within the grace period (its time left counted down), a second signal stops
 * them at once.
 */
export class Interrupt {
  readonly graceMs: number;
  signal: 'SIGINT' | 'SIGTERM' | null = null;
  #at = 0;
  #atOnce = false;

  constructor(graceMs: number) {
    this.graceMs = graceMs;
  }

  begin(signal: 'SIGINT' | 'SIGTERM', at: number): void {
    this.signal = signal;
    this.#at = at;
  }

  cutShort(): void {
    this.#atOnce = true;
  }

  /**
   * What it is doing now, in a line or two.
   * @param running tasks still running, when known (the live frame knows; a signal handler not)
   */
  describe(now: number, running: number | null): string[] {
    const again = this.signal === 'SIGTERM' ? 'SIGTERM' : 'Ctrl-C';
    const tasks =
      running === null ? 'running tasks' : `${running} running task${running === 1 ? '' : 's'}`;
    const head = `${this.signal}: stopping; no new task starts`;
    if (running === 0) return [`${head}, and none is running`];
    if (this.#atOnce) return [`${head}; ${tasks}: stopped at once and given back to the queue`];
    const left = Math.max(0, this.graceMs - (now - this.#at));
    if (left === 0) {
      return [`${head}; grace period over: ${tasks} stopped and given back to the queue`];
    }
    return [
      `${head}; ${tasks} may finish within the grace period`,
      running === null
        ? `grace ${formatSeconds(this.graceMs)}; ${again} again to stop at once`
        : `grace left ${formatSeconds(left)} of ${formatSeconds(this.graceMs)}; ${again} again to stop at once`,
    ];
  }
}

/** `9.4s`, `10s`: seconds with one decimal under 10, whole above. */
function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return s < 10 ? `${s.toFixed(1)}s` : `${Math.round(s)}s`;
}

/**
 * The agents to start: the plan's own (each with `shell` added), or else `count` generic agents
 * of one slot, each with `shell` and `capabilities` (what `--capabilities` says this machine has).
 */
function localAgents(plan: Plan, count: number, capabilities: readonly string[]): LocalAgent[] {
  if (plan.agents !== null) {
    return plan.agents.map((a) => ({
      name: a.name,
      capabilities: [...new Set([...a.capabilities, 'shell'])].sort(),
      labels: a.labels,
      concurrency: a.concurrency,
    }));
  }
  const all = [...new Set([...capabilities, 'shell'])].sort();
  return Array.from({ length: count }, (_, i) => ({
    name: `agent-${i + 1}`,
    capabilities: all,
    labels: {},
    concurrency: 1,
  }));
}

/**
 * The local agents make the plan's model calls: each llm task's provider must be set up (its key
 * in this environment, `BATON_MODEL_TIERS` or the config file's `cost.tiers` for `model: auto`), or the run is refused before anything is
 * stored rather than failing task by task.
 * @throws PlanError naming each task, its model and what to set (never a key).
 */
function checkLlmSetup(plan: Plan, env: NodeJS.ProcessEnv, config: BatonConfig): void {
  const tiers = cliModelTiers(env, config);
  const issues: PlanIssue[] = [];
  plan.tasks.forEach((task, index) => {
    if (task.executor !== 'llm') return;
    const model = (task.spec.payload as { model?: unknown } | null | undefined)?.model;
    const problem =
      typeof model === 'string'
        ? llmSetupProblem(model, { env, ...(tiers === undefined ? {} : { tiers }) }, 'run')
        : null;
    if (problem === null) return;
    issues.push({
      line: task.line,
      column: task.column,
      field: `tasks[${index}].model`,
      message: `task '${task.key}': ${problem}`,
    });
  });
  if (issues.length > 0) throw new PlanError(plan.file, issues);
}

/** Task types of the plan besides the local ones (`shell`, `http`, `llm`), with their counts. */
function unhandledTypes(tasks: readonly { type: string }[]): string[] {
  const counts = new Map<string, number>();
  for (const { type } of tasks) {
    if (!LOCAL_TASK_TYPES.includes(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return [...counts].map(([type, n]) => `type ${type} (${n})`);
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
  const summary = summarizeRun({
    run,
    tasks,
    attempts,
    agents,
    agentLabel: (id) => names.get(id) ?? id,
    costs: await baton.costs({ runId: run.id }),
  });
  return { ...summary, result: runResult(tasks) };
}
