/** `baton retry <task-id> [--reason text]`: replay a failed task. */
import { withBaton, type CliContext } from '../context.ts';

export interface RetryCommandOptions {
  /** Why the task is retried, for its `task.retried` event. @default 'retried from the command line' */
  reason?: string;
}

/**
 * Retry a failed task: it is ready again with a fresh attempt budget, its run reopens and the
 * tasks its failure skipped wait for it again. A task that is not failed is refused (exit 1,
 * `BATON_CONFLICT`) and nothing changes.
 */
export async function retryCommand(
  ctx: CliContext,
  taskId: string,
  options: RetryCommandOptions = {},
): Promise<number> {
  return await withBaton(ctx, async (baton) => {
    const task = await baton.retry(taskId, {
      reason: options.reason ?? 'retried from the command line',
    });
    if (ctx.json) {
      ctx.printJson({ task });
    } else {
      const name = task.key === null ? '' : ` (${task.key})`;
      // The retry raised maxAttempts above the attempts used: the difference is what it granted.
      const left = task.maxAttempts - task.attempts;
      const attempts = left === 1 ? '1 attempt' : `${left} attempts`;
      ctx.print(`task ${task.id}${name} ${task.state}: retried with ${attempts} to go`);
    }
    return 0;
  });
}
