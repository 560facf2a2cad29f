/**
 * The `llm` handler the CLI's agents use (`baton run`, `baton worker`): keys and base URLs from
 * the command's environment; the answer, as it streams, in the task's log (docs/logs.md:
 * `baton logs <task>` shows it, live with `--follow`), and the SDK's warnings (a setting a model
 * does not take) there too, instead of on stdout, where `--json` output goes. Each call is held
 * against its run's and task's budgets before it is made, and its usage recorded in the ledger
 * after (docs/costs.md: `baton costs`). `model: auto` chooses among the tiers of
 * `BATON_MODEL_TIERS` (docs/llm.md#model-selection).
 */
import { ValidationError } from '../core/errors.ts';
import { TIERS, type ModelTiers } from '../core/model-choice.ts';
import { llmHandler, tiersProblems } from '../executors/llm/index.ts';
import type { BatonConfig } from '../runtime/config.ts';
import { readExpertise } from '../runtime/expertise.ts';
import type { TaskContext, TaskHandler } from '../runtime/worker.ts';

/** Output tokens a call may write when its task does not set `maxTokens`. */
const MAX_TOKENS = 4096;

const TIERS_EXAMPLE =
  "BATON_MODEL_TIERS='strong=anthropic:claude-opus-4-1,balanced=anthropic:claude-sonnet-4-5,fast=anthropic:claude-haiku-4-5'";

/**
 * The model tiers of `model: auto`, from `BATON_MODEL_TIERS`: `strong=<model>,balanced=<model>,
 * fast=<model>`, or the same as a JSON object. Undefined when it is not set.
 *
 * @throws ValidationError naming BATON_MODEL_TIERS (and the tier) when it cannot be read, a tier
 *   is missing or unknown, or a model id is not a concrete one.
 */
export function resolveModelTiers(env: NodeJS.ProcessEnv): ModelTiers | undefined {
  const text = env['BATON_MODEL_TIERS']?.trim();
  if (text === undefined || text === '') return undefined;
  let value: unknown;
  if (text.startsWith('{')) {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ValidationError([
        {
          path: 'BATON_MODEL_TIERS',
          message: `is not JSON (${(error as Error).message}); write it as ${TIERS_EXAMPLE}`,
        },
      ]);
    }
  } else {
    const tiers: Record<string, string> = {};
    for (const part of text.split(',')) {
      const eq = part.indexOf('=');
      if (eq === -1) {
        throw new ValidationError([
          {
            path: 'BATON_MODEL_TIERS',
            message: `'${part.trim()}' is not <tier>=<model>; write it as ${TIERS_EXAMPLE}`,
          },
        ]);
      }
      tiers[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
    value = tiers;
  }
  const problems = tiersProblems(value, 'BATON_MODEL_TIERS');
  if (problems.length > 0) throw new ValidationError(problems);
  return value as ModelTiers;
}

/** What a caller (a config file) may set besides the environment. */
export interface CliLlmOptions {
  /**
   * The model tiers of `model: auto` (a config file's `cost: { tiers }`), checked as the handler
   * checks them. @default from `BATON_MODEL_TIERS`
   */
  tiers?: ModelTiers;
  /**
   * The config file (docs/config.md): its `cost.tiers` where the environment sets none, and with
   * `learning.enabled`, a task whose payload names a `domain` gets that domain's expertise
   * (`.baton/expertise/<domain>.yaml` of the working directory's repository) at the top of its
   * system prompt (docs/agents.md#expertise). @default none
   */
  config?: BatonConfig;
}

/**
 * The tiers of `model: auto` for the CLI's agents: `BATON_MODEL_TIERS`, else the config file's
 * `cost.tiers` when it names all three (a file may name only `fast`, for the learn step).
 * @throws ValidationError as {@link resolveModelTiers}.
 */
export function cliModelTiers(
  env: NodeJS.ProcessEnv,
  config: BatonConfig | undefined,
): ModelTiers | undefined {
  const fromEnv = resolveModelTiers(env);
  if (fromEnv !== undefined || config === undefined) return fromEnv;
  const { tiers } = config.cost;
  return TIERS.every((tier) => typeof tiers[tier] === 'string') ? (tiers as ModelTiers) : undefined;
}

/**
 * The CLI's `llm` handler.
 * @throws ValidationError naming BATON_MODEL_TIERS when it is malformed; TypeError (from
 *   llmHandler) when `options.tiers` is.
 */
export function cliLlmHandler(env: NodeJS.ProcessEnv, options: CliLlmOptions = {}): TaskHandler {
  const tiers = options.tiers ?? cliModelTiers(env, options.config);
  const call = llmHandler<TaskContext>({
    env,
    maxTokens: MAX_TOKENS,
    ...(tiers === undefined ? {} : { tiers }),
    onText: (chunk, ctx) => ctx.log.write('stdout', chunk),
    onWarning: (warning, ctx) => ctx.log.warn(`model call warning: ${warning}`),
    // The call's worst case, held once its model is known (auto's choice included): a budget
    // that cannot take it fails the task with BATON_BUDGET_EXCEEDED before any request is sent.
    // A hold the call did not settle (it failed before reporting usage) is given back when the
    // handler returns.
    beforeCall: async (call, ctx) => {
      await ctx.costs.reserveCall(call);
    },
    // Priced and recorded against the attempt; settles the reservation made above.
    onUsage: async (usage, ctx) => {
      await ctx.costs.record(usage);
    },
  });
  const learning = options.config?.learning;
  if (learning?.enabled !== true) return call;
  return async (ctx) => call(await withExpertise(ctx, learning));
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
