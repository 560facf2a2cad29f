/**
 * The `llm` task: what its payload holds and the rules it must follow, checked the same way
 * wherever a task comes from (a plan file, the SDK, a worker about to run it). Pure: no I/O.
 *
 * ```json
 * {
 *   "model": "anthropic:claude-sonnet-4-5",
 *   "system": "You are a careful analyst.",
 *   "prompt": "Summarise {{ deps.research.result }} for {{ payload.audience }}.",
 *   "maxTokens": 800,
 *   "temperature": 0.2,
 *   "output": { "type": "object", "properties": { "summary": { "type": "string" } }, "required": ["summary"] },
 *   "audience": "engineers"
 * }
 * ```
 *
 * Fields other than the model call's own ({@link LLM_FIELDS}) are data that templates read
 * (`{{ payload.audience }}`). See docs/llm.md.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

import type { ValidationIssue } from './errors.ts';
import { COMPLEXITIES, type Complexity } from './model-choice.ts';
import { checkTemplate } from './template.ts';
import { describeValue, didYouMean, truncate } from './text.ts';
import type { Json } from './types.ts';

/** The task type (and plan `executor:`) of a model call. */
export const LLM_TASK_TYPE = 'llm';

/** The payload fields that describe the model call; any other field is data for templates. */
export const LLM_FIELDS = [
  'model',
  'prompt',
  'system',
  'maxTokens',
  'temperature',
  'output',
  'complexity',
] as const;

/** The providers a model id can name. */
export const LLM_PROVIDERS = ['anthropic', 'openai', 'openai-compatible'] as const;

/** Highest `temperature` accepted (OpenAI's range; Anthropic's ends at 1, and the SDK clamps). */
export const MAX_TEMPERATURE = 2;

/** The payload of a task of type `llm`. */
export interface LlmPayload {
  /**
   * Which model answers: `anthropic:<model>`, `openai:<model>`,
   * `openai-compatible:<name>:<model>` (a server configured under that name), or `auto` (chosen
   * per attempt among the worker's model tiers: docs/llm.md#model-selection).
   * @example 'anthropic:claude-sonnet-4-5'
   */
  model: string;
  /** The user message, a template (`{{ payload.x }}`, `{{ deps.key.result }}`). */
  prompt: string;
  /** The system prompt, a template. @default none */
  system?: string;
  /** Most output tokens the model may write. @default the handler's `maxTokens` (4096) */
  maxTokens?: number;
  /** Sampling temperature, 0 to 2 (0 to 1 for an Anthropic model). @default the provider's */
  temperature?: number;
  /**
   * A JSON Schema (draft-07, or 2020-12 when its `$schema` says so) of an object: the answer
   * must be JSON valid against it, and the task's result is the parsed object.
   */
  output?: { [key: string]: Json };
  /**
   * How hard the task is, for `model: auto` (docs/llm.md#model-selection): `high` gets the strong
   * tier, `medium` balanced, `low` fast. @default scored from the task's title and prompt
   */
  complexity?: Complexity;
  /** Data that templates read as `payload.<field>`. */
  [field: string]: Json | undefined;
}

/** A model id, read. */
export type ModelRef =
  | { provider: 'anthropic' | 'openai'; model: string }
  | { provider: 'openai-compatible'; name: string; model: string }
  | { provider: 'auto' };

/** A name of a configured OpenAI-compatible server: what `openai-compatible:<name>:…` may say. */
export const COMPATIBLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * Read a model id. Only the first colon (the second for `openai-compatible`) separates: the
 * model's own name may contain colons (`ollama`'s `llama3.1:8b`, OpenAI's fine-tunes).
 * @returns the model, or a message saying what is wrong and how to write it.
 */
export function parseModelId(id: string): ModelRef | { error: string } {
  const forms = 'anthropic:<model>, openai:<model>, openai-compatible:<name>:<model>, or auto';
  if (id === 'auto') return { provider: 'auto' };
  const colon = id.indexOf(':');
  if (colon === -1) {
    const guess = /^claude/i.test(id)
      ? `; did you mean 'anthropic:${id}'?`
      : /^(gpt|o\d|chatgpt)/i.test(id)
        ? `; did you mean 'openai:${id}'?`
        : '';
    return {
      error: `model '${id}' does not say its provider${guess}; write it as ${forms}`,
    };
  }
  const provider = id.slice(0, colon);
  const rest = id.slice(colon + 1);
  if (provider === 'anthropic' || provider === 'openai') {
    if (rest.trim() === '') return { error: `model '${id}' names no model after '${provider}:'` };
    return { provider, model: rest };
  }
  if (provider === 'openai-compatible') {
    const second = rest.indexOf(':');
    const name = second === -1 ? rest : rest.slice(0, second);
    const model = second === -1 ? '' : rest.slice(second + 1);
    if (!COMPATIBLE_NAME.test(name) || model.trim() === '') {
      return {
        error: `model '${id}' must be openai-compatible:<name>:<model>, where <name> is a configured server (letters, digits, '_' and '-') and <model> the model it serves, e.g. openai-compatible:ollama:llama3.1`,
      };
    }
    return { provider, name, model };
  }
  return {
    error: `model '${id}' names an unknown provider '${provider}'${didYouMean(provider, LLM_PROVIDERS)}; write it as ${forms}`,
  };
}

/** What an `llm` payload is checked against besides itself. */
export interface LlmCheckScope {
  /** The keys of the task's dependencies (`dependsOn`), which templates may name. */
  dependencyKeys: readonly string[];
}

/**
 * Every problem of an `llm` task's payload, each with the field it is in (`model`, `prompt`,
 * `output` …): a missing or malformed field, a model id that names no known provider, a template
 * naming something the task cannot have, an `output` that is not a valid JSON Schema of an object.
 * Empty when the payload is good.
 */
export function checkLlmPayload(payload: unknown, scope: LlmCheckScope): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    return [
      {
        path: '',
        message: `an llm task's payload must be an object { model, prompt, system?, maxTokens?, temperature?, output? }; got ${describeValue(payload)}`,
      },
    ];
  }
  const p = payload as Record<string, unknown>;
  let provider: ModelRef['provider'] | undefined;

  if (p.model === undefined) {
    issues.push({ path: 'model', message: `is required: ${MODEL_HINT}` });
  } else if (typeof p.model !== 'string') {
    issues.push({
      path: 'model',
      message: `must be a string (${MODEL_HINT}); got ${describeValue(p.model)}`,
    });
  } else {
    const parsed = parseModelId(p.model);
    if ('error' in parsed) issues.push({ path: 'model', message: parsed.error });
    else provider = parsed.provider;
  }

  const templateScope = { payload: payload as Json, dependencyKeys: scope.dependencyKeys };
  for (const field of ['prompt', 'system'] as const) {
    const value = p[field];
    if (value === undefined) {
      if (field === 'prompt')
        issues.push({ path: field, message: 'is required: the text the model answers' });
      continue;
    }
    if (typeof value !== 'string') {
      issues.push({ path: field, message: `must be a string; got ${describeValue(value)}` });
      continue;
    }
    if (field === 'prompt' && value.trim() === '') {
      issues.push({ path: field, message: 'must not be empty' });
      continue;
    }
    for (const message of checkTemplate(value, templateScope))
      issues.push({ path: field, message });
  }

  if (p.maxTokens !== undefined) {
    const n = p.maxTokens;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
      issues.push({
        path: 'maxTokens',
        message: `must be a whole number of 1 or more (the most tokens the answer may have); got ${describeValue(n)}`,
      });
    }
  }
  if (p.temperature !== undefined) {
    const t = p.temperature;
    // Anthropic's range is 0 to 1: the SDK would clamp a higher value with only a warning.
    const max = provider === 'anthropic' ? 1 : MAX_TEMPERATURE;
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > max) {
      issues.push({
        path: 'temperature',
        message: `must be a number from 0 to ${max}${provider === 'anthropic' ? ' for an Anthropic model' : ''}; got ${describeValue(t)}`,
      });
    }
  }
  if (p.complexity !== undefined && !(COMPLEXITIES as readonly unknown[]).includes(p.complexity)) {
    issues.push({
      path: 'complexity',
      message: `must be one of ${COMPLEXITIES.join(', ')} (how hard the task is, for model: auto); got ${describeValue(p.complexity)}${typeof p.complexity === 'string' ? didYouMean(p.complexity, COMPLEXITIES) : ''}`,
    });
  }
  if (p.output !== undefined) {
    const problem = outputSchemaProblem(p.output);
    if (problem !== null) issues.push({ path: 'output', message: problem });
  }
  return issues;
}

const MODEL_HINT =
  'a provider-qualified model id such as anthropic:claude-sonnet-4-5, openai:gpt-4.1-mini, openai-compatible:<name>:<model>, or auto';

// ---------------------------------------------------------------------------------------------
// Output schemas

/** A compiled `output` schema: `validate(answer)` says whether the answer fits and why not. */
export interface OutputSchema {
  /** Null when `value` is valid; else what is wrong, one problem per clause, with its path. */
  validate(value: unknown): string | null;
}

let draft07: Ajv | undefined;
let draft2020: Ajv2020 | undefined;
const compiled = new Map<string, OutputSchema>();
/** Compiled schemas kept; a worker sees few distinct ones, so this bounds a pathological case. */
const MAX_COMPILED = 256;
const MAX_ERRORS_SHOWN = 5;

function ajvFor(schema: Record<string, unknown>): Ajv | Ajv2020 {
  const options = {
    allErrors: true,
    // An unknown keyword (`propertys`) is an error, not silently ignored; the rest is not logged.
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    logger: false as const,
  };
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  if (dialect.includes('2020-12')) {
    if (draft2020 === undefined) {
      draft2020 = new Ajv2020(options);
      addFormats.default(draft2020);
    }
    return draft2020;
  }
  if (draft07 === undefined) {
    draft07 = new Ajv(options);
    addFormats.default(draft07);
  }
  return draft07;
}

/** Why `schema` cannot be an `output` schema, or null when it can. */
function outputSchemaProblem(schema: unknown): string | null {
  try {
    compileOutputSchema(schema);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Compile an `output` schema (cached by its JSON text).
 * @throws Error saying why it is not a valid JSON Schema of an object.
 */
export function compileOutputSchema(schema: unknown): OutputSchema {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    throw new Error(
      `must be a JSON Schema object, e.g. { type: object, properties: { summary: { type: string } }, required: [summary] }; got ${describeValue(schema)}`,
    );
  }
  const text = JSON.stringify(schema);
  const hit = compiled.get(text);
  if (hit !== undefined) return hit;
  const record = schema as Record<string, unknown>;
  if (record.type !== 'object') {
    throw new Error(
      `must describe an object (type: object at the top), as both providers' structured output requires; got ${record.type === undefined ? 'no type' : `type: ${JSON.stringify(record.type)}`}. To get a list or a single value, wrap it: { type: object, properties: { items: <your schema> }, required: [items] }`,
    );
  }
  const dialect = record.$schema;
  if (dialect !== undefined && (typeof dialect !== 'string' || !/draft-07|2020-12/.test(dialect))) {
    throw new Error(
      `$schema ${describeValue(dialect)} is not supported; use http://json-schema.org/draft-07/schema# or https://json-schema.org/draft/2020-12/schema, or leave $schema out (draft-07)`,
    );
  }
  let validate: ValidateFunction;
  try {
    validate = ajvFor(record).compile(record);
  } catch (error) {
    throw new Error(`is not a valid JSON Schema: ${schemaErrorMessage(error)}`, { cause: error });
  }
  const out: OutputSchema = {
    validate(value) {
      if (validate(value)) return null;
      return describeErrors(validate.errors ?? []);
    },
  };
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(text, out);
  return out;
}

/** JSON Schema keywords, for a did-you-mean on an unknown one. */
const KEYWORDS = [
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'prefixItems',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minItems',
  'maxItems',
  'uniqueItems',
  'anyOf',
  'oneOf',
  'allOf',
  'not',
  'description',
  'title',
  'default',
  'examples',
  '$ref',
  '$defs',
  'definitions',
  'patternProperties',
  'propertyNames',
  'minProperties',
  'maxProperties',
  'multipleOf',
  'contains',
  'dependencies',
  'if',
  'then',
  'else',
];

/** Ajv's complaint about a schema, with a did-you-mean for an unknown keyword. */
function schemaErrorMessage(error: unknown): string {
  const message = truncate((error as Error).message.replace(/^strict mode: /, ''), 400);
  const unknown = /unknown keyword: "([^"]+)"/.exec(message);
  if (unknown?.[1] === undefined) return message;
  return `unknown keyword '${unknown[1]}'${didYouMean(unknown[1], KEYWORDS)}; JSON Schema has no such keyword`;
}

function describeErrors(errors: readonly ErrorObject[]): string {
  const shown = errors.slice(0, MAX_ERRORS_SHOWN).map((e) => {
    const at = e.instancePath === '' ? 'the answer' : `the answer at ${e.instancePath}`;
    const extra =
      e.keyword === 'additionalProperties'
        ? ` ('${String((e.params as { additionalProperty?: unknown }).additionalProperty)}')`
        : e.keyword === 'enum'
          ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
          : '';
    return `${at} ${e.message ?? 'is invalid'}${extra}`;
  });
  const more =
    errors.length > MAX_ERRORS_SHOWN ? `; and ${errors.length - MAX_ERRORS_SHOWN} more` : '';
  return `${shown.join('; ')}${more}`;
}
