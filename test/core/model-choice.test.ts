import { describe, expect, it } from 'vitest';
import {
  chooseModel,
  complexityOf,
  DEFAULT_CHOICE_POLICY,
  type ChoiceInput,
  type Tier,
  type TierHistory,
} from '../../src/core/model-choice.ts';

const tiers = { strong: 'p:strong', balanced: 'p:balanced', fast: 'p:fast' };
const MIN = DEFAULT_CHOICE_POLICY.minRuns;

function input(over: Partial<ChoiceInput> = {}): ChoiceInput {
  return { text: '', priority: 3, history: () => undefined, ...over };
}

function historyOf(records: Partial<Record<Tier, TierHistory>>): ChoiceInput['history'] {
  return (tier) => records[tier];
}

describe('complexityOf: keywords of the title and prompt', () => {
  it('security or migration work is high, documentation is low, else medium', () => {
    expect(complexityOf('Fix the auth security hole')).toBe('high');
    expect(complexityOf('Write the database migration')).toBe('high');
    expect(complexityOf('Update the README documentation')).toBe('low');
    expect(complexityOf('Add a button')).toBe('medium');
    expect(complexityOf('')).toBe('medium');
  });

  it('counts whole words, in any case, and weighs high against low', () => {
    expect(complexityOf('SECURITY review')).toBe('high');
    expect(complexityOf('insecurity of docstrings')).toBe('medium');
    expect(complexityOf('document the security migration in the docs')).toBe('high');
    expect(complexityOf('docs for the security page, a typo')).toBe('low');
  });
});

describe('chooseModel', () => {
  it('by complexity: high → strong, medium → balanced, low → fast; declared beats keywords', () => {
    expect(chooseModel(input({ complexity: 'high' }), tiers)).toMatchObject({
      tier: 'strong',
      model: 'p:strong',
      complexityFrom: 'task',
    });
    expect(chooseModel(input({ text: 'add a button' }), tiers).tier).toBe('balanced');
    expect(chooseModel(input({ text: 'fix a typo in the docs' }), tiers)).toMatchObject({
      tier: 'fast',
      complexity: 'low',
      complexityFrom: 'keywords',
    });
    expect(chooseModel(input({ text: 'security', complexity: 'low' }), tiers).tier).toBe('fast');
  });

  it('critical priority always gets strong, whatever the history says', () => {
    const history = historyOf({ fast: { runs: 100, succeeded: 100 } });
    const choice = chooseModel(input({ complexity: 'low', priority: 1, history }), tiers);
    expect(choice.tier).toBe('strong');
    expect(choice.reasons).toContain('critical priority: strong');
  });

  it('a cheaper tier with enough runs at ≥ 85% success takes the task', () => {
    const good = historyOf({ fast: { runs: MIN, succeeded: Math.ceil(MIN * 0.85) } });
    expect(chooseModel(input({ complexity: 'medium', history: good }), tiers).tier).toBe('fast');
    const strongTask = historyOf({ balanced: { runs: 40, succeeded: 38 } });
    expect(chooseModel(input({ complexity: 'high', history: strongTask }), tiers).tier).toBe(
      'balanced',
    );
  });

  it('too few runs, or a rate under 85%, keeps the tier', () => {
    const few = historyOf({ fast: { runs: MIN - 1, succeeded: MIN - 1 } });
    expect(chooseModel(input({ complexity: 'medium', history: few }), tiers).tier).toBe('balanced');
    const poor = historyOf({ fast: { runs: 100, succeeded: 84 } });
    expect(chooseModel(input({ complexity: 'medium', history: poor }), tiers).tier).toBe(
      'balanced',
    );
  });

  it('a low task whose fast tier has proved poor moves up to balanced', () => {
    const poor = historyOf({ fast: { runs: 20, succeeded: 10 } });
    const choice = chooseModel(input({ complexity: 'low', history: poor }), tiers);
    expect(choice.tier).toBe('balanced');
    expect(choice.reasons.at(-1)).toBe("fast succeeded only 50% of this type's runs: balanced");
  });

  it('a retry after a failure on a cheaper tier moves up one tier', () => {
    expect(chooseModel(input({ complexity: 'low', failedOn: 'fast' }), tiers).tier).toBe(
      'balanced',
    );
    expect(chooseModel(input({ complexity: 'low', failedOn: 'balanced' }), tiers).tier).toBe(
      'strong',
    );
    // Never down: a failure on fast does not move a strong task.
    expect(chooseModel(input({ complexity: 'high', failedOn: 'fast' }), tiers).tier).toBe('strong');
  });

  it('under 10% of the budget left, the fast tier, even for critical work', () => {
    const low = { limitUsd: 10, usedUsd: 9.5 };
    const choice = chooseModel(input({ complexity: 'high', priority: 1, budget: low }), tiers);
    expect(choice.tier).toBe('fast');
    expect(choice.reasons.at(-1)).toBe("5% of the run's budget left (under 10%): fast");
    const fine = { limitUsd: 10, usedUsd: 8.9 };
    expect(chooseModel(input({ complexity: 'high', budget: fine }), tiers).tier).toBe('strong');
  });

  it('every step that moved the tier is a reason, in order', () => {
    const history = historyOf({ fast: { runs: 50, succeeded: 50 } });
    const choice = chooseModel(
      input({
        text: 'rename a variable',
        history,
        failedOn: 'fast',
        budget: { limitUsd: 1, usedUsd: 0 },
      }),
      tiers,
    );
    expect(choice.reasons).toEqual([
      'low complexity (keywords): fast',
      'the last attempt failed on fast: balanced',
    ]);
  });
});
