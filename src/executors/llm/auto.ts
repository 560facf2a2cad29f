/**
 * `model: auto` (docs/llm.md#model-selection): the model tiers a worker is configured with, and
 * the selection an `llm` task's attempt makes among them. The rule itself is pure
 * (`core/model-choice.ts`); this module reads what it looks at — the task's complexity, title,
 * prompt and priority, the run's budget, the history of the task's type on each tier's model,
 * the tier of a failed attempt before this one — and records the choice on the attempt with its
 * reason (a `task.model_selected` event, and a line in the task's log).
 */
import { NonRetryableError } from '../../core/errors.ts';
import { parseModelId, type LlmPayload } from '../../core/llm.ts';
import {
  DEFAULT_CHOICE_POLICY,
  TIERS,
  chooseModel,
  complexityOf,
  type ChoicePolicy,
  type Complexity,
  type ModelTiers,
  type Tier,
  type TierHistory,
} from '../../core/model-choice.ts';
import { describeValue, didYouMean } from '../../core/text.ts';
import type { TaskContext } from '../../runtime/worker.ts';

/** What model selection needs of a worker's task context. */
export type SelectionContext = Pick<TaskContext, 'task' | 'attempt' | 'costs' | 'log'>;

/** A model chosen for an attempt. */
export interface SelectedModel {
  model: string;
  tier: Tier;
  complexity: Complexity;
  reason: string;
}

/**
 * Check a `tiers` option: an object with a concrete model id (`anthropic:…`, `openai:…`,
 * `openai-compatible:<name>:…`) for each of `strong`, `balanced` and `fast`, and nothing else.
 * @param where how to name the option in messages, e.g. `tiers` or `BATON_MODEL_TIERS`
 * @returns the problems, each at its tier (`<where>.strong`); empty when the tiers are good.
 */
export function tiersProblems(tiers: unknown, where: string): { path: string; message: string }[] {
  if (tiers === null || typeof tiers !== 'object' || Array.isArray(tiers)) {
    return [
      {
        path: where,
        message: `must be an object with a model id for each tier, e.g. { strong: 'anthropic:claude-opus-4-1', balanced: 'anthropic:claude-sonnet-4-5', fast: 'anthropic:claude-haiku-4-5' }; got ${describeValue(tiers)}`,
      },
    ];
  }
  const problems: { path: string; message: string }[] = [];
  const record = tiers as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (!(TIERS as readonly string[]).includes(name)) {
      problems.push({
        path: where,
        message: `'${name}' is not a tier${didYouMean(name, TIERS)}; the tiers are strong, balanced and fast`,
      });
    }
  }
  for (const tier of [...TIERS].reverse()) {
    const path = `${where}.${tier}`;
    const model = record[tier];
    if (model === undefined) {
      problems.push({
        path,
        message: 'is missing: give every tier (strong, balanced, fast) a model id',
      });
      continue;
    }
    if (typeof model !== 'string') {
      problems.push({
        path,
        message: `must be a model id (a string); got ${describeValue(model)}`,
      });
      continue;
    }
    const ref = parseModelId(model);
    if ('error' in ref) problems.push({ path, message: ref.error });
    else if (ref.provider === 'auto') {
      problems.push({ path, message: 'must be a concrete model id, not auto' });
    }
  }
  return problems;
}

/** The policy of the rule, with the handler's overrides, checked. */
export function resolvePolicy(overrides: Partial<ChoicePolicy> | undefined): ChoicePolicy {
  const policy = { ...DEFAULT_CHOICE_POLICY, ...overrides };
  const problems: string[] = [];
  if (!Number.isSafeInteger(policy.minRuns) || policy.minRuns < 1)
    problems.push(`choice.minRuns must be a whole number ≥ 1, got ${String(policy.minRuns)}`);
  for (const name of ['cheaperSuccessRate', 'budgetLowFraction'] as const) {
    const value = policy[name];
    if (typeof value !== 'number' || !(value >= 0 && value <= 1))
      problems.push(`choice.${name} must be a number from 0 to 1, got ${String(value)}`);
  }
  if (problems.length > 0)
    throw new TypeError(`invalid llmHandler options: ${problems.join('; ')}`);
  return policy;
}

/** The complexity of a task: its own, or the keyword score of its title and prompt. */
export function taskComplexity(
  payload: LlmPayload,
  title: string | null,
): { complexity: Complexity; declared: boolean } {
  if (payload.complexity !== undefined) return { complexity: payload.complexity, declared: true };
  return { complexity: complexityOf(textOf(payload, title)), declared: false };
}

function textOf(payload: LlmPayload, title: string | null): string {
  return `${title ?? ''}\n${payload.prompt}`;
}

/** Whether `ctx` is a worker's task context, which model selection reads and records through. */
export function isSelectionContext(ctx: object): ctx is SelectionContext {
  const costs = (ctx as { costs?: unknown }).costs;
  return (
    typeof costs === 'object' &&
    costs !== null &&
    typeof (costs as { recordModelChoice?: unknown }).recordModelChoice === 'function' &&
    typeof (ctx as { log?: unknown }).log === 'function'
  );
}

/**
 * Choose the model of this attempt of a `model: auto` task, record it on the attempt with its
 * reason (`task.model_selected`), and say so in the task's log.
 * @throws NonRetryableError when `ctx` is not a worker's task context.
 */
export async function selectModel(
  payload: LlmPayload,
  ctx: SelectionContext,
  tiers: ModelTiers,
  policy: ChoicePolicy,
): Promise<SelectedModel> {
  const { complexity } = taskComplexity(payload, ctx.task.title);
  const models = TIERS.map((tier) => tiers[tier]);
  const [history, failedOn, budget] = await Promise.all([
    ctx.costs.modelHistory(complexity, [...new Set(models)]),
    ctx.costs.failedTier(),
    ctx.costs.budget(),
  ]);
  const byModel = new Map(history.map((h) => [h.model, h]));
  const choice = chooseModel(
    {
      ...(payload.complexity === undefined ? {} : { complexity: payload.complexity }),
      text: textOf(payload, ctx.task.title),
      priority: ctx.task.priority,
      history: (tier): TierHistory | undefined => byModel.get(tiers[tier]),
      failedOn,
      budget,
    },
    tiers,
    policy,
  );
  const selected: SelectedModel = {
    model: choice.model,
    tier: choice.tier,
    complexity: choice.complexity,
    reason: choice.reasons.join('; '),
  };
  await ctx.costs.recordModelChoice(selected);
  ctx.log.info(`model: ${selected.model} (tier ${selected.tier}: ${selected.reason})`);
  return selected;
}

/**
 * The budget cannot hold the worst case of the model chosen: choose the fast tier instead, and
 * record that as the attempt's choice (a second `task.model_selected`), with why.
 */
export async function downgradeToFast(
  selected: SelectedModel,
  ctx: SelectionContext,
  tiers: ModelTiers,
): Promise<SelectedModel> {
  const next: SelectedModel = {
    model: tiers.fast,
    tier: 'fast',
    complexity: selected.complexity,
    reason: `${selected.reason}; the run's or task's budget cannot hold the worst case of ${selected.model}: fast`,
  };
  await ctx.costs.recordModelChoice(next);
  ctx.log.info(`model: ${next.model} (tier ${next.tier}: ${next.reason})`);
  return next;
}

/** The error of an `auto` task on a worker whose handler has no tiers. */
export function noTiersError(): NonRetryableError {
  return new NonRetryableError(
    "model 'auto' needs model tiers, which this worker does not have: give the task a concrete model (e.g. anthropic:claude-sonnet-4-5), or configure the tiers (llmHandler's tiers option; BATON_MODEL_TIERS for the CLI's agents)",
  );
}
