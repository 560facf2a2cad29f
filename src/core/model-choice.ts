/**
 * Cost-aware model selection for `model: auto` (seed 004 §5): which tier of model an `llm` task
 * gets. Pure: the caller reads the task, the type's history per tier and the run's budget, and
 * records the choice with its reason (`task.model_selected`).
 *
 * The rule, in order (docs/llm.md):
 * 1. **complexity**: the task's own `complexity`, else a keyword score of its title and prompt
 *    (security or migration work is high, documentation is low): high → strong, medium →
 *    balanced, low → fast;
 * 2. **critical** priority always gets strong;
 * 3. **history** (not for critical tasks): with at least `minRuns` finished attempts of this
 *    task type on the next cheaper tier and a success rate of at least `cheaperSuccessRate`
 *    there, the cheaper tier; a task on the fast tier that has proved worse than that there
 *    moves up to balanced;
 * 4. **retry**: an attempt after a failure on a tier below strong moves up one tier from it;
 * 5. **budget**: when less than `budgetLowFraction` of the run's budget is left, the fast tier,
 *    whatever came before: the money is not there for more.
 */
import { PRIORITY_NAMES } from './priority.ts';

/** Model tiers, cheapest first. */
export const TIERS = ['fast', 'balanced', 'strong'] as const;
export type Tier = (typeof TIERS)[number];

export const COMPLEXITIES = ['low', 'medium', 'high'] as const;
export type Complexity = (typeof COMPLEXITIES)[number];

/** A model id per tier (config `models.tiers`), e.g. `{ strong: 'anthropic:claude-opus-4-1', … }`. */
export type ModelTiers = Readonly<Record<Tier, string>>;

/** A task type's record on one tier: finished attempts and how many succeeded. */
export interface TierHistory {
  runs: number;
  succeeded: number;
}

/** The knobs of the rule. */
export interface ChoicePolicy {
  /** Finished attempts on the cheaper tier before its success rate counts. @default 10 */
  minRuns: number;
  /** Success rate on the cheaper tier that makes it good enough. @default 0.85 */
  cheaperSuccessRate: number;
  /** Below this fraction of the run's budget left, choose the fast tier. @default 0.1 */
  budgetLowFraction: number;
}

export const DEFAULT_CHOICE_POLICY: Readonly<ChoicePolicy> = Object.freeze({
  minRuns: 10,
  cheaperSuccessRate: 0.85,
  budgetLowFraction: 0.1,
});

/** What the rule looks at. */
export interface ChoiceInput {
  /** The task's declared complexity, if it has one. */
  complexity?: Complexity | undefined;
  /** Text scored for complexity when none is declared: the task's title and prompt. */
  text: string;
  /** The task's priority number (1 is `critical`). */
  priority: number;
  /** The task type's record on a tier; undefined when it has none. */
  history: (tier: Tier) => TierHistory | undefined;
  /** The tier of the attempt before this one, when it failed. */
  failedOn?: Tier | undefined;
  /** The run's budget and what is spent or reserved of it, in USD; undefined: no budget. */
  budget?: { limitUsd: number; usedUsd: number } | undefined;
}

/** The choice, with why. */
export interface ModelChoice {
  tier: Tier;
  model: string;
  complexity: Complexity;
  /** Whether the task declared its complexity or the keywords decided it. */
  complexityFrom: 'task' | 'keywords';
  /** Each step that decided or moved the tier, in order, for `task.model_selected`. */
  reasons: string[];
}

/** Keywords that make work high or low complexity (seed 004 §5.3). Whole words, any case. */
const HIGH_WORDS = [
  'security',
  'secure',
  'vulnerability',
  'auth',
  'authentication',
  'authorization',
  'migration',
  'migrate',
  'architecture',
  'concurrency',
  'race',
  'cryptography',
  'encryption',
  'refactor',
  'distributed',
  'performance',
  'optimize',
  'payment',
  'billing',
];
const LOW_WORDS = [
  'documentation',
  'docs',
  'readme',
  'comment',
  'comments',
  'typo',
  'rename',
  'format',
  'formatting',
  'lint',
  'changelog',
  'summarize',
  'summary',
  'translate',
  'list',
];

/**
 * The complexity the keywords give `text`: high when it names more high-complexity work than
 * low, low when the reverse, medium on a tie (including none).
 */
export function complexityOf(text: string): Complexity {
  let score = 0;
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
    if (HIGH_WORDS.includes(word)) score++;
    else if (LOW_WORDS.includes(word)) score--;
  }
  return score > 0 ? 'high' : score < 0 ? 'low' : 'medium';
}

const BY_COMPLEXITY: Readonly<Record<Complexity, Tier>> = {
  high: 'strong',
  medium: 'balanced',
  low: 'fast',
};

function rate(h: TierHistory | undefined, policy: ChoicePolicy): number | null {
  if (!h || h.runs < policy.minRuns) return null;
  return h.succeeded / h.runs;
}

const up = (tier: Tier): Tier => TIERS[Math.min(TIERS.length - 1, TIERS.indexOf(tier) + 1)]!;
const down = (tier: Tier): Tier => TIERS[Math.max(0, TIERS.indexOf(tier) - 1)]!;

/** Choose the tier and model for a `model: auto` task (see the module comment for the rule). */
export function chooseModel(
  input: ChoiceInput,
  tiers: ModelTiers,
  policy: ChoicePolicy = DEFAULT_CHOICE_POLICY,
): ModelChoice {
  const reasons: string[] = [];
  const complexity = input.complexity ?? complexityOf(input.text);
  const complexityFrom = input.complexity === undefined ? 'keywords' : 'task';
  let tier = BY_COMPLEXITY[complexity];
  reasons.push(
    `${complexity} complexity (${complexityFrom === 'task' ? 'declared' : 'keywords'}): ${tier}`,
  );

  if (input.priority <= PRIORITY_NAMES.critical) {
    if (tier !== 'strong') reasons.push('critical priority: strong');
    tier = 'strong';
  } else {
    const pct = (r: number): string => `${Math.round(r * 100)}%`;
    const cheaper = down(tier);
    const cheaperRate = cheaper === tier ? null : rate(input.history(cheaper), policy);
    const ownRate = rate(input.history(tier), policy);
    if (cheaperRate !== null && cheaperRate >= policy.cheaperSuccessRate) {
      reasons.push(`${cheaper} succeeded ${pct(cheaperRate)} of this type's runs: ${cheaper}`);
      tier = cheaper;
    } else if (tier === 'fast' && ownRate !== null && ownRate < policy.cheaperSuccessRate) {
      reasons.push(`fast succeeded only ${pct(ownRate)} of this type's runs: balanced`);
      tier = 'balanced';
    }
  }

  if (input.failedOn !== undefined && input.failedOn !== 'strong') {
    const next = up(input.failedOn);
    if (TIERS.indexOf(next) > TIERS.indexOf(tier)) {
      reasons.push(`the last attempt failed on ${input.failedOn}: ${next}`);
      tier = next;
    }
  }

  const budget = input.budget;
  if (budget !== undefined && budget.limitUsd > 0) {
    const left = (budget.limitUsd - budget.usedUsd) / budget.limitUsd;
    if (left < policy.budgetLowFraction && tier !== 'fast') {
      reasons.push(
        `${Math.max(0, Math.round(left * 100))}% of the run's budget left (under ${Math.round(policy.budgetLowFraction * 100)}%): fast`,
      );
      tier = 'fast';
    }
  }
  return { tier, model: tiers[tier], complexity, complexityFrom, reasons };
}
