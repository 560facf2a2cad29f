/** `BATON_MODEL_TIERS`, read by the CLI's agents for `model: auto` (docs/llm.md#model-selection). */
import { describe, expect, it } from 'vitest';

import { resolveModelTiers } from '../../src/cli/llm.ts';
import { ValidationError } from '../../src/core/errors.ts';

const TIERS = {
  strong: 'anthropic:claude-opus-4-1',
  balanced: 'anthropic:claude-sonnet-4-5',
  fast: 'openai-compatible:ollama:llama3.1:8b',
};

function refusal(value: string): ValidationError {
  try {
    resolveModelTiers({ BATON_MODEL_TIERS: value });
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`BATON_MODEL_TIERS=${value} was accepted`);
}

describe('BATON_MODEL_TIERS', () => {
  it('reads tier=model pairs or a JSON object; unset or empty is no tiers', () => {
    expect(
      resolveModelTiers({
        BATON_MODEL_TIERS: ` strong=${TIERS.strong}, balanced = ${TIERS.balanced},fast=${TIERS.fast} `,
      }),
    ).toEqual(TIERS);
    expect(resolveModelTiers({ BATON_MODEL_TIERS: JSON.stringify(TIERS) })).toEqual(TIERS);
    expect(resolveModelTiers({})).toBeUndefined();
    expect(resolveModelTiers({ BATON_MODEL_TIERS: '  ' })).toBeUndefined();
  });

  it('names each problem at its tier: missing, unknown, not a model id, auto', () => {
    const error = refusal('strong=claude-opus-4-1,balanced=auto,huge=anthropic:x');
    expect(error.issues).toEqual([
      { path: 'BATON_MODEL_TIERS', message: expect.stringContaining("'huge' is not a tier") },
      {
        path: 'BATON_MODEL_TIERS.strong',
        message: expect.stringContaining("did you mean 'anthropic:claude-opus-4-1'?"),
      },
      { path: 'BATON_MODEL_TIERS.balanced', message: 'must be a concrete model id, not auto' },
      {
        path: 'BATON_MODEL_TIERS.fast',
        message: 'is missing: give every tier (strong, balanced, fast) a model id',
      },
    ]);
  });

  it('refuses text that is neither pairs nor JSON, saying how to write it', () => {
    expect(refusal('opus').issues[0]!.message).toContain(
      "'opus' is not <tier>=<model>; write it as BATON_MODEL_TIERS='strong=anthropic:claude-opus-4-1,",
    );
    expect(refusal('{"strong":').issues[0]!.message).toMatch(/^is not JSON/);
  });
});
