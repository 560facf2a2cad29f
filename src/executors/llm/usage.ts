/**
 * One model call's usage, in the same shape whatever the provider: what the ledger records and
 * budgets settle against (docs/llm.md).
 */
import type { LanguageModelUsage } from 'ai';

import type { PartialBasis } from '../../core/ledger.ts';

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
  /**
   * Set when the call did not end cleanly and its tokens are partly worked out rather than all
   * reported ({@link partialUsage}): `partial` (input as reported, output counted from the
   * streamed text) or `estimate` (input as the reservation estimated it). The ledger records it
   * as the cost basis.
   */
  basis?: PartialBasis;
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

/**
 * What the provider said about a call's usage while it streamed, read from its raw events
 * (`streamText`'s `includeRawChunks`), so a call that dies mid-stream — cancelled, timed out, a
 * broken connection — still has the input the provider billed:
 * - Anthropic sends the input (cache reads and writes apart) in `message_start`, before any text,
 *   and the final output in `message_delta`, at the end;
 * - OpenAI (with `stream_options.include_usage`) sends all of it in the last chunk only.
 */
export class StreamUsage {
  /** True once any event of the answer arrived: the provider took the request. */
  started = false;
  /** The input as the provider reported it; undefined while it has not. */
  input: { tokens: number; cacheRead: number; cacheWrite: number } | undefined;
  /** The final output as the provider reported it; undefined while it has not. */
  output: { tokens: number; reasoning: number } | undefined;
  /** The cost as the provider reported it with its usage (some OpenAI-compatible gateways). */
  costUsd: number | undefined;
  /** UTF-8 bytes of the text (answer and reasoning) streamed so far. */
  streamedBytes = 0;

  /** Count a streamed piece of the answer (text or reasoning). */
  streamed(text: string): void {
    this.streamedBytes += Buffer.byteLength(text);
  }

  /** Read one raw event of the provider's stream (whatever it is: unknown shapes are skipped). */
  observe(raw: unknown): void {
    this.started = true;
    if (raw === null || typeof raw !== 'object') return;
    const event = raw as Record<string, unknown>;
    if (event.type === 'message_start') {
      const usage = field(field(event, 'message'), 'usage');
      if (usage !== undefined) this.#anthropicInput(usage);
      return;
    }
    if (event.type === 'message_delta') {
      const usage = field(event, 'usage');
      if (usage === undefined) return;
      if (typeof usage.input_tokens === 'number') this.#anthropicInput(usage);
      if (typeof usage.output_tokens === 'number')
        this.output = { tokens: count(usage.output_tokens), reasoning: 0 };
      return;
    }
    // OpenAI's chat.completion.chunk: `usage` is null but on the last chunk.
    const usage = field(event, 'usage');
    if (usage === undefined || typeof usage.prompt_tokens !== 'number') return;
    this.input = {
      tokens: count(usage.prompt_tokens),
      cacheRead: count(num(field(usage, 'prompt_tokens_details')?.cached_tokens)),
      cacheWrite: 0,
    };
    if (typeof usage.cost === 'number' && Number.isFinite(usage.cost) && usage.cost >= 0) {
      this.costUsd = usage.cost;
    }
    if (typeof usage.completion_tokens === 'number') {
      this.output = {
        tokens: count(usage.completion_tokens),
        reasoning: count(num(field(usage, 'completion_tokens_details')?.reasoning_tokens)),
      };
    }
  }

  #anthropicInput(usage: Record<string, unknown>): void {
    const cacheRead = count(num(usage.cache_read_input_tokens));
    const cacheWrite = count(num(usage.cache_creation_input_tokens));
    this.input = {
      tokens: count(num(usage.input_tokens)) + cacheRead + cacheWrite,
      cacheRead,
      cacheWrite,
    };
  }
}

/** Where the tokens of a partial record came from (docs/costs.md#calls-that-die-mid-stream). */
export type { PartialBasis };

/** A call's usage worked out when it did not end cleanly, and how. */
export interface PartialUsage {
  usage: LlmUsage;
  /** Null when the provider reported all of it after all (the stream broke after its usage). */
  basis: PartialBasis | null;
  /** True when a count was cut down to the call's worst case (what its reservation held). */
  clamped: boolean;
}

/**
 * The usage of a call that did not end cleanly (cancelled, timed out, its stream broken or ended
 * early), from what is known; null when the provider never started answering (nothing was
 * billed, and the call's reservation is given back).
 *
 * - Input: what the provider reported (basis `partial`); where it reported none (OpenAI reports
 *   usage only at the end), the worst-case estimate its reservation was held for (basis
 *   `estimate`).
 * - Output: the provider's final count when it sent one; else one token per UTF-8 byte of the text
 *   streamed (answer and reasoning) — the same bound the reservation uses, which no byte-level
 *   tokenizer exceeds, so a partial record never counts less than was billed.
 * - Both are clamped to the call's worst case (`worst`: the reservation's input estimate and its
 *   `maxTokens`), so settling never takes more than the reservation held.
 * - When the provider had reported all of it (input and final output) before the stream broke,
 *   it is returned as reported, unclamped, with `basis` null: a clean call's usage is not capped
 *   either (costs.md: a call that costs more than it reserved is recorded in full).
 */
export function partialUsage(
  provider: string,
  model: string,
  stream: StreamUsage,
  finished: LanguageModelUsage | undefined,
  worst: { inputTokens: number; maxOutputTokens: number } | null,
): PartialUsage | null {
  if (!stream.started) return null;
  let basis: PartialBasis | null = null;
  let input = stream.input;
  if (input === undefined && finished?.inputTokens !== undefined && finished.inputTokens > 0) {
    input = {
      tokens: count(finished.inputTokens),
      cacheRead: count(finished.inputTokenDetails?.cacheReadTokens),
      cacheWrite: count(finished.inputTokenDetails?.cacheWriteTokens),
    };
  }
  if (input === undefined) {
    basis = 'estimate';
    input = { tokens: worst?.inputTokens ?? 0, cacheRead: 0, cacheWrite: 0 };
  }
  let output = stream.output;
  if (output === undefined) {
    basis ??= 'partial';
    output = { tokens: stream.streamedBytes, reasoning: 0 };
  }
  if (basis === null) {
    // The provider reported all of it after all: recorded as reported, as a clean call's is.
    return {
      usage: {
        provider,
        model,
        inputTokens: input.tokens,
        outputTokens: output.tokens,
        cacheReadTokens: input.cacheRead,
        cacheWriteTokens: input.cacheWrite,
        reasoningTokens: output.reasoning,
        ...(stream.costUsd === undefined ? {} : { costUsd: stream.costUsd }),
      },
      basis,
      clamped: false,
    };
  }
  let clamped = false;
  let inputTokens = input.tokens;
  let outputTokens = output.tokens;
  if (worst !== null && inputTokens > worst.inputTokens) {
    inputTokens = worst.inputTokens;
    clamped = true;
  }
  if (worst !== null && outputTokens > worst.maxOutputTokens) {
    outputTokens = worst.maxOutputTokens;
    clamped = true;
  }
  const cacheRead = Math.min(input.cacheRead, inputTokens);
  return {
    usage: {
      provider,
      model,
      inputTokens,
      outputTokens,
      cacheReadTokens: cacheRead,
      cacheWriteTokens: Math.min(input.cacheWrite, inputTokens - cacheRead),
      reasoningTokens: Math.min(output.reasoning, outputTokens),
    },
    basis,
    clamped,
  };
}

function field(value: unknown, name: string): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const inner = (value as Record<string, unknown>)[name];
  return inner !== null && typeof inner === 'object'
    ? (inner as Record<string, unknown>)
    : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}
