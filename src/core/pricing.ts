/**
 * Prices a user sets (the `prices` option, docs/costs.md): per model, in USD per million tokens,
 * overriding or extending the maintained table (`@pydantic/genai-prices`, read by
 * `runtime/prices.ts`). Pure: checking the option and the arithmetic of a price.
 *
 * ```ts
 * prices: {
 *   'openai:gpt-4.1-mini': { inputMtok: 0.3, outputMtok: 1.2 },   // a negotiated rate
 *   'vllm:qwen3-32b': { inputMtok: 0.05, outputMtok: 0.2 },     // a model the table lacks
 *   'ollama:*': { inputMtok: 0, outputMtok: 0 },                 // every model of a provider
 * }
 * ```
 */
import { ValidationError, type ValidationIssue } from './errors.ts';
import { describeValue } from './text.ts';
import type { ModelUsage } from './ledger.ts';

/** A model's price in USD per million tokens. */
export interface ModelPrice {
  /** Input tokens not read from or written to a prompt cache. */
  inputMtok: number;
  /** Output tokens, reasoning included. */
  outputMtok: number;
  /** Input tokens read from a prompt cache. @default inputMtok */
  cacheReadMtok?: number;
  /** Input tokens written to a prompt cache. @default inputMtok */
  cacheWriteMtok?: number;
}

/**
 * Prices by `provider:model`, or `provider:*` for every model of a provider (an exact entry
 * wins over the provider's `*`).
 */
export type PriceOverrides = Readonly<Record<string, ModelPrice>>;

const PRICE_FIELDS = ['inputMtok', 'outputMtok', 'cacheReadMtok', 'cacheWriteMtok'] as const;
/** Largest price per million tokens accepted, in USD. */
const MAX_PRICE_MTOK = 100_000;

/**
 * Check a `prices` option: an object of `provider:model` (or `provider:*`) keys, each a
 * {@link ModelPrice} of numbers from 0 to 100,000. Returns it as given.
 *
 * @throws ValidationError naming each wrong entry and field.
 */
export function checkPrices(value: unknown, path = 'prices'): PriceOverrides {
  const issues: ValidationIssue[] = [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError([
      {
        path,
        message: `must be an object of prices by 'provider:model', e.g. { 'openai:gpt-4.1-mini': { inputMtok: 0.4, outputMtok: 1.6 } }; got ${describeValue(value)}`,
      },
    ]);
  }
  for (const [key, price] of Object.entries(value as Record<string, unknown>)) {
    const at = `${path}[${JSON.stringify(key)}]`;
    if (!/^[^:\s]+:\S+$/.test(key)) {
      issues.push({
        path: at,
        message: `'${key}' is not a model: write 'provider:model' (e.g. 'anthropic:claude-sonnet-4-5') or 'provider:*'`,
      });
    }
    if (price === null || typeof price !== 'object' || Array.isArray(price)) {
      issues.push({
        path: at,
        message: `must be { inputMtok, outputMtok, cacheReadMtok?, cacheWriteMtok? } in USD per million tokens; got ${describeValue(price)}`,
      });
      continue;
    }
    for (const field of Object.keys(price)) {
      if (!(PRICE_FIELDS as readonly string[]).includes(field)) {
        issues.push({
          path: `${at}.${field}`,
          message: `unknown field; a price has ${PRICE_FIELDS.join(', ')}`,
        });
      }
    }
    for (const field of PRICE_FIELDS) {
      const n = (price as Record<string, unknown>)[field];
      const required = field === 'inputMtok' || field === 'outputMtok';
      if (n === undefined && !required) continue;
      if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > MAX_PRICE_MTOK) {
        issues.push({
          path: `${at}.${field}`,
          message: `must be a price in USD per million tokens, from 0 to ${MAX_PRICE_MTOK}; got ${describeValue(n)}`,
        });
      }
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return value as PriceOverrides;
}

/** The override for a model: its exact entry, else its provider's `*`, else none. */
export function overrideFor(
  prices: PriceOverrides,
  provider: string,
  model: string,
): ModelPrice | undefined {
  return prices[`${provider}:${model}`] ?? prices[`${provider}:*`];
}

/** What a call with this usage costs at `price`, in USD. */
export function costAt(price: ModelPrice, usage: ModelUsage): number {
  const cacheRead = usage.cacheReadTokens ?? 0;
  const cacheWrite = usage.cacheWriteTokens ?? 0;
  const uncached = Math.max(0, usage.inputTokens - cacheRead - cacheWrite);
  return (
    (uncached * price.inputMtok +
      cacheRead * (price.cacheReadMtok ?? price.inputMtok) +
      cacheWrite * (price.cacheWriteMtok ?? price.inputMtok) +
      usage.outputTokens * price.outputMtok) /
    1_000_000
  );
}

/**
 * The most a call can cost at `price`: every input token at the dearer of the input and
 * cache-write rates, and `maxOutputTokens` of output.
 */
export function worstCaseAt(price: ModelPrice, inputTokens: number, maxOutputTokens: number) {
  const input = Math.max(price.inputMtok, price.cacheWriteMtok ?? 0);
  return (inputTokens * input + maxOutputTokens * price.outputMtok) / 1_000_000;
}
