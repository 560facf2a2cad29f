/**
 * Prompt templates: text with `{{ name }}` placeholders filled from a task's payload and its
 * dependencies' outcomes. Used by the `llm` executor's `prompt` and `system` (docs/llm.md).
 *
 * ```text
 * Summarise {{ payload.url }} for {{ payload.audience }}.
 * The research said: {{ deps.research.result }}
 * Its first finding: {{ deps.research.result.findings.0.title }}
 * ```
 *
 * - `payload.<field>[.<field>|.<index>]…` — a field of the task's payload.
 * - `deps.<key>.result[.<field>|.<index>]…` — a dependency's result (or a part of it);
 *   `deps.<key>.state` — its state (`succeeded`, or for a soft dependency `failed` …);
 *   `deps.<key>.error` — its error message, empty when it has none. `<key>` must be one of the
 *   task's `dependsOn`; a key that itself contains dots is matched whole (the longest key wins).
 * - A string is inserted as it is; any other value as compact JSON.
 * - `\{{` writes a literal `{{`.
 *
 * A name that cannot exist (an unknown root, a key the task does not depend on, a payload field
 * the payload lacks) is found before the task runs ({@link checkTemplate}); a path into a
 * dependency's result that the result turns out not to have is found when the task runs
 * ({@link renderTemplate}). Pure: no I/O.
 */
import type { DependencyOutcome, Json } from './types.ts';
import { didYouMean, formatList } from './text.ts';

/** One `{{ … }}` of a template. */
export interface TemplateRef {
  /** The expression as written between the braces, trimmed. */
  expression: string;
  root: 'payload' | 'deps';
  /** The dot-separated names after the root. */
  segments: string[];
  /** Offset of the opening `{{` in the template. */
  offset: number;
}

/** A parsed template: literal text and references, in order. */
export type TemplatePart = string | TemplateRef;

/** A template that cannot be read, or names something that does not exist. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

const ROOTS = ['payload', 'deps'] as const;
const DEP_FIELDS = ['result', 'state', 'error'] as const;
const SEGMENT = /^[A-Za-z0-9_:\-$]+$/;

/**
 * Read a template into its parts.
 * @throws TemplateError for an unclosed `{{`, an empty `{{ }}`, or an expression that is not
 *   `payload.…` or `deps.…` (the first one found).
 */
export function parseTemplate(text: string): TemplatePart[] {
  const { parts, errors } = scan(text);
  if (errors[0] !== undefined) throw new TemplateError(errors[0]);
  return parts;
}

/** The parts of a template, and every syntax problem in it (a bad `{{ }}` becomes no part). */
function scan(text: string): { parts: TemplatePart[]; errors: string[] } {
  const parts: TemplatePart[] = [];
  const errors: string[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('\\{{', i)) {
      literal += '{{';
      i += 3;
      continue;
    }
    if (!text.startsWith('{{', i)) {
      literal += text[i];
      i++;
      continue;
    }
    const end = text.indexOf('}}', i + 2);
    if (end === -1) {
      errors.push(
        `'{{' at character ${i + 1} is never closed with '}}'; write \\{{ for a literal '{{'`,
      );
      break;
    }
    const expression = text.slice(i + 2, end).trim();
    if (literal !== '') parts.push(literal);
    literal = '';
    const ref = parseExpression(expression, i);
    if (typeof ref === 'string') errors.push(ref);
    else parts.push(ref);
    i = end + 2;
  }
  if (literal !== '') parts.push(literal);
  return { parts, errors };
}

/** The reference an expression makes, or what is wrong with it. */
function parseExpression(expression: string, offset: number): TemplateRef | string {
  if (expression === '') {
    return `empty '{{ }}' at character ${offset + 1}; name a value such as {{ payload.topic }} or {{ deps.<key>.result }}`;
  }
  const [root, ...segments] = expression.split('.');
  if (root !== 'payload' && root !== 'deps') {
    return `{{ ${expression} }}: unknown name '${root ?? ''}'${didYouMean(root ?? '', ROOTS)}; a name starts with payload. (the task's payload) or deps. (its dependencies' outcomes)`;
  }
  if (segments.length === 0) {
    return root === 'payload'
      ? `{{ payload }}: name a field of the payload, e.g. {{ payload.topic }}`
      : `{{ deps }}: name a dependency and a field, e.g. {{ deps.research.result }}`;
  }
  for (const segment of segments) {
    if (!SEGMENT.test(segment)) {
      return `{{ ${expression} }}: '${segment}' is not a name; names are letters, digits, '_', '-', ':' and '$', joined by single dots`;
    }
  }
  return { expression, root, segments, offset };
}

/** Which dependency a `deps.…` reference names, and the field path after it. */
function splitDependency(
  segments: readonly string[],
  keys: readonly string[],
): { key: string; rest: string[] } | null {
  // The longest key wins, so a key with dots in it ('fetch.v2') is matched whole.
  for (let n = segments.length; n >= 1; n--) {
    const key = segments.slice(0, n).join('.');
    if (keys.includes(key)) return { key, rest: segments.slice(n) };
  }
  return null;
}

/** What a template may refer to before the task runs. */
export interface TemplateScope {
  /** The task's payload when it is known; `undefined` skips the payload checks. */
  payload?: Json | undefined;
  /** The keys of the task's dependencies (its `dependsOn`). */
  dependencyKeys: readonly string[];
}

/**
 * Every problem of a template that can be found before the task runs: a syntax error, a
 * dependency the task does not have, a dependency field other than result/state/error, a payload
 * path the payload lacks. Empty when none.
 */
export function checkTemplate(text: string, scope: TemplateScope): string[] {
  const { parts, errors } = scan(text);
  const problems: string[] = [...errors];
  for (const part of parts) {
    if (typeof part === 'string') continue;
    const problem =
      part.root === 'deps'
        ? dependencyProblem(part, scope.dependencyKeys)
        : scope.payload === undefined
          ? null
          : pathProblem(part, scope.payload, part.segments, 'the payload');
    if (problem !== null) problems.push(problem);
  }
  return problems;
}

function dependencyProblem(ref: TemplateRef, keys: readonly string[]): string | null {
  const found = splitDependency(ref.segments, keys);
  if (found === null) {
    const named = ref.segments[0] ?? '';
    const listed = keys.length > 0 ? formatList(keys) : 'none';
    return `{{ ${ref.expression} }}: '${named}' is not a dependency of this task${didYouMean(named, keys)}; its dependsOn: ${listed}. Add it to dependsOn or fix the name`;
  }
  const [field, ...rest] = found.rest;
  if (field === undefined) {
    return `{{ ${ref.expression} }}: name what of '${found.key}' to insert: {{ deps.${found.key}.result }}, .state or .error`;
  }
  if (!(DEP_FIELDS as readonly string[]).includes(field)) {
    return `{{ ${ref.expression} }}: a dependency has no field '${field}'${didYouMean(field, DEP_FIELDS)}; use .result (its result, or a path into it), .state or .error`;
  }
  if (field !== 'result' && rest.length > 0) {
    return `{{ ${ref.expression} }}: .${field} is a string; only .result takes a path after it`;
  }
  return null;
}

/** Why `path` does not lead anywhere in `value`, or null when it does. */
function pathProblem(
  ref: TemplateRef,
  value: Json | undefined,
  path: readonly string[],
  what: string,
): string | null {
  let current: Json | undefined = value;
  for (const [i, segment] of path.entries()) {
    const next = step(current, segment);
    if (next === undefined) {
      const at = path.slice(0, i).join('.');
      const where = at === '' ? what : `${what} at '${at}'`;
      const fields =
        current !== null && typeof current === 'object' && !Array.isArray(current)
          ? Object.keys(current)
          : [];
      const has =
        fields.length > 0
          ? `; it has ${formatList(fields)}`
          : Array.isArray(current)
            ? `; it is an array of ${current.length}`
            : `; it is ${current === null || current === undefined ? 'null' : `a ${typeof current}`}`;
      return `{{ ${ref.expression} }}: ${where} has no '${segment}'${didYouMean(segment, fields)}${has}`;
    }
    current = next;
  }
  return null;
}

function step(value: Json | undefined, segment: string): Json | undefined {
  if (Array.isArray(value)) {
    if (!/^\d+$/.test(segment)) return undefined;
    return value[Number(segment)];
  }
  if (value !== null && typeof value === 'object') {
    return Object.hasOwn(value, segment) ? value[segment] : undefined;
  }
  return undefined;
}

/** What a template is filled from when the task runs. */
export interface TemplateValues {
  payload: Json;
  dependencies: Record<string, DependencyOutcome>;
}

/**
 * Fill a template.
 * @throws TemplateError naming the first reference that does not resolve.
 */
export function renderTemplate(text: string, values: TemplateValues): string {
  const parts = parseTemplate(text);
  let out = '';
  for (const part of parts) {
    out += typeof part === 'string' ? part : format(resolve(part, values));
  }
  return out;
}

function resolve(ref: TemplateRef, values: TemplateValues): Json {
  if (ref.root === 'payload') {
    const problem = pathProblem(ref, values.payload, ref.segments, 'the payload');
    if (problem !== null) throw new TemplateError(problem);
    return walk(values.payload, ref.segments);
  }
  const keys = Object.keys(values.dependencies);
  const problem = dependencyProblem(ref, keys);
  if (problem !== null) throw new TemplateError(problem);
  const { key, rest } = splitDependency(ref.segments, keys)!;
  const outcome = values.dependencies[key]!;
  const [field, ...path] = rest;
  if (field === 'state') return outcome.state;
  if (field === 'error') return outcome.error?.message ?? '';
  const result = outcome.result;
  const missing = pathProblem(ref, result, path, `the result of '${key}'`);
  if (missing !== null) throw new TemplateError(missing);
  return walk(result, path);
}

function walk(value: Json, path: readonly string[]): Json {
  let current = value;
  for (const segment of path) current = step(current, segment)!;
  return current;
}

function format(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
