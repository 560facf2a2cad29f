/** `baton retry <task-id> [--reason text]`: replay a failed task. */
import type { TaskRecord } from '../../core/types.ts';
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
      ctx.print(whoRunsIt(ctx, task));
    }
    return 0;
  });
}

/** Task types `baton worker` has handlers for. */
const CLI_TYPES: ReadonlySet<string> = new Set(['shell', 'http', 'llm']);

/**
 * Retrying only makes the task ready: it runs when a worker on the store takes it (the
 * `baton run` that started it may be long gone). Say which worker, as a command to copy.
 */
export function whoRunsIt(
  ctx: Pick<CliContext, 'storeUrl' | 'namespace'>,
  task: Pick<TaskRecord, 'type' | 'requires'>,
): string {
  if (!CLI_TYPES.has(task.type)) {
    return (
      `It runs when a worker on ${ctx.storeUrl} with a handler for type '${task.type}' takes it ` +
      `(the SDK's baton.worker({ handlers: { '${task.type}': … } })).`
    );
  }
  const capabilities = task.requires.filter((c) => c !== 'shell');
  const command = [
    `baton worker --store ${ctx.storeUrl}`,
    ...(ctx.namespace === undefined ? [] : [`--namespace ${ctx.namespace}`]),
    ...(capabilities.length === 0 ? [] : [`--capabilities ${capabilities.join(',')}`]),
  ].join(' ');
  return `It runs when a worker takes it; if none is running on this store, start one: ${command}`;
}
