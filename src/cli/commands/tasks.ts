/** `baton tasks`: list tasks, optionally of one state or run. */
import type { TaskState } from '../../core/types.ts';
import { withBaton, type CliContext } from '../context.ts';
import { renderTaskList } from '../render.ts';
import { agentLabels, collectTasks } from './pages.ts';

export interface TasksFilter {
  state?: TaskState;
  runId?: string;
  limit: number;
}

export async function tasksCommand(ctx: CliContext, filter: TasksFilter): Promise<number> {
  return await withBaton(ctx, async (baton) => {
    const { limit, ...rest } = filter;
    const tasks = await collectTasks(baton, rest, limit);
    if (ctx.json) ctx.printJson({ tasks });
    else ctx.print(renderTaskList(tasks, await agentLabels(baton), ctx.paint));
    return 0;
  });
}
