/**
 * The `plan` handler the CLI's agents use (`baton run --goal`, `baton plan`, `baton worker`):
 * its model calls go through the CLI's `llm` handler, so each is held against the run's budget,
 * recorded in the ledger and streamed into the plan task's log (docs/planner.md). The planner
 * model is `--model`, else `BATON_PLANNER_MODEL`, else {@link DEFAULT_PLANNER_MODEL}; the model
 * of the planned tasks `--task-model`, else `BATON_PLANNER_TASK_MODEL`, else the planner's.
 */
import { stringify } from 'yaml';

import { ValidationError, type ValidationIssue } from '../core/errors.ts';
import { goalRunName } from '../core/goal.ts';
import { LLM_FIELDS } from '../core/llm.ts';
import type { Json, TaskSpec } from '../core/types.ts';
import { llmSetupProblem } from '../executors/llm/index.ts';
import { planHandler, type PlannerStore } from '../executors/planner/index.ts';
import type { TaskHandler } from '../runtime/worker.ts';
import { cliLlmHandler } from './llm.ts';

/** The planner model when neither `--model` nor `BATON_PLANNER_MODEL` says. */
export const DEFAULT_PLANNER_MODEL = 'anthropic:claude-sonnet-4-5';

/** Models the planner calls and gives its tasks. */
export interface PlannerModels {
  model: string;
  taskModel: string;
}

/** The models from the flags, else the environment, else the default. */
export function plannerModels(
  env: NodeJS.ProcessEnv,
  flags: { model?: string | undefined; taskModel?: string | undefined } = {},
): PlannerModels {
  const model = flags.model ?? nonEmpty(env['BATON_PLANNER_MODEL']) ?? DEFAULT_PLANNER_MODEL;
  const taskModel = flags.taskModel ?? nonEmpty(env['BATON_PLANNER_TASK_MODEL']) ?? model;
  return { model, taskModel };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/**
 * What stops these models from being called from this environment (a malformed id, a missing
 * key), found before anything is stored.
 * @throws ValidationError naming the flag or variable and what to set (never a key).
 */
export function checkPlannerModels(models: PlannerModels, env: NodeJS.ProcessEnv): void {
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const [path, what, model] of [
    ['model', 'the planner model (--model, BATON_PLANNER_MODEL)', models.model],
    [
      'taskModel',
      "the planned tasks' model (--task-model, BATON_PLANNER_TASK_MODEL)",
      models.taskModel,
    ],
  ] as const) {
    if (seen.has(model)) continue;
    seen.add(model);
    const problem = llmSetupProblem(model, { env }, 'run') ?? malformed(model);
    if (problem !== null) issues.push({ path, message: `${what} '${model}': ${problem}` });
  }
  if (issues.length > 0) throw new ValidationError(issues);
}

function malformed(model: string): string | null {
  // llmSetupProblem leaves malformed ids to the payload checks; here there are none before it.
  return model.includes(':') || model === 'auto'
    ? null
    : `not a provider-qualified model id; write it as anthropic:<model>, openai:<model> or openai-compatible:<name>:<model>`;
}

/** The `plan` handler of the CLI's agents. */
export function cliPlanHandler(
  env: NodeJS.ProcessEnv,
  store: PlannerStore,
  models: PlannerModels,
): TaskHandler {
  return planHandler({
    llm: cliLlmHandler(env),
    store,
    model: models.model,
    taskModel: models.taskModel,
  });
}

/**
 * Planned tasks (a `plan` task's result) as a plan file for `baton run`: `executor: llm` tasks
 * with their model, prompt and data, `requires`, `dependsOn`, `priority` and `epic`.
 */
export function planYaml(goal: string, tasks: readonly TaskSpec[], note: string | null): string {
  const planTasks = tasks.map((spec) => {
    const data = { ...((spec.payload ?? {}) as Record<string, Json>) };
    const out: Record<string, unknown> = { key: spec.key };
    if (spec.title !== undefined) out['title'] = spec.title;
    if (spec.epic !== undefined) out['epic'] = spec.epic;
    out['executor'] = spec.type;
    // The llm task's own fields sit next to `executor: llm`; the rest is data under payload.
    for (const field of LLM_FIELDS) {
      if (data[field] === undefined) continue;
      out[field] = data[field];
      delete data[field];
    }
    if (Object.keys(data).length > 0) out['payload'] = data;
    if (spec.requires !== undefined && spec.requires.length > 0) out['requires'] = spec.requires;
    if (spec.dependsOn !== undefined && spec.dependsOn.length > 0)
      out['dependsOn'] = spec.dependsOn;
    if (spec.priority !== undefined) out['priority'] = spec.priority;
    return out;
  });
  const header = [
    `Planned by baton plan from the goal:`,
    ...goal
      .trim()
      .split('\n')
      .map((line) => `  ${line}`),
    ...(note === null ? [] : [note]),
    'Review it, then run it with: npx baton run <this file>',
  ]
    .map((line) => `# ${line}`.trimEnd())
    .join('\n');
  return `${header}\n${stringify({ name: goalRunName(goal), tasks: planTasks }, { lineWidth: 100 })}`;
}
