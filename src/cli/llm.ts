/**
 * The `llm` handler the CLI's agents use (`baton run`, `baton worker`): keys and base URLs from
 * the command's environment; the answer, as it streams, in the task's log (docs/logs.md:
 * `baton logs <task>` shows it, live with `--follow`), and the SDK's warnings (a setting a model
 * does not take) there too, instead of on stdout, where `--json` output goes. Each call is held
 * against its run's and task's budgets before it is made, and its usage recorded in the ledger
 * after (docs/costs.md: `baton costs`).
 */
import { estimateLlmCall, llmHandler } from '../executors/llm/index.ts';
import type { TaskContext, TaskHandler } from '../runtime/worker.ts';

/** Output tokens a call may write when its task does not set `maxTokens`. */
const MAX_TOKENS = 4096;

export function cliLlmHandler(env: NodeJS.ProcessEnv): TaskHandler {
  const call = llmHandler<TaskContext>({
    env,
    maxTokens: MAX_TOKENS,
    onText: (chunk, ctx) => ctx.log.write('stdout', chunk),
    onWarning: (warning, ctx) => ctx.log.warn(`model call warning: ${warning}`),
    // Priced and recorded against the attempt; settles the reservation made below.
    onUsage: async (usage, ctx) => {
      await ctx.costs.record(usage);
    },
  });
  return async (ctx) => {
    // The call's worst case, held first: a budget that cannot take it fails the task with
    // BATON_BUDGET_EXCEEDED before any request is sent. A hold the call did not settle (it
    // failed before reporting usage) is given back when the handler returns.
    const worst = estimateLlmCall(ctx.payload, ctx.dependencies, MAX_TOKENS);
    if (worst !== null) await ctx.costs.reserveCall(worst);
    return await call(ctx);
  };
}
