/**
 * The `llm` handler the CLI's agents use (`baton run`, `baton worker`): keys and base URLs from
 * the command's environment; the answer, as it streams, in the task's log (docs/logs.md:
 * `baton logs <task>` shows it, live with `--follow`), and the SDK's warnings (a setting a model
 * does not take) there too, instead of on stdout, where `--json` output goes.
 */
import { llmHandler } from '../executors/llm/index.ts';
import type { TaskContext, TaskHandler } from '../runtime/worker.ts';

export function cliLlmHandler(env: NodeJS.ProcessEnv): TaskHandler {
  return llmHandler<TaskContext>({
    env,
    onText: (chunk, ctx) => ctx.log.write('stdout', chunk),
    onWarning: (warning, ctx) => ctx.log.warn(`model call warning: ${warning}`),
  });
}
