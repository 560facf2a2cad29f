/**
 * `baton plan "<goal>" [--out plan.yaml]`: the planner's call, without running the tasks. The
 * call is a `plan` task of a run of its own with `dryRun` (so it is durable, has a log and a
 * cost, as every planner call does), run by one local agent; its planned tasks are written as a
 * plan file to review and then `baton run` (docs/planner.md).
 */
import { writeFile } from 'node:fs/promises';

import { PLAN_TASK_TYPE, goalRunName } from '../../core/goal.ts';
import type { RunRecord, TaskRecord, TaskSpec } from '../../core/types.ts';
import { normalizeTasks } from '../../core/validate.ts';
import type { PlanResult } from '../../executors/planner/index.ts';
import type { CliContext } from '../context.ts';
import { checkPlannerModels, cliPlanHandler, planYaml, plannerModels } from '../planner.ts';

export interface PlanCommandOptions {
  /** Where the plan file goes. @default stdout */
  out?: string;
  /** The planner model. @default BATON_PLANNER_MODEL, else anthropic:claude-sonnet-4-5 */
  model?: string;
  /** The planned tasks' model. @default BATON_PLANNER_TASK_MODEL, else the planner's */
  taskModel?: string;
  /** Capabilities of the planning agent besides `shell` (those `baton run` will be given). */
  capabilities?: string[];
}

export async function planCommand(
  ctx: CliContext,
  goal: string,
  options: PlanCommandOptions = {},
): Promise<number> {
  const models = plannerModels(ctx.agentEnv, options);
  // The goal's and the models' problems are found before the store is opened.
  normalizeTasks([{ type: PLAN_TASK_TYPE, payload: { goal, dryRun: true } }], {
    now: Date.now(),
    pathPrefix: 'goal',
  });
  checkPlannerModels(models, ctx.agentEnv);

  const baton = await ctx.open();
  const capabilities = [...new Set(['shell', ...(options.capabilities ?? [])])].sort();
  const worker = baton.worker({
    name: 'planner',
    capabilities,
    concurrency: 1,
    handlers: { [PLAN_TASK_TYPE]: cliPlanHandler(ctx.agentEnv, baton, models) },
    handleSignals: false,
    logger: ctx.logger.child({ agent: 'planner' }),
  });
  try {
    const submitted = await baton.submitRun({
      name: `plan: ${goalRunName(goal)}`,
      tasks: [{ key: 'plan', type: PLAN_TASK_TYPE, payload: { goal, dryRun: true } }],
    });
    const taskId = submitted.tasks[0]!.id;
    await worker.start();
    const run = (await baton.wait(submitted.runId)) as RunRecord;
    const task = (await baton.get(taskId)) as TaskRecord;
    if (run.state !== 'succeeded' || task.state !== 'succeeded') {
      const code = task.error?.code === undefined ? '' : ` [${task.error.code}]`;
      ctx.note(
        `error${code}: planning failed: ${task.error?.message ?? `the plan task is ${task.state}`}; see npx baton logs ${taskId}`,
      );
      return 1;
    }
    const result = task.result as unknown as PlanResult;
    const note = result.fallback
      ? `The planner's answers could not be run, so this is the single fallback task: ${result.reason ?? ''}`
      : result.repaired
        ? 'The first answer was refused and repaired once.'
        : null;
    const text = planYaml(goal, result.tasks as unknown as TaskSpec[], note);
    if (options.out === undefined) {
      if (!ctx.json) ctx.print(text.trimEnd());
    } else {
      await writeFile(options.out, text);
      ctx.note(
        `wrote ${options.out}: ${result.tasks.length} task${result.tasks.length === 1 ? '' : 's'}${result.fallback ? ' (the fallback: one task carrying the whole goal)' : ''}, planned by ${models.model} in run ${submitted.runId}; review it, then run it with npx baton run ${options.out}`,
      );
    }
    if (ctx.json) ctx.printJson({ runId: submitted.runId, taskId, ...result });
    return 0;
  } finally {
    await worker.stop();
    await baton.close();
  }
}
