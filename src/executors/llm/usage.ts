/**
 * One model call's usage, in the same shape whatever the provider: what the ledger records and
 * budgets settle against (docs/llm.md).
 */
import type { LanguageModelUsage } from 'ai';

/**
 * The tokens (and, when the provider says, the cost) of one model call.
 *
 * `inputTokens` counts every input token, those read from or written to a prompt cache included;
 * `cacheReadTokens` and `cacheWriteTokens` are the parts of it that were. (Anthropic reports the
 * three apart; OpenAI's `prompt_tokens` already includes its cached tokens. Both come out alike.)
 * `outputTokens` counts every output token, `reasoningTokens` the part that was reasoning.
 */
export interface LlmUsage {
  /** `anthropic`, `openai`, or the OpenAI-compatible server's name. */
  provider: string;
  /** The model's name at its provider, as the task asked for it (`claude-sonnet-4-5`). */
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  /**
   * The cost in USD as the provider reported it (some OpenAI-compatible gateways send
   * `usage.cost`); absent when it did not, and the ledger prices the tokens itself.
   */
  costUsd?: number;
}

/** The AI SDK's usage of a finished call as an {@link LlmUsage}; null when the provider sent none. */
export function normalizeUsage(
  provider: string,
  model: string,
  usage: LanguageModelUsage | undefined,
): LlmUsage | null {
  if (
    usage === undefined ||
    (usage.inputTokens === undefined && usage.outputTokens === undefined)
  ) {
    return null;
  }
  const out: LlmUsage = {
    provider,
    model,
    inputTokens: count(usage.inputTokens),
    outputTokens: count(usage.outputTokens),
    cacheReadTokens: count(usage.inputTokenDetails?.cacheReadTokens ?? usage.cachedInputTokens),
    cacheWriteTokens: count(usage.inputTokenDetails?.cacheWriteTokens),
    reasoningTokens: count(usage.outputTokenDetails?.reasoningTokens ?? usage.reasoningTokens),
  };
  const cost = (usage.raw as { cost?: unknown } | undefined)?.cost;
  if (typeof cost === 'number' && Number.isFinite(cost) && cost >= 0) out.costUsd = cost;
  return out;
}

function count(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : 0;
}
