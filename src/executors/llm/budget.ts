/**
 * Budgets for `llm` tasks (docs/costs.md): the worst case of a task's model call, worked out from
 * its payload before the call, so the call can be held against its run's and task's budgets
 * (`ctx.costs.reserveCall`) and refused when they cannot take it. Its usage record
 * (`onUsage` → `ctx.costs.record`) then settles the hold to what the call cost.
 */
import { checkLlmPayload, parseModelId, type LlmPayload } from '../../core/llm.ts';
import { renderTemplate } from '../../core/template.ts';
import type { DependencyOutcome, Json } from '../../core/types.ts';

/** What a budget reservation needs to know of a call before it is made. */
export interface LlmCallEstimate {
  /** As the usage record will name it: `anthropic`, `openai`, or the compatible server's name. */
  provider: string;
  model: string;
  /** An upper bound of the input tokens (see {@link estimateLlmCall}). */
  inputTokens: number;
  /** The most output tokens the call allows: its `maxTokens`. */
  maxOutputTokens: number;
}

/** Tokens allowed for what a request adds to its text: roles, message framing, a tool's name. */
const FRAMING_TOKENS = 64;

/**
 * The worst case of the call an `llm` task's attempt is about to make: its model, an upper bound
 * of its input tokens, and its `maxTokens`. The input is counted as the UTF-8 bytes of its prompt,
 * system prompt and output schema, plus {@link FRAMING_TOKENS}: the byte-level tokenizers of these
 * models never make a token of less than one byte, so no model counts more. Null when the payload
 * is not a call that can be estimated (malformed, `model: auto`, a template that does not fill):
 * the handler then fails the attempt with its own error. `model` names the model
 * an `auto` task was given.
 */
export function estimateLlmCall(
  payload: Json,
  dependencies: Record<string, DependencyOutcome>,
  defaultMaxTokens: number,
  /** The model the call is made with, when not the payload's (`auto`'s choice). */
  model?: string,
): LlmCallEstimate | null {
  if (checkLlmPayload(payload, { dependencyKeys: Object.keys(dependencies) }).length > 0) {
    return null;
  }
  const p = payload as LlmPayload;
  const ref = parseModelId(model ?? p.model);
  if ('error' in ref || ref.provider === 'auto') return null;
  let bytes: number;
  try {
    const values = { payload, dependencies };
    bytes = Buffer.byteLength(renderTemplate(p.prompt, values));
    if (p.system !== undefined) bytes += Buffer.byteLength(renderTemplate(p.system, values));
  } catch {
    return null;
  }
  if (p.output !== undefined) bytes += Buffer.byteLength(JSON.stringify(p.output));
  return {
    provider: ref.provider === 'openai-compatible' ? ref.name : ref.provider,
    model: ref.model,
    inputTokens: bytes + FRAMING_TOKENS,
    maxOutputTokens: p.maxTokens ?? defaultMaxTokens,
  };
}
