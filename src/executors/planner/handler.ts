/**
 * The `plan` executor (docs/planner.md): a goal in plain words becomes a validated DAG of `llm`
 * tasks spawned into the plan task's own run, so planning is durable, logged, budgeted and
 * retried like any other work.
 *
 * One attempt:
 * 1. if an earlier attempt of this task already spawned its plan (the spawn is one atomic
 *    submission, marked with idempotency keys derived from the task's id), answer with that plan;
 * 2. read the live agents (and keep those the goal names), whose capabilities a task may require;
 * 3. ask the planner model, through the `llm` handler it is given (so the call streams into the
 *    task's log, is held against the run's budget and recorded in the ledger), for tasks as
 *    structured output;
 * 4. check them with Baton's own validation (keys, cycles, unknown dependencies, payloads) and
 *    against the agents' capabilities; if they fail, or the answer is not JSON of that shape,
 *    make ONE repair call that quotes the answer and the problems;
 * 5. if that fails too, fall back to one task carrying the whole goal (seed 003 T020), and say
 *    so: a warning in the log, and `fallback: true` with the reason in the result;
 * 6. spawn the tasks into the run (unless the payload says `dryRun`), and answer with the plan.
 *
 * Errors of the call itself (a rate limit, a server error, a missing key, a budget that cannot
 * take it) are not a bad plan: they fail the attempt as an `llm` task's would, and the task is
 * retried or fails on its own terms.
 */
import { NonRetryableError } from '../../core/errors.ts';
import { checkPlanPayload, type PlanPayload } from '../../core/goal.ts';
import {
  PLAN_OUTPUT_SCHEMA,
  PLANNER_SYSTEM,
  fallbackTask,
  plannerModelProblem,
  plannerPrompt,
  repairPrompt,
  tasksFromDraft,
  type PlannerAgent,
} from '../../core/planner.ts';
import type { AgentRecord, Json, TaskRecord, TaskSpec } from '../../core/types.ts';
import type { TaskFilter, TaskPage } from '../../backends/backend.ts';
import type { TaskContext } from '../../runtime/worker.ts';
import { ModelCallError } from '../llm/errors.ts';

/** The reads the planner makes of the store: a `Baton` client has them. */
export interface PlannerStore {
  agents(): Promise<AgentRecord[]>;
  tasks(filter?: TaskFilter): Promise<TaskPage>;
}

export interface PlanHandlerOptions {
  /**
   * Makes the planner's model calls: an `llm` handler (`llmHandler(…)`, or one that also holds
   * budgets and records usage, as the CLI's agents do), called with the plan task's context
   * whose `payload` is the call's `llm` payload.
   */
  llm: (ctx: TaskContext) => Promise<Json | void> | Json | void;
  /** Where the live agents and the run's tasks are read (a `Baton` client). */
  store: PlannerStore;
  /**
   * The planner model, a provider-qualified id.
   * @example 'anthropic:claude-sonnet-4-5'
   */
  model: string;
  /** The model each planned task calls. @default the planner model */
  taskModel?: string;
  /** Output tokens of each planner call. @default 4096 */
  maxTokens?: number;
}

/** What a `plan` task answers with. */
export interface PlanResult {
  [field: string]: Json;
  goal: string;
  model: string;
  taskModel: string;
  /** True when the plan is the single fallback task carrying the whole goal. */
  fallback: boolean;
  /** Why the plan fell back (the last problems found), when it did. */
  reason: string | null;
  /** True when the first answer was refused and the repair call's was used. */
  repaired: boolean;
  /** Model calls made: 1, or 2 with the repair call (0 when an earlier attempt had planned). */
  calls: number;
  /** The planned tasks, as submitted (or, for a dry run, as they would be). */
  tasks: Json[];
  /** Each spawned task's key and id; empty for a dry run. */
  spawned: { key: string | null; id: string }[];
}

const DEFAULT_MAX_TOKENS = 4096;

/** The handler a worker registers for tasks of type `plan`. */
export function planHandler(options: PlanHandlerOptions): (ctx: TaskContext) => Promise<Json> {
  const problems = [
    plannerModelProblem(options.model),
    options.taskModel === undefined ? null : plannerModelProblem(options.taskModel),
  ].filter((p): p is string => p !== null);
  if (problems.length > 0)
    throw new TypeError(`invalid planHandler options: ${problems.join('; ')}`);
  return (ctx) => plan(ctx, options);
}

async function plan(ctx: TaskContext, options: PlanHandlerOptions): Promise<Json> {
  const issues = checkPlanPayload(ctx.payload);
  if (issues.length > 0) {
    throw new NonRetryableError(
      `malformed plan payload: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
    );
  }
  const payload = ctx.payload as unknown as PlanPayload;
  const goal = payload.goal.trim();
  const taskModel = options.taskModel ?? options.model;
  const dryRun = payload.dryRun === true;
  const marker = `${ctx.task.id}:`;
  const runTasks = ctx.task.runId === null ? [] : await tasksOfRun(options.store, ctx.task.runId);

  const base = { goal, model: options.model, taskModel };
  if (!dryRun) {
    const earlier = runTasks.filter((t) => t.idempotencyKey?.startsWith(marker) === true);
    if (earlier.length > 0) {
      ctx.log.info(
        `the plan was spawned by an earlier attempt (${earlier.length} tasks); not planning again`,
      );
      const result: PlanResult = {
        ...base,
        fallback: false,
        reason: null,
        repaired: false,
        calls: 0,
        tasks: earlier.map(describeRecord),
        spawned: earlier.map((t) => ({ key: t.key, id: t.id })),
      };
      return result;
    }
  }

  const agents = await liveAgents(options.store, payload.agents);
  const draftOptions = {
    taskModel,
    agents,
    existingKeys: runTasks.flatMap((t) => (t.key === null ? [] : [t.key])),
  };
  ctx.log.info(
    `planning the goal with ${options.model} for ${agents.length} live agent${agents.length === 1 ? '' : 's'} (${agents.map((a) => a.name).join(', ') || 'none'})`,
  );

  const first = plannerPrompt(goal, agents);
  let calls = 1;
  let answer = await ask(ctx, options, first);
  let outcome = answer.ok
    ? tasksFromDraft(answer.value, draftOptions)
    : { tasks: null, problems: [answer.problem] };
  let repaired = false;
  if (outcome.tasks === null) {
    ctx.log.warn(
      `the planner's answer cannot be run: ${outcome.problems.join('; ')}; asking once more with these problems`,
    );
    calls = 2;
    answer = await ask(ctx, options, repairPrompt(first, answer.text, outcome.problems));
    outcome = answer.ok
      ? tasksFromDraft(answer.value, draftOptions)
      : { tasks: null, problems: [answer.problem] };
    repaired = outcome.tasks !== null;
  }

  let tasks: TaskSpec[];
  let reason: string | null = null;
  if (outcome.tasks === null) {
    reason = `the planner's answer could not be run after one repair: ${outcome.problems.join('; ')}`;
    ctx.log.warn(
      `falling back to a single task carrying the whole goal (seed 003 T020): ${reason}`,
    );
    tasks = [fallbackTask(goal, taskModel, draftOptions.existingKeys)];
  } else {
    tasks = outcome.tasks;
    ctx.log.info(
      `planned ${tasks.length} task${tasks.length === 1 ? '' : 's'}: ${tasks.map((t) => t.key).join(', ')}`,
    );
  }

  let spawned: PlanResult['spawned'] = [];
  if (!dryRun) {
    const submitted = await ctx.spawn(
      tasks.map((t, i) => ({ ...t, idempotencyKey: `${marker}${i}` })),
    );
    spawned = submitted.map((s) => ({ key: s.key, id: s.id }));
  }
  const result: PlanResult = {
    ...base,
    fallback: reason !== null,
    reason,
    repaired,
    calls,
    tasks: tasks as unknown as Json[],
    spawned,
  };
  return result;
}

type Answer =
  { ok: true; value: Json; text: string } | { ok: false; problem: string; text: string };

/**
 * One planner call. An answer that is not JSON of the plan's shape (prose, a cut-off answer) is
 * a refused answer, worth a repair; any other failure of the call fails the attempt.
 */
async function ask(
  ctx: TaskContext,
  options: PlanHandlerOptions,
  request: string,
): Promise<Answer> {
  const payload: { [key: string]: Json } = {
    model: options.model,
    system: PLANNER_SYSTEM,
    // The request is data: a goal that holds '{{' is not read as a template.
    prompt: '{{ payload.request }}',
    request,
    output: PLAN_OUTPUT_SCHEMA,
    maxTokens: options.maxTokens ?? DEFAULT_MAX_TOKENS,
  };
  const callCtx = Object.create(ctx, {
    payload: { value: payload, enumerable: true },
  }) as TaskContext;
  try {
    const value = (await options.llm(callCtx)) ?? null;
    return { ok: true, value, text: JSON.stringify(value) };
  } catch (error) {
    if (error instanceof ModelCallError && error.code === 'LLM_OUTPUT_INVALID') {
      return {
        ok: false,
        // The call's wording says what a task would do next; here the planner decides.
        problem: error.message.replace(/; the task will be retried/g, ''),
        text: '(not JSON of the asked shape; see the problem below)',
      };
    }
    throw error;
  } finally {
    // The streamed answer ends its own line in the log.
    ctx.log.write('stdout', '\n');
  }
}

/** Every task of the run, page by page. */
async function tasksOfRun(store: PlannerStore, runId: string): Promise<TaskRecord[]> {
  const out: TaskRecord[] = [];
  let cursor: string | null = null;
  do {
    const page: TaskPage = await store.tasks({
      runId,
      limit: 1000,
      ...(cursor === null ? {} : { cursor }),
    });
    out.push(...page.tasks);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

/** The active agents, or those of them the goal names (by name or id). */
async function liveAgents(
  store: PlannerStore,
  names: readonly string[] | undefined,
): Promise<PlannerAgent[]> {
  const active = (await store.agents()).filter((a) => a.state === 'active');
  let chosen = active;
  if (names !== undefined) {
    const wanted = new Set(names.map((n) => n.trim()));
    chosen = active.filter((a) => wanted.has(a.name) || wanted.has(a.id));
    const found = new Set(chosen.flatMap((a) => [a.name, a.id]));
    const missing = [...wanted].filter((n) => !found.has(n));
    if (missing.length > 0) {
      throw new NonRetryableError(
        `the goal names agent${missing.length === 1 ? '' : 's'} ${missing.map((n) => `'${n}'`).join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not live; live agents: ${active.map((a) => a.name).join(', ') || 'none'}`,
      );
    }
  }
  return chosen.map((a) => ({ name: a.name, capabilities: [...a.capabilities].sort() }));
}

/** A spawned task as the plan's result lists it. */
function describeRecord(t: TaskRecord): Json {
  return {
    type: t.type,
    key: t.key,
    title: t.title,
    epic: t.epic,
    requires: t.requires,
    dependsOn: t.dependsOn.map((d) => d.key),
    priority: t.priority,
    payload: t.payload,
  };
}
