/** `baton cancel <id> [--reason text]`: a task, or every unfinished task of a run (`run_…`). */
import { isRunId } from '../../backends/ids.ts';
import type { RunRecord, TaskRecord } from '../../core/types.ts';
import { withBaton, type CliContext } from '../context.ts';
import { formatCounts } from '../render.ts';

export interface CancelCommandOptions {
  /** Why, for the `task.cancelled` events. @default 'cancelled from the command line' */
  reason?: string;
}

export async function cancelCommand(
  ctx: CliContext,
  id: string,
  options: CancelCommandOptions = {},
): Promise<number> {
  return await withBaton(ctx, async (baton) => {
    const record = await baton.cancel(id, options.reason ?? 'cancelled from the command line');
    if (ctx.json) {
      ctx.printJson(isRunId(id) ? { run: record } : { task: record });
    } else if (isRunId(id)) {
      const run = record as RunRecord;
      ctx.print(`run ${run.id} ${run.state}: ${formatCounts(run.progress.byState)}`);
    } else {
      const task = record as TaskRecord;
      ctx.print(`task ${task.id}${task.key === null ? '' : ` (${task.key})`} ${task.state}`);
    }
    return 0;
  });
}
