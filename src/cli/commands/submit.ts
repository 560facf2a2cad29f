/** `baton submit <plan>`: enqueue a plan as a run without running it. */
import { loadPlan } from '../../runtime/plan.ts';
import { withBaton, type CliContext } from '../context.ts';
import { preparePlanWorkspace, startRunWorkspace } from './worktrees.ts';

export async function submitCommand(ctx: CliContext, planFile: string): Promise<number> {
  // The plan is checked in full before the store is opened: a bad plan stores nothing.
  const plan = await loadPlan(planFile);
  // Worktrees (docs/worktrees.md): the repository is checked before anything is stored.
  const workspace = await preparePlanWorkspace(ctx, plan);
  for (const note of workspace?.repo.notes ?? []) ctx.note(`note: ${note}`);
  const submitted = await withBaton(ctx, (baton) => baton.submitRun(workspace?.run ?? plan.run));
  if (workspace !== null) await startRunWorkspace(ctx, workspace, submitted.runId);
  ctx.logger.info(
    { runId: submitted.runId, tasks: submitted.tasks.length, plan: plan.file },
    'run submitted',
  );
  if (ctx.json) {
    ctx.printJson({ runId: submitted.runId, tasks: submitted.tasks });
  } else {
    ctx.print(submitted.runId);
    ctx.note(
      `submitted ${plan.name}: ${submitted.tasks.length} tasks as ${submitted.runId}; start workers with \`baton worker\` and follow it with \`baton status ${submitted.runId}\``,
    );
  }
  return 0;
}
