/**
 * The `llm` executor: a task of type `llm` calls a model (Anthropic, OpenAI, or any
 * OpenAI-compatible server) through the Vercel AI SDK, streams the answer as it is written, and
 * succeeds with the answer's text, or the parsed JSON when the task gives an `output` schema.
 * docs/llm.md has the whole story; the payload and its rules are in `core/llm.ts`.
 *
 * Baton owns retries: the SDK is called with `maxRetries: 0`, and each failure is mapped onto
 * Baton's retry model (`errors.ts`), so a rate limit waits out the provider's `Retry-After`
 * outside the lease, every attempt is recorded, and a cancel or timeout stops the call at once.
 *
 * Two seams for what comes next, both per call and both given the worker's task context:
 * `onText(chunk, ctx)` receives the answer as it streams (the task log), and
 * `onUsage(usage, ctx)` receives each call's normalised {@link LlmUsage} (the ledger, budgets).
 */
import {
  Output,
  jsonSchema,
  streamText,
  type CallWarning,
  type FinishReason,
  type LanguageModelUsage,
} from 'ai';

import { CancelledError, NonRetryableError } from '../../core/errors.ts';
import {
  checkLlmPayload,
  compileOutputSchema,
  parseModelId,
  type LlmPayload,
  type OutputSchema,
} from '../../core/llm.ts';
import { TemplateError, renderTemplate } from '../../core/template.ts';
import type { DependencyOutcome, Json } from '../../core/types.ts';
import { ModelCallError, mapModelError, redact, type CallDescription } from './errors.ts';
import { Providers, type LlmProviders } from './providers.ts';
import { normalizeUsage, type LlmUsage } from './usage.ts';

/** The part of a worker's task context the `llm` executor uses. */
export interface LlmHandlerContext {
  task: { id: string };
  payload: Json;
  attempt: number;
  signal: AbortSignal;
  dependencies: Record<string, DependencyOutcome>;
}

export interface LlmHandlerOptions<C extends LlmHandlerContext = LlmHandlerContext> {
  /** Keys, base URLs and OpenAI-compatible servers. @default everything from the environment */
  providers?: LlmProviders;
  /**
   * Where `ANTHROPIC_API_KEY`, `OPENAI_API_KEY`, `ANTHROPIC_BASE_URL`, `OPENAI_BASE_URL` and
   * `BATON_OPENAI_COMPATIBLE_<NAME>_*` are read from.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** The fetch the provider clients use (a proxy agent). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Output tokens allowed when a task does not set `maxTokens`. @default 4096 */
  maxTokens?: number;
  /**
   * How long a task waits after a rate-limited or overloaded answer that has no usable
   * `Retry-After`, in ms, ±20 % jitter. The wait does not count as an attempt.
   * @default 5000
   */
  busyRetryMs?: number;
  /**
   * Chooses a concrete model id for a task whose `model` is `auto` (model selection). Without
   * it, an `auto` task fails at once, saying so.
   */
  resolveModel?: (payload: LlmPayload, ctx: C) => string | Promise<string>;
  /**
   * Receives the answer's text as it streams, chunk by chunk, with the attempt's context: wire
   * it to the task's log. It must not throw: a throw fails the attempt (retryably).
   */
  onText?: (chunk: string, ctx: C) => void;
  /**
   * Receives the usage of every model call that reported one, before the answer is checked
   * against `output`, so a call whose answer is then refused is still counted: the money was
   * spent. Awaited; a rejection fails the attempt (retryably).
   */
  onUsage?: (usage: LlmUsage, ctx: C) => void | Promise<void>;
  /**
   * Receives each warning the SDK reports for a call — a setting the model does not take and
   * that was dropped or clamped (`temperature` on a reasoning model) — as one line of text. When
   * given, the SDK's own printing of warnings to the console is turned off (unless the process
   * set `globalThis.AI_SDK_LOG_WARNINGS` itself): a worker's stdout is not the SDK's to write on.
   */
  onWarning?: (warning: string, ctx: C) => void;
}

const DEFAULT_MAX_TOKENS = 4096;
const DEFAULT_BUSY_RETRY_MS = 5_000;

/**
 * The handler a worker registers for tasks of type `llm`.
 *
 * Resolves with the answer's text, or with the parsed JSON when the task has an `output` schema.
 * Rejects with a `NonRetryableError` for a malformed payload, a missing key or an unconfigured
 * server; a {@link ModelBusyError} (a `DeferError`: no attempt counted) when the provider rate
 * limits or is overloaded; a {@link ModelCallError} (retryable or not, see `errors.ts`) when the
 * call or its answer fails; and with the signal's reason when the attempt is aborted.
 *
 * @example
 * const worker = baton.worker({ handlers: { llm: llmHandler() } });
 */
export function llmHandler<C extends LlmHandlerContext = LlmHandlerContext>(
  options: LlmHandlerOptions<C> = {},
): (ctx: C) => Promise<Json> {
  const settings = resolveOptions(options);
  if (options.onWarning !== undefined) {
    const global = globalThis as { AI_SDK_LOG_WARNINGS?: unknown };
    global.AI_SDK_LOG_WARNINGS ??= false;
  }
  const providers = new Providers(
    options.providers ?? {},
    options.env ?? process.env,
    options.fetch,
  );
  return (ctx) => call(ctx, settings, providers);
}

interface Settings<C extends LlmHandlerContext> {
  maxTokens: number;
  busyRetryMs: number;
  resolveModel: LlmHandlerOptions<C>['resolveModel'];
  onText: LlmHandlerOptions<C>['onText'];
  onUsage: LlmHandlerOptions<C>['onUsage'];
  onWarning: LlmHandlerOptions<C>['onWarning'];
}

function resolveOptions<C extends LlmHandlerContext>(options: LlmHandlerOptions<C>): Settings<C> {
  const problems: string[] = [];
  if (
    options.maxTokens !== undefined &&
    (!Number.isSafeInteger(options.maxTokens) || options.maxTokens < 1)
  ) {
    problems.push(`maxTokens must be a whole number ≥ 1, got ${String(options.maxTokens)}`);
  }
  if (
    options.busyRetryMs !== undefined &&
    (!Number.isFinite(options.busyRetryMs) || options.busyRetryMs < 0)
  ) {
    problems.push(`busyRetryMs must be a number ≥ 0, got ${String(options.busyRetryMs)}`);
  }
  for (const [name, settings] of Object.entries(options.providers?.compatible ?? {})) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) {
      problems.push(
        `providers.compatible: '${name}' is not a usable name (letters, digits, '_' and '-')`,
      );
    }
    if (typeof settings?.baseUrl !== 'string' || !isHttpUrl(settings.baseUrl)) {
      problems.push(`providers.compatible.${name}.baseUrl must be an http:// or https:// URL`);
    }
  }
  for (const name of ['anthropic', 'openai'] as const) {
    const baseUrl = options.providers?.[name]?.baseUrl;
    if (baseUrl !== undefined && !isHttpUrl(baseUrl)) {
      problems.push(`providers.${name}.baseUrl must be an http:// or https:// URL`);
    }
  }
  if (problems.length > 0) {
    throw new TypeError(`invalid llmHandler options: ${problems.join('; ')}`);
  }
  return {
    maxTokens: options.maxTokens ?? DEFAULT_MAX_TOKENS,
    busyRetryMs: options.busyRetryMs ?? DEFAULT_BUSY_RETRY_MS,
    resolveModel: options.resolveModel,
    onText: options.onText,
    onUsage: options.onUsage,
    onWarning: options.onWarning,
  };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The payload, checked as a plan is, with this attempt's dependencies. */
function parsePayload(ctx: LlmHandlerContext): LlmPayload {
  const issues = checkLlmPayload(ctx.payload, { dependencyKeys: Object.keys(ctx.dependencies) });
  if (issues.length > 0) {
    throw new NonRetryableError(
      `malformed llm payload: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
    );
  }
  return ctx.payload as LlmPayload;
}

async function call<C extends LlmHandlerContext>(
  ctx: C,
  settings: Settings<C>,
  providers: Providers,
): Promise<Json> {
  const { signal } = ctx;
  if (signal.aborted) throw abortReason(signal);
  const payload = parsePayload(ctx);

  const modelId =
    payload.model === 'auto' ? await chooseModel(payload, ctx, settings) : payload.model;
  const ref = parseModelId(modelId);
  if ('error' in ref || ref.provider === 'auto') {
    throw new NonRetryableError(
      `the model resolver chose '${modelId}', which is not a concrete model id: ${'error' in ref ? ref.error : 'auto again'}`,
    );
  }
  const resolved = providers.resolve(ref);

  let prompt: string;
  let system: string | undefined;
  try {
    const values = { payload: ctx.payload, dependencies: ctx.dependencies };
    prompt = renderTemplate(payload.prompt, values);
    system = payload.system === undefined ? undefined : renderTemplate(payload.system, values);
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    // A dependency's result lacks what the template names: no retry will give it that.
    throw new NonRetryableError(`cannot fill the llm task's prompt: ${error.message}`);
  }
  const schema: OutputSchema | null =
    payload.output === undefined ? null : compileOutputSchema(payload.output);

  const description: CallDescription = {
    provider: resolved.provider,
    modelId,
    keySource: resolved.keySource,
    secrets: providers.secrets,
    busyRetryMs: settings.busyRetryMs,
  };
  const maxTokens = payload.maxTokens ?? settings.maxTokens;

  let text = '';
  let failure: unknown;
  let usage: LanguageModelUsage | undefined;
  let finishReason: FinishReason | undefined;
  /** The provider's own word for why it stopped: absent when it never said it had finished. */
  let rawFinishReason: string | undefined;
  try {
    const result = streamText({
      model: resolved.model,
      prompt,
      ...(system !== undefined ? { system } : {}),
      maxOutputTokens: maxTokens,
      ...(payload.temperature !== undefined ? { temperature: payload.temperature } : {}),
      ...(payload.output !== undefined
        ? { output: Output.object({ schema: jsonSchema(payload.output) }) }
        : {}),
      // Baton retries, with its backoff, Retry-After outside the lease, and a record per attempt.
      maxRetries: 0,
      abortSignal: signal,
      // Errors are read from the stream below; the default would print them to the console.
      onError: () => undefined,
    });
    for await (const part of result.fullStream) {
      switch (part.type) {
        case 'text-delta':
          if (part.text === '') break;
          text += part.text;
          settings.onText?.(part.text, ctx);
          break;
        case 'start-step':
          if (settings.onWarning !== undefined) {
            for (const warning of part.warnings)
              settings.onWarning(describeWarning(warning, modelId), ctx);
          }
          break;
        case 'error':
          // A stream can go on after an error part (a malformed chunk): the answer is suspect.
          failure ??= part.error;
          break;
        case 'finish':
          usage = part.totalUsage;
          finishReason = part.finishReason;
          rawFinishReason = part.rawFinishReason;
          break;
        default:
          break;
      }
    }
  } catch (error) {
    failure ??= error;
  }
  if (signal.aborted) throw abortReason(signal);

  const record = normalizeUsage(resolved.provider, resolved.modelName, usage);
  if (record !== null && settings.onUsage !== undefined) await settings.onUsage(record, ctx);

  if (failure !== undefined) throw mapModelError(failure, description);
  // A stream that ended cleanly but early (a proxy giving up) carries no stop reason.
  if (finishReason === undefined || finishReason === 'error' || rawFinishReason === undefined) {
    throw new ModelCallError(
      'LLM_STREAM',
      `the answer from ${modelId} ended before the provider said it was complete (no stop reason); the task will be retried`,
      { retryable: true },
    );
  }
  if (schema === null) return text;
  return parseAnswer(text, schema, {
    modelId,
    finishReason,
    maxTokens,
    secrets: providers.secrets,
  });
}

/**
 * What stops an `llm` task with this `model` from running on a worker made with these options,
 * found without calling anything: a missing key, an OpenAI-compatible server that is not
 * configured, `auto` without a resolver. Null when nothing does (or the id is malformed, which
 * payload checks report). `baton run` asks this for its plan's llm tasks before it submits.
 */
export function llmSetupProblem(
  model: string,
  options: Pick<LlmHandlerOptions, 'providers' | 'env' | 'resolveModel'> = {},
  from: 'worker' | 'run' = 'worker',
): string | null {
  const ref = parseModelId(model);
  if ('error' in ref) return null;
  if (ref.provider === 'auto') {
    return options.resolveModel !== undefined
      ? null
      : `model 'auto' needs model selection, which ${from === 'worker' ? 'this worker does' : "baton run's agents do"} not have yet: give the task a concrete model, e.g. anthropic:claude-sonnet-4-5`;
  }
  return new Providers(options.providers ?? {}, options.env ?? process.env, undefined).problem(
    ref,
    from,
  );
}

async function chooseModel<C extends LlmHandlerContext>(
  payload: LlmPayload,
  ctx: C,
  settings: Settings<C>,
): Promise<string> {
  if (settings.resolveModel === undefined) {
    throw new NonRetryableError(
      "model 'auto' needs model selection, which this worker does not have: give the task a concrete model (e.g. anthropic:claude-sonnet-4-5), or pass resolveModel to llmHandler",
    );
  }
  return await settings.resolveModel(payload, ctx);
}

/** The answer as JSON valid against the task's `output` schema. */
function parseAnswer(
  text: string,
  schema: OutputSchema,
  call: {
    modelId: string;
    finishReason: FinishReason;
    maxTokens: number;
    secrets: readonly string[];
  },
): Json {
  // Cut off at maxTokens, the answer would be cut off again: no retry can fix that.
  const cutOff = call.finishReason === 'length';
  const quoted = quote(redact(text, call.secrets));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ModelCallError(
      'LLM_OUTPUT_INVALID',
      cutOff
        ? `the answer from ${call.modelId} is not complete JSON: it was cut off at maxTokens (${call.maxTokens}); raise maxTokens. It began: ${quoted}`
        : `the answer from ${call.modelId} is not JSON (${(error as Error).message}), though the task's output schema asks for it; the task will be retried. It began: ${quoted}`,
      { retryable: !cutOff },
    );
  }
  const problem = schema.validate(value);
  if (problem !== null) {
    throw new ModelCallError(
      'LLM_OUTPUT_INVALID',
      `the answer from ${call.modelId} does not match the task's output schema: ${problem}; the task will be retried. It began: ${quoted}`,
      { retryable: true },
    );
  }
  return value as Json;
}

/** A warning of the SDK as one line: `anthropic:claude-…: temperature is not supported (…)`. */
function describeWarning(warning: CallWarning, modelId: string): string {
  switch (warning.type) {
    case 'unsupported':
      return `${modelId}: ${warning.feature} is not supported${warning.details ? ` (${warning.details})` : ''}`;
    case 'compatibility':
      return `${modelId}: ${warning.feature} runs in a compatibility mode${warning.details ? ` (${warning.details})` : ''}`;
    default:
      return `${modelId}: ${'message' in warning ? String(warning.message) : JSON.stringify(warning)}`;
  }
}

function quote(text: string): string {
  const max = 200;
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

/** The signal's reason, which a worker sets to a TimeoutError or CancelledError. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new CancelledError(typeof reason === 'string' ? reason : 'aborted');
}
