/**
 * Pricing a model call (docs/costs.md), in this order:
 * 1. the cost the provider (or an agent CLI) reported with the call: it wins over any table;
 * 2. the user's own price for the model (the `prices` option, `core/pricing.ts`);
 * 3. the maintained price table, `@pydantic/genai-prices` (its bundled data, tiered prices and
 *    cache rates included), loaded on first use: it is large, and most processes never price;
 * 4. none known: $0, basis `unpriced`, so the call is still counted.
 *
 * The record says which basis priced it.
 */
import type { calcPrice } from '@pydantic/genai-prices';

import type { ModelUsage, CostBasis } from '../core/ledger.ts';
import {
  checkPrices,
  costAt,
  overrideFor,
  worstCaseAt,
  type PriceOverrides,
} from '../core/pricing.ts';

/** What is used of the table: a type-only import, so loading this module does not load it. */
type PriceTable = { calcPrice: typeof calcPrice };

let table: Promise<PriceTable> | undefined;

/** The price table, imported once per process on first use. */
function priceTable(): Promise<PriceTable> {
  table ??= import('@pydantic/genai-prices');
  return table;
}

/** A call's cost and where it came from. */
export interface Priced {
  costUsd: number;
  costBasis: CostBasis;
}

/** The worst case of a call before it is made (see {@link Prices.worstCaseUsd}). */
export interface CallEstimate {
  provider: string;
  model: string;
  /** Input tokens the request will carry (an estimate: count generously). */
  inputTokens: number;
  /** The most output tokens the request allows (its `maxTokens`). */
  maxOutputTokens: number;
}

export class Prices {
  readonly #overrides: PriceOverrides;

  /** @throws ValidationError naming each malformed entry of `overrides`. */
  constructor(overrides: PriceOverrides = {}) {
    this.#overrides = checkPrices(overrides);
  }

  /** What a call cost, and on which basis. */
  async price(usage: ModelUsage): Promise<Priced> {
    if (usage.costUsd !== undefined) return { costUsd: usage.costUsd, costBasis: 'provider' };
    const priced = await this.#price(usage);
    // Tokens partly worked out say so, whichever price they were charged at.
    return usage.basis === undefined ? priced : { ...priced, costBasis: usage.basis };
  }

  async #price(usage: ModelUsage): Promise<Priced> {
    const override = overrideFor(this.#overrides, usage.provider, usage.model);
    if (override) return { costUsd: costAt(override, usage), costBasis: 'override' };
    const { calcPrice } = await priceTable();
    const found = calcPrice(
      {
        input_tokens: usage.inputTokens,
        output_tokens: usage.outputTokens,
        cache_read_tokens: usage.cacheReadTokens ?? 0,
        cache_write_tokens: usage.cacheWriteTokens ?? 0,
      },
      usage.model,
      { providerId: usage.provider },
    );
    if (found === null) return { costUsd: 0, costBasis: 'unpriced' };
    return { costUsd: found.total_price, costBasis: 'table' };
  }

  /**
   * The most a call can cost: every input token at the dearer of the input and cache-write
   * rates, and all of `maxOutputTokens`; null when no price is known for the model.
   */
  async worstCaseUsd(call: CallEstimate): Promise<number | null> {
    const override = overrideFor(this.#overrides, call.provider, call.model);
    if (override) return worstCaseAt(override, call.inputTokens, call.maxOutputTokens);
    const { calcPrice } = await priceTable();
    const options = { providerId: call.provider };
    const plain = calcPrice(
      { input_tokens: call.inputTokens, output_tokens: call.maxOutputTokens },
      call.model,
      options,
    );
    if (plain === null) return null;
    const cached = calcPrice(
      {
        input_tokens: call.inputTokens,
        cache_write_tokens: call.inputTokens,
        output_tokens: call.maxOutputTokens,
      },
      call.model,
      options,
    );
    return Math.max(plain.total_price, cached?.total_price ?? 0);
  }
}
