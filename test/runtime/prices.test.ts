/**
 * Pricing a model call (runtime/prices.ts, core/pricing.ts): the provider's reported cost wins,
 * then the user's `prices`, then the maintained table (@pydantic/genai-prices, its real data),
 * else the call is `unpriced` at $0. Worst cases for budgets come from the same prices.
 */
import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../src/core/errors.ts';
import { checkPrices } from '../../src/core/pricing.ts';
import { Prices } from '../../src/runtime/prices.ts';

const sonnet = { provider: 'anthropic', model: 'claude-sonnet-4-5' };

describe('pricing a call', () => {
  it('says when the tokens were worked out (partial, estimate), at the same price; a reported cost still wins', async () => {
    const prices = new Prices({ 'vllm:*': { inputMtok: 1, outputMtok: 2 } });
    const usage = { ...sonnet, inputTokens: 100_000, outputTokens: 10_000 };
    const table = await prices.price(usage);
    expect(await prices.price({ ...usage, basis: 'partial' })).toEqual({
      costUsd: table.costUsd,
      costBasis: 'partial',
    });
    const local = { provider: 'vllm', model: 'q', inputTokens: 1000, outputTokens: 0 };
    expect(await prices.price({ ...local, basis: 'estimate' })).toEqual({
      costUsd: 0.001,
      costBasis: 'estimate',
    });
    expect(await prices.price({ ...usage, basis: 'partial', costUsd: 0.5 })).toEqual({
      costUsd: 0.5,
      costBasis: 'provider',
    });
  });

  it('prices from the maintained table: input, output, cache reads and writes at their rates', async () => {
    const prices = new Prices();
    // claude-sonnet-4-5: $3 in, $15 out, $0.30 cache read, $3.75 cache write per million tokens.
    const plain = await prices.price({ ...sonnet, inputTokens: 100_000, outputTokens: 10_000 });
    expect(plain.costBasis).toBe('table');
    expect(plain.costUsd).toBeCloseTo(0.3 + 0.15, 12);
    // Over 200k input tokens the table's long-context tier applies: $6 in, $22.50 out.
    expect(
      await prices.price({ ...sonnet, inputTokens: 1_000_000, outputTokens: 100_000 }),
    ).toEqual({ costUsd: 6 + 2.25, costBasis: 'table' });
    const cached = await prices.price({
      ...sonnet,
      inputTokens: 1000,
      cacheReadTokens: 500,
      cacheWriteTokens: 100,
      outputTokens: 200,
    });
    expect(cached.costBasis).toBe('table');
    expect(cached.costUsd).toBeCloseTo((400 * 3 + 500 * 0.3 + 100 * 3.75 + 200 * 15) / 1e6, 12);
    const mini = await prices.price({
      provider: 'openai',
      model: 'gpt-4.1-mini',
      inputTokens: 1_000_000,
      outputTokens: 1_000_000,
    });
    expect(mini).toEqual({ costUsd: 2, costBasis: 'table' });
  });

  it("the provider's reported cost wins over the user's price and the table", async () => {
    const prices = new Prices({ 'anthropic:claude-sonnet-4-5': { inputMtok: 1, outputMtok: 1 } });
    expect(
      await prices.price({ ...sonnet, inputTokens: 1000, outputTokens: 10, costUsd: 0.0421 }),
    ).toEqual({ costUsd: 0.0421, costBasis: 'provider' });
  });

  it("the user's price overrides the table, and extends it to models it lacks", async () => {
    const prices = new Prices({
      'anthropic:claude-sonnet-4-5': { inputMtok: 1, outputMtok: 2, cacheReadMtok: 0.1 },
      'vllm:qwen3-32b': { inputMtok: 0.05, outputMtok: 0.2 },
      'ollama:*': { inputMtok: 0, outputMtok: 0 },
      'ollama:special': { inputMtok: 10, outputMtok: 10 },
    });
    expect(
      await prices.price({
        ...sonnet,
        inputTokens: 2_000_000,
        cacheReadTokens: 1_000_000,
        outputTokens: 1_000_000,
      }),
    ).toEqual({ costUsd: 1 + 0.1 + 2, costBasis: 'override' });
    expect(
      await prices.price({
        provider: 'vllm',
        model: 'qwen3-32b',
        inputTokens: 1_000_000,
        outputTokens: 1_000_000,
      }),
    ).toEqual({ costUsd: 0.25, costBasis: 'override' });
    expect(
      await prices.price({ provider: 'ollama', model: 'llama3', inputTokens: 5, outputTokens: 5 }),
      'provider:* covers every model of the provider',
    ).toEqual({ costUsd: 0, costBasis: 'override' });
    expect(
      (
        await prices.price({
          provider: 'ollama',
          model: 'special',
          inputTokens: 1_000_000,
          outputTokens: 0,
        })
      ).costUsd,
      'an exact entry beats the provider:*',
    ).toBe(10);
  });

  it('a model no price is known for is recorded at $0, basis unpriced', async () => {
    expect(
      await new Prices().price({
        provider: 'vllm',
        model: 'mystery',
        inputTokens: 9,
        outputTokens: 9,
      }),
    ).toEqual({ costUsd: 0, costBasis: 'unpriced' });
  });

  it('a worst case is every input token at the dearest input rate, and all of maxTokens', async () => {
    const prices = new Prices({
      'vllm:qwen3-32b': { inputMtok: 1, outputMtok: 4, cacheWriteMtok: 2 },
    });
    expect(
      await prices.worstCaseUsd({ ...sonnet, inputTokens: 100_000, maxOutputTokens: 10_000 }),
    ).toBeCloseTo((100_000 * 3.75 + 10_000 * 15) / 1e6, 12);
    expect(
      await prices.worstCaseUsd({
        provider: 'vllm',
        model: 'qwen3-32b',
        inputTokens: 1_000_000,
        maxOutputTokens: 1_000_000,
      }),
    ).toBe(6);
    expect(
      await prices.worstCaseUsd({
        provider: 'vllm',
        model: 'mystery',
        inputTokens: 1,
        maxOutputTokens: 1,
      }),
      'unknown',
    ).toBeNull();
  });

  it('refuses malformed prices with a ValidationError naming the entry and field', () => {
    const issues = (value: unknown): string[] => {
      try {
        checkPrices(value);
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
      }
      return [];
    };
    expect(issues([1])[0]).toMatch(/^prices: must be an object of prices by 'provider:model'/);
    expect(issues({ 'gpt-4o': { inputMtok: 1, outputMtok: 1 } })[0]).toContain(
      "'gpt-4o' is not a model: write 'provider:model'",
    );
    expect(issues({ 'openai:x': { inputMtok: -1, outputMtok: 1 } })).toEqual([
      'prices["openai:x"].inputMtok: must be a price in USD per million tokens, from 0 to 100000; got the number -1',
    ]);
    expect(issues({ 'openai:x': { inputMtok: 1 } })[0]).toMatch(/outputMtok: must be a price/);
    expect(issues({ 'openai:x': { inputMtok: 1, outputMtok: 1, inputMTok: 2 } })[0]).toMatch(
      /inputMTok: unknown field/,
    );
    expect(() => new Prices({ 'openai:x': 'cheap' } as never)).toThrow(ValidationError);
    expect(issues({ 'openai:x': { inputMtok: 1, outputMtok: 1 } })).toEqual([]);
  });
});
