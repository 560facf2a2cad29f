/**
 * The `llm` handler the CLI's agents use (`baton run`, `baton worker`): keys and base URLs from
 * the command's environment; the answer, as it streams, in the task's log (docs/logs.md:
 * `baton logs <task>` shows it, live with `--follow`), and the SDK's warnings (a setting a model
 * does not take) there too, instead of on stdout, where `--json` output goes. Each call is held
 * against its run's and task's budgets before it is made, and its usage recorded in the ledger
 * after (docs/costs.md: `baton costs`).
 */
import { estimateLlmCall, llmHandler } from '../executors/llm/index.ts';
import type { BatonConfig } from '../runtime/config.ts';
import { readExpertise } from '../runtime/expertise.ts';
import type { TaskContext, TaskHandler } from '../runtime/worker.ts';

/** Output tokens a call may write when its task does not set `maxTokens`. */
const MAX_TOKENS = 4096;

/**
 * @param learning with `enabled`, a task whose payload names a `domain` gets that domain's
 *   expertise (`.baton/expertise/<domain>.yaml` of the working directory's repository) at the top
 *   of its system prompt (docs/agents.md#expertise).
 */
export function cliLlmHandler(
  env: NodeJS.ProcessEnv,
  learning?: BatonConfig['learning'],
): TaskHandler {
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
  return async (given) => {
    const ctx = learning?.enabled === true ? await withExpertise(given, learning) : given;
    // The call's worst case, held first: a budget that cannot take it fails the task with
    // BATON_BUDGET_EXCEEDED before any request is sent. A hold the call did not settle (it
    // failed before reporting usage) is given back when the handler returns.
    const worst = estimateLlmCall(ctx.payload, ctx.dependencies, MAX_TOKENS);
    if (worst !== null) await ctx.costs.reserveCall(worst);
    return await call(ctx);
  };
}

/** The task's context with its domain's expertise over its system prompt, or as it is. */
async function withExpertise(
  ctx: TaskContext,
  learning: BatonConfig['learning'],
): Promise<TaskContext> {
  const payload = ctx.payload;
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return ctx;
  const { domain, system } = payload;
  if (typeof domain !== 'string') return ctx;
  const found = await readExpertise(process.cwd(), domain, learning.expertiseMaxLines);
  if (found === null) return ctx;
  ctx.log.info(`expertise of ${domain} loaded from ${found.file}`);
  // The system prompt is a template: the expertise's own `{{` are text (`\{{`).
  const expertise = `## Expertise of the ${domain} domain (what earlier sessions learned)\n\n${found.text.replaceAll('{{', '\\{{')}`;
  return {
    ...ctx,
    payload: {
      ...payload,
      system: typeof system === 'string' ? `${expertise}\n\n${system}` : expertise,
    },
  };
}
