/**
 * The `llm` handler the CLI's agents use (`baton run`, `baton worker`): keys and base URLs from
 * the command's environment, and the SDK's warnings (a setting a model does not take) in the
 * worker's log instead of on stdout, where `--json` output goes.
 */
import { llmHandler } from '../executors/llm/index.ts';
import type { TaskContext, TaskHandler } from '../runtime/worker.ts';

export function cliLlmHandler(env: NodeJS.ProcessEnv): TaskHandler {
  return llmHandler<TaskContext>({
    env,
    onWarning: (warning, ctx) => ctx.log.warn({ warning }, 'model call warning'),
  });
}
