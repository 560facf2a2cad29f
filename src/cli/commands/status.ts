/** `baton status [runId]`: one run's progress, or the recent runs. */
import { NotFoundError } from '../../core/errors.ts';
import { withBaton, type CliContext } from '../context.ts';
import { costLine } from '../costs.ts';
import { renderRunList, renderRunStatus } from '../render.ts';
import { agentLabels, collectTasks, recentRuns } from './pages.ts';

export async function statusCommand(
  ctx: CliContext,
  runId: string | undefined,
  options: { limit: number },
): Promise<number> {
  return await withBaton(ctx, async (baton) => {
    if (runId === undefined) {
      const runs = await recentRuns(baton, options.limit);
      if (ctx.json) ctx.printJson({ runs });
      else ctx.print(renderRunList(runs, Date.now()));
      return 0;
    }
    const run = await baton.getRun(runId);
    if (run === null) throw new NotFoundError('run', runId);
    const tasks = await collectTasks(baton, { runId });
    const costs = await baton.costs({ runId });
    if (ctx.json) ctx.printJson({ run, tasks, costs });
    else {
      const cost = costLine(costs.total, costs.budget, '');
      ctx.print(renderRunStatus(run, tasks, Date.now(), await agentLabels(baton)));
      if (cost !== null) ctx.print(`\ncost: ${cost}`);
    }
    return 0;
  });
}
