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

import { BudgetExceededError, CancelledError, NonRetryableError } from '../../core/errors.ts';
import {
  checkLlmPayload,
  compileOutputSchema,
  parseModelId,
  type LlmPayload,
  type OutputSchema,
} from '../../core/llm.ts';
import { TemplateError, renderTemplate } from '../../core/template.ts';
import type { DependencyOutcome, Json } from '../../core/types.ts';
import {
  TIERS,
  type ChoicePolicy,
  type Complexity,
  type ModelTiers,
} from '../../core/model-choice.ts';
import {
  downgradeToFast,
  isSelectionContext,
  noTiersError,
  resolvePolicy,
  selectModel,
  taskComplexity,
  tiersProblems,
  type SelectedModel,
  type SelectionContext as SelectionContextOf,
} from './auto.ts';
import { estimateLlmCall, type LlmCallEstimate } from './budget.ts';
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
   * The model of each tier, for tasks whose `model` is `auto` (docs/llm.md#model-selection): each
   * attempt of such a task chooses a tier by the task's complexity, priority, the history of its
   * type on each tier's model, a failure on a cheaper tier before, and its run's budget, and
   * records the choice on the attempt (`task.model_selected`). Needs a worker's task context.
   * A config file's `cost: { tiers }` fills this option.
   * @default none: an `auto` task fails at once, saying so
   * @example { strong: 'anthropic:claude-opus-4-1', balanced: 'anthropic:claude-sonnet-4-5', fast: 'anthropic:claude-haiku-4-5' }
   */
  tiers?: ModelTiers;
  /**
   * The knobs of the selection rule: history runs needed, the cheaper tier's success rate that
   * is good enough, the fraction of the budget under which the fast tier is chosen.
   * @default { minRuns: 10, cheaperSuccessRate: 0.85, budgetLowFraction: 0.1 }
   */
  choice?: Partial<ChoicePolicy>;
  /**
   * Chooses a concrete model id for a task whose `model` is `auto`, instead of the `tiers` rule.
   */
  resolveModel?: (payload: LlmPayload, ctx: C) => string | Promise<string>;
  /**
   * Awaited with each call's worst case (its model, an upper bound of its input tokens, its
   * `maxTokens`) once its model is known and before the request is sent: hold it against the
   * budgets there (`ctx.costs.reserveCall`). A rejection fails the attempt with its error and
   * sends nothing; except that a `BudgetExceededError` for a tier `auto` chose above fast makes
   * it choose the fast tier (recorded as a second choice) and ask again.
   */
  beforeCall?: (call: LlmCallEstimate, ctx: C) => void | Promise<void>;
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
  tiers: ModelTiers | undefined;
  /** The tiers' models: calls of these count in model selection's history. */
  tierModels: ReadonlySet<string>;
  policy: ChoicePolicy;
  beforeCall: LlmHandlerOptions<C>['beforeCall'];
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
  if (options.tiers !== undefined) {
    for (const p of tiersProblems(options.tiers, 'tiers')) problems.push(`${p.path}: ${p.message}`);
  }
  if (problems.length > 0) {
    throw new TypeError(`invalid llmHandler options: ${problems.join('; ')}`);
  }
  return {
    maxTokens: options.maxTokens ?? DEFAULT_MAX_TOKENS,
    busyRetryMs: options.busyRetryMs ?? DEFAULT_BUSY_RETRY_MS,
    tiers: options.tiers,
    tierModels: new Set(options.tiers === undefined ? [] : Object.values(options.tiers)),
    policy: resolvePolicy(options.choice),
    beforeCall: options.beforeCall,
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

  let selected: SelectedModel | undefined;
  let modelId = payload.model;
  if (payload.model === 'auto') {
    if (settings.resolveModel !== undefined) {
      modelId = await settings.resolveModel(payload, ctx);
    } else if (settings.tiers !== undefined) {
      if (!isSelectionContext(ctx)) {
        throw new NonRetryableError(
          "model 'auto' is chosen through a worker's task context (ctx.costs, ctx.log), which this call was not given: run the handler on a Baton worker, or give the task a concrete model",
        );
      }
      selected = await selectModel(payload, ctx, settings.tiers, settings.policy);
      modelId = selected.model;
    } else {
      throw noTiersError();
    }
  }
  if (settings.beforeCall !== undefined) {
    const beforeCall = settings.beforeCall;
    const hold = async (model: string): Promise<void> => {
      const worst = estimateLlmCall(ctx.payload, ctx.dependencies, settings.maxTokens, model);
      if (worst !== null) await beforeCall(worst, ctx);
    };
    try {
      await hold(modelId);
    } catch (error) {
      // A budget that cannot hold the chosen tier's worst case may still hold the fast tier's:
      // auto downgrades rather than fail the task.
      const chosen = selected;
      if (
        chosen === undefined ||
        chosen.tier === 'fast' ||
        settings.tiers === undefined ||
        !(error instanceof BudgetExceededError) ||
        !isSelectionContext(ctx)
      ) {
        throw error;
      }
      selected = await downgradeToFast(chosen, ctx, settings.tiers);
      modelId = selected.model;
      await hold(modelId);
    }
  }
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

  const tracked =
    settings.tiers !== undefined &&
    (selected !== undefined || settings.tierModels.has(modelId)) &&
    isSelectionContext(ctx)
      ? {
          ctx,
          model: modelId,
          complexity: selected?.complexity ?? taskComplexity(payload, ctx.task.title).complexity,
        }
      : null;
  let value: Json;
  try {
    value = answerOf();
  } catch (error) {
    // An answer that fails its schema is the model's doing: it counts against the model.
    if (error instanceof ModelCallError && error.code === 'LLM_OUTPUT_INVALID' && error.retryable)
      await countOutcome(tracked, false);
    throw error;
  }
  await countOutcome(tracked, true);
  return value;

  function answerOf(): Json {
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
}

/**
 * Count a call of a tier's model in model selection's history. A store that cannot count it
 * does not fail the attempt: the answer is good, and history is an estimate.
 */
async function countOutcome(
  tracked: { ctx: SelectionContextOf; model: string; complexity: Complexity } | null,
  succeeded: boolean,
): Promise<void> {
  if (tracked === null) return;
  try {
    await tracked.ctx.costs.recordModelOutcome({
      complexity: tracked.complexity,
      model: tracked.model,
      succeeded,
    });
  } catch (error) {
    tracked.ctx.log.warn(
      `model selection could not count this call's outcome: ${(error as Error).message}`,
    );
  }
}

/**
 * What stops an `llm` task with this `model` from running on a worker made with these options,
 * found without calling anything: a missing key, an OpenAI-compatible server that is not
 * configured, `auto` without a resolver. Null when nothing does (or the id is malformed, which
 * payload checks report). `baton run` asks this for its plan's llm tasks before it submits.
 */
export function llmSetupProblem(
  model: string,
  options: Pick<LlmHandlerOptions, 'providers' | 'env' | 'resolveModel' | 'tiers'> = {},
  from: 'worker' | 'run' = 'worker',
): string | null {
  const ref = parseModelId(model);
  if ('error' in ref) return null;
  const providers = new Providers(options.providers ?? {}, options.env ?? process.env, undefined);
  if (ref.provider === 'auto') {
    if (options.resolveModel !== undefined) return null;
    if (options.tiers === undefined) {
      return from === 'worker'
        ? noTiersError().message
        : "model 'auto' needs model tiers, which baton run's agents do not have: set BATON_MODEL_TIERS (e.g. BATON_MODEL_TIERS='strong=anthropic:claude-opus-4-1,balanced=anthropic:claude-sonnet-4-5,fast=anthropic:claude-haiku-4-5'), or give the task a concrete model";
    }
    // Any tier may be chosen: each must be able to run.
    for (const tier of TIERS) {
      const tierRef = parseModelId(options.tiers[tier]);
      if ('error' in tierRef || tierRef.provider === 'auto') continue;
      const problem = providers.problem(tierRef, from);
      if (problem !== null) return `the ${tier} tier (${options.tiers[tier]}): ${problem}`;
    }
    return null;
  }
  return providers.problem(ref, from);
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
