/**
 * The one validator every backend runs before storing anything, so bad input is refused the
 * same way everywhere and never half-enqueued. Input is `unknown`: it may come from an HTTP
 * body, a plan file or a script.
 *
 * Rules worth knowing:
 * - Objects are strict: an unknown field is an error that names it and suggests the field meant.
 * - Every problem is collected, and reported once as a `ValidationError` whose issues carry paths
 *   like `tasks[2].priority`. Graph problems (duplicate keys, unknown dependencies, cycles) are
 *   reported in the same error as field problems.
 * - `key` is optional, even in a run where other tasks use `dependsOn`: a task without a key
 *   takes part in the graph (it may depend on others) but nothing can depend on it. Its
 *   normalised `key` stays `null`.
 * - Duplicate `dependsOn` entries are collapsed; if one of them is hard, the dependency is hard.
 * - A `runAfter` that is not after `now` is stored as `null`: the task is due at once.
 * - A payload over the size limit, when it is the only problem, throws `PayloadTooLargeError`
 *   naming its path; otherwise it is one more issue of the `ValidationError`.
 */
import { z } from 'zod';
import { inspectDag, type DagNode } from './dag.ts';
import { PLAN_TASK_TYPE, checkPlanPayload } from './goal.ts';
import { LLM_TASK_TYPE, checkLlmPayload } from './llm.ts';
import { MAX_DEPTH, MAX_DOCUMENT_DEPTH } from './nesting.ts';
import {
  CycleError,
  PayloadTooLargeError,
  ValidationError,
  type ValidationIssue,
} from './errors.ts';
import { MAX_USD, budgetProblem } from './ledger.ts';
import { parsePriority, priorityProblem } from './priority.ts';
import { resolveRetryPolicy } from './retry.ts';
import { describeValue, didYouMean, truncate } from './text.ts';
import type { Json, NormalizedTask, PriorityName, RetryPolicy } from './types.ts';

/** Hard limits on what one submission may contain. */
export const LIMITS = {
  /** Bytes of `JSON.stringify(payload)` (UTF-8) per task; backends may lower it. */
  maxPayloadBytes: 1_048_576,
  /** Tasks in one submission. */
  maxTasksPerRun: 100_000,
  /**
   * Characters of a task key, a dependency key, an epic, a capability, an idempotency key, an
   * agent's id, host and version, and a label's name and value.
   */
  maxKeyLength: 200,
  /** Characters of a task type. */
  maxTypeLength: 100,
  /** Distinct capabilities in one task's `requires`. */
  maxCapabilities: 64,
  /** Characters of a task title or a run name. */
  maxTitleLength: 1000,
  /**
   * Levels of objects and arrays inside one another in a payload, a result or event data; the
   * same from the SDK, a plan file and the HTTP API (see `nesting.ts`).
   */
  maxDepth: MAX_DEPTH,
  /** Levels a request body or plan file may nest in all: {@link LIMITS.maxDepth} plus a margin. */
  maxDocumentDepth: MAX_DOCUMENT_DEPTH,
  /** Largest `timeoutMs` and backoff delay: the longest delay a JavaScript timer can wait (~24.8 days). */
  maxTimerMs: 2_147_483_647,
  /** Largest `maxAttempts`. */
  maxAttempts: 1000,
  /** Rules in one task's `affinity`. */
  maxAffinityRules: 32,
  /** Largest absolute `weight` of an affinity rule. */
  maxAffinityWeight: 1_000_000,
  /** Largest budget of a run or task, in USD (`budget.usd`). */
  maxBudgetUsd: MAX_USD,
} as const;

/** What a task key must look like: no spaces, no `#` (reserved for tasks without a key). */
export const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export interface NormalizeOptions {
  /** The current time in epoch ms; a `runAfter` not after it means "due now". */
  now: number;
  /**
   * Largest payload, in bytes of UTF-8 JSON.
   * @default LIMITS.maxPayloadBytes (1 MiB)
   */
  maxPayloadBytes?: number;
  /**
   * Keys of tasks already stored in the run these tasks join (dynamic graphs): `dependsOn` may
   * name them, and a new task may not reuse one.
   * @default none
   */
  existingKeys?: ReadonlySet<string>;
  /**
   * Prepended to issue paths. For `normalizeTasks` it names the task list
   * (`tasks` gives `tasks[2].priority`); for `normalizeRun` it names the run object
   * (`''` gives `tasks[2].priority`, `run` gives `run.tasks[2].priority`).
   * @default 'tasks' for normalizeTasks, '' for normalizeRun
   */
  pathPrefix?: string;
}

/**
 * Validate and normalise a batch of task specs (standalone, or added to an existing run): every
 * default applied, `criticalPath` and `level` filled in from the batch's graph. An empty array
 * gives an empty result.
 *
 * @throws ValidationError with every issue found; CycleError when the only problem is a cycle;
 *   PayloadTooLargeError when the only problem is an oversized payload.
 */
export function normalizeTasks(specs: unknown, options: NormalizeOptions): NormalizedTask[] {
  const prefix = options.pathPrefix ?? 'tasks';
  const issues: ValidationIssue[] = [];
  if (!Array.isArray(specs)) {
    throw new ValidationError([
      { path: prefix, message: `must be an array of tasks; got ${describeValue(specs)}` },
    ]);
  }
  const batch = checkTasks(specs, prefix, options, issues);
  settle(issues, batch);
  return batch.tasks;
}

/**
 * Validate and normalise a run: `{ name?, tasks }` with at least one task.
 *
 * @returns the run's name (default `run`), its tasks, and its width (the most tasks that could
 *   run at once).
 * @throws as {@link normalizeTasks} does.
 */
export function normalizeRun(
  spec: unknown,
  options: NormalizeOptions,
): { name: string; tasks: NormalizedTask[]; width: number; budgetUsd: number | null } {
  const base = options.pathPrefix ?? '';
  const tasksPath = joinPath(base, 'tasks');
  const issues: ValidationIssue[] = [];
  const shell = runShellSchema.safeParse(spec, { reportInput: true });
  if (!shell.success) {
    convertIssues(shell.error.issues, base, RUN_FIELDS, issues);
    // Without an object there is nothing more to check.
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
      throw new ValidationError(issues);
  }
  const raw = spec as { name?: unknown; tasks?: unknown };
  const name = shell.success ? (shell.data.name ?? 'run') : 'run';
  const budgetUsd = shell.success ? (shell.data.budget ?? null) : null;
  let batch: Batch = { path: tasksPath, tasks: [], sizeProblem: null, cycle: null, width: 0 };
  if (Array.isArray(raw.tasks)) {
    if (raw.tasks.length === 0) {
      issues.push({ path: tasksPath, message: 'a run needs at least one task' });
    } else {
      batch = checkTasks(raw.tasks, tasksPath, options, issues);
    }
  }
  settle(issues, batch);
  return { name, tasks: batch.tasks, width: batch.width, budgetUsd };
}

/**
 * Check that `value` is plain JSON within `maxBytes`, e.g. a handler's result before it is
 * stored. Returns its size in bytes.
 *
 * @param where how messages name the value, e.g. `result of task 01J…`.
 * @throws ValidationError when it is not JSON; PayloadTooLargeError when it is too big.
 */
export function checkJson(
  value: unknown,
  where: string,
  maxBytes: number = LIMITS.maxPayloadBytes,
): number {
  const problem = jsonProblem(value, where);
  if (problem) throw new ValidationError([problem]);
  const bytes = jsonByteLength(value);
  if (bytes > maxBytes) throw new PayloadTooLargeError(where, bytes, maxBytes);
  return bytes;
}

/**
 * Check the `types` filter of a claim or a wait for work: absent, or an array of task type
 * names. An empty array is valid (it matches no task).
 * @param path how the message names the field, e.g. `claim.types`.
 * @throws ValidationError naming the path and the bad value.
 */
export function checkTypeFilter(types: unknown, path: string): void {
  if (types === undefined) return;
  if (!Array.isArray(types)) {
    throw new ValidationError([
      {
        path,
        message: `must be an array of task type names (or absent for any type); got ${describeValue(types)}`,
      },
    ]);
  }
  const bad = types.findIndex((t) => typeof t !== 'string' || t.length === 0);
  if (bad >= 0) {
    throw new ValidationError([
      {
        path: `${path}[${bad}]`,
        message: `must be a non-empty task type name; got ${describeValue(types[bad])}`,
      },
    ]);
  }
}

/**
 * The order of a run listing: `desc` (newest first, the default) or `asc`.
 * @throws ValidationError for any other value.
 */
export function runListOrder(order: unknown, path: string): 'asc' | 'desc' {
  if (order === undefined || order === 'desc') return 'desc';
  if (order === 'asc') return 'asc';
  throw new ValidationError([
    {
      path,
      message: `must be 'asc' (oldest first) or 'desc' (newest first); got ${describeValue(order)}`,
    },
  ]);
}

/** Bytes of `JSON.stringify(value)` in UTF-8 (`undefined` counts as `null`). */
export function jsonByteLength(value: unknown): number {
  return utf8Length(JSON.stringify(value) ?? 'null');
}

// ---------------------------------------------------------------------------------------------
// Schemas. zod checks shapes and scalar fields; payload, graph and size checks are done by hand
// because their messages need more context than a schema has.

const TASK_FIELDS = [
  'type',
  'payload',
  'key',
  'title',
  'epic',
  'requires',
  'priority',
  'maxAttempts',
  'timeoutMs',
  'backoff',
  'idempotencyKey',
  'runAfter',
  'dependsOn',
  'affinity',
  'budget',
  'aggregate',
] as const;
const RUN_FIELDS = ['name', 'tasks', 'budget'] as const;
const DEPENDENCY_FIELDS = ['key', 'soft'] as const;
const BACKOFF_FIELDS = ['baseMs', 'maxMs', 'factor', 'jitter'] as const;
const AFFINITY_FIELDS = ['label', 'value', 'weight'] as const;

const KEY_RULE =
  "use ASCII letters (A-Z, a-z), digits, '.', '_', ':' and '-', starting with a letter or digit";

function text(max: number) {
  return z
    .string()
    .max(max)
    .refine((s) => s.trim().length > 0, { error: 'must not be empty' });
}

const keySchema = z
  .string()
  .max(LIMITS.maxKeyLength)
  .regex(KEY_PATTERN, {
    error: (issue) =>
      issue.input === ''
        ? 'must not be empty'
        : `'${truncate(String(issue.input), 60)}' is not a valid key: ${KEY_RULE}`,
  });

/** Any string: whether it names a task is the graph's question, which answers more helpfully. */
const dependencyKeySchema = z
  .string()
  .max(LIMITS.maxKeyLength)
  .refine((s) => s.length > 0, { error: 'must not be empty' });

const dependencySchema = z.union([
  dependencyKeySchema,
  z.strictObject({ key: dependencyKeySchema, soft: z.boolean().nullish() }),
]);

const affinitySchema = z.strictObject({
  label: text(LIMITS.maxKeyLength),
  value: z.string().max(LIMITS.maxKeyLength),
  weight: z.number().min(-LIMITS.maxAffinityWeight).max(LIMITS.maxAffinityWeight).nullish(),
});

const delayMs = z.int().min(0).max(LIMITS.maxTimerMs);

/** `budget: { usd }` → the USD amount (core/ledger.ts budgetProblem words what is wrong). */
const budgetSchema = z.unknown().transform((value, ctx): number | null => {
  if (value === undefined || value === null) return null;
  const problem = budgetProblem(value);
  if (problem !== null) {
    ctx.issues.push({ code: 'custom', message: problem.message, input: value, path: problem.path });
    return z.NEVER;
  }
  return (value as { usd: number }).usd;
});

const backoffSchema = z.strictObject({
  baseMs: delayMs.nullish(),
  maxMs: delayMs.nullish(),
  // Below 1 the delay would shrink with each attempt, which is never what backoff means.
  factor: z.number().min(1).max(100).nullish(),
  jitter: z.enum(['full', 'equal', 'none']).nullish(),
});

const prioritySchema = z.unknown().transform((value, ctx) => {
  const problem = priorityProblem(value);
  if (problem !== null) {
    ctx.issues.push({ code: 'custom', message: problem, input: value });
    return z.NEVER;
  }
  return parsePriority(value as number | PriorityName | undefined);
});

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

const runAfterSchema = z.unknown().transform((value, ctx): number | null => {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
    ctx.issues.push({
      code: 'custom',
      message: `must be a time in epoch milliseconds (>= 0) or an ISO 8601 date; got ${describeValue(value)}`,
      input: value,
    });
    return z.NEVER;
  }
  if (typeof value === 'string') {
    const parsed = ISO_DATE.test(value) ? Date.parse(value) : Number.NaN;
    if (!Number.isNaN(parsed)) return parsed;
    // A date-time without a zone would be read in the server's local time zone: refuse it
    // rather than guess.
    const zoneless = /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(value);
    ctx.issues.push({
      code: 'custom',
      message: zoneless
        ? `'${truncate(value, 60)}' has no time zone: add 'Z' (UTC) or an offset such as '+02:00'`
        : `'${truncate(value, 60)}' is not an ISO 8601 date such as '2030-01-31T09:00:00Z'; epoch milliseconds work too`,
      input: value,
    });
    return z.NEVER;
  }
  ctx.issues.push({
    code: 'custom',
    message: `must be a time in epoch milliseconds or an ISO 8601 date; got ${describeValue(value)}`,
    input: value,
  });
  return z.NEVER;
});

const taskSchema = z.strictObject({
  type: text(LIMITS.maxTypeLength),
  // Checked by jsonProblem, which can point inside the payload.
  payload: z.unknown().optional(),
  key: keySchema.nullish(),
  title: text(LIMITS.maxTitleLength).nullish(),
  epic: text(LIMITS.maxKeyLength).nullish(),
  requires: z.array(text(LIMITS.maxKeyLength)).nullish(),
  priority: prioritySchema.optional(),
  maxAttempts: z.int().min(1).max(LIMITS.maxAttempts).nullish(),
  timeoutMs: z.int().min(1).max(LIMITS.maxTimerMs).nullish(),
  backoff: backoffSchema.nullish(),
  idempotencyKey: text(LIMITS.maxKeyLength).nullish(),
  runAfter: runAfterSchema.optional(),
  dependsOn: z.array(dependencySchema).nullish(),
  affinity: z.array(affinitySchema).max(LIMITS.maxAffinityRules).nullish(),
  budget: budgetSchema.optional(),
  aggregate: z.boolean().nullish(),
});

const runShellSchema = z.strictObject({
  name: text(LIMITS.maxTitleLength).nullish(),
  budget: budgetSchema.optional(),
  // Checked task by task, so that each task's issues get their own paths.
  tasks: z.array(z.unknown()),
});

type ParsedTask = z.output<typeof taskSchema>;

// ---------------------------------------------------------------------------------------------

interface Batch {
  tasks: NormalizedTask[];
  /** Path of the task list, where batch-wide issues are reported. */
  path: string;
  /** The first oversized payload, when that is the only kind of problem in the batch. */
  sizeProblem: { where: string; bytes: number; limit: number } | null;
  cycle: string[] | null;
  width: number;
}

const DEFAULT_MAX_ATTEMPTS = 3;

function checkTasks(
  specs: readonly unknown[],
  prefix: string,
  options: NormalizeOptions,
  issues: ValidationIssue[],
): Batch {
  if (specs.length > LIMITS.maxTasksPerRun) {
    // Checking a million tasks only to refuse them all is wasted work.
    issues.push({
      path: prefix,
      message: `has ${specs.length} tasks, over the limit of ${LIMITS.maxTasksPerRun}; split the work into several runs`,
    });
    return { path: prefix, tasks: [], sizeProblem: null, cycle: null, width: 0 };
  }
  const maxBytes = options.maxPayloadBytes ?? LIMITS.maxPayloadBytes;
  const tasks: NormalizedTask[] = [];
  const nodes: DagNode[] = [];
  const sizeIssues: { issue: ValidationIssue; bytes: number }[] = [];
  const issuesBefore = issues.length;

  for (let i = 0; i < specs.length; i++) {
    const raw = specs[i];
    const path = `${prefix}[${i}]`;
    const parsed = taskSchema.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
      convertIssues(parsed.error.issues, path, TASK_FIELDS, issues);
    }
    // The payload is checked even when other fields are wrong, so one round of fixes suffices.
    const payload =
      raw !== null && typeof raw === 'object' ? (raw as { payload?: unknown }).payload : undefined;
    const payloadPath = `${path}.payload`;
    const notJson = jsonProblem(payload, payloadPath);
    if (notJson) {
      issues.push(notJson);
    } else {
      const bytes = jsonByteLength(payload);
      if (bytes > maxBytes) {
        sizeIssues.push({
          issue: {
            path: payloadPath,
            message: `is ${bytes} bytes, over the limit of ${maxBytes} bytes; store large data elsewhere and pass a reference`,
          },
          bytes,
        });
      }
    }
    if (parsed.success) {
      const task = toNormalized(parsed.data, payload, options.now);
      const capabilityCount = task.requires.length;
      if (capabilityCount > LIMITS.maxCapabilities) {
        issues.push({
          path: `${path}.requires`,
          message: `has ${capabilityCount} distinct capabilities, over the limit of ${LIMITS.maxCapabilities}`,
        });
      }
      // A built-in executor's payload is checked here, so a bad one is never stored (docs/llm.md).
      if (task.type === LLM_TASK_TYPE && !notJson) {
        const dependencyKeys = task.dependsOn.map((d) => d.key);
        for (const issue of checkLlmPayload(payload, { dependencyKeys })) {
          issues.push({
            path: issue.path === '' ? payloadPath : `${payloadPath}.${issue.path}`,
            message: issue.message,
          });
        }
      }
      if (task.type === PLAN_TASK_TYPE && !notJson) {
        for (const issue of checkPlanPayload(payload)) {
          issues.push({
            path: issue.path === '' ? payloadPath : `${payloadPath}.${issue.path}`,
            message: issue.message,
          });
        }
      }
      tasks.push(task);
      nodes.push({ key: task.key ?? `#${i}`, dependsOn: task.dependsOn });
    } else {
      nodes.push(looseNode(raw, i));
    }
  }

  const graph = inspectDag(nodes, {
    pathPrefix: prefix,
    ...(options.existingKeys ? { externalKeys: options.existingKeys } : {}),
  });
  issues.push(...graph.issues);
  const otherProblems = issues.length > issuesBefore;
  if (otherProblems) issues.push(...sizeIssues.map((s) => s.issue));
  const firstSize = sizeIssues[0];

  // Only a clean batch gets its graph figures; then every task parsed, so indices line up.
  if (issues.length === issuesBefore && !graph.cycle) {
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i];
      if (!task) continue;
      task.level = graph.levels[i] ?? 0;
      task.criticalPath = graph.criticalPath[i] ?? 1;
    }
  }
  return {
    path: prefix,
    tasks,
    sizeProblem:
      !otherProblems && firstSize
        ? { where: firstSize.issue.path, bytes: firstSize.bytes, limit: maxBytes }
        : null,
    cycle: graph.cycle,
    width: graph.width,
  };
}

/** Throw what was found: issues first (with the cycle among them), else the cycle, else the size. */
function settle(issues: ValidationIssue[], batch: Batch): void {
  if (issues.length > 0) {
    if (batch.cycle)
      issues.push({ path: batch.path, message: new CycleError(batch.cycle).message });
    if (batch.sizeProblem) {
      issues.push({
        path: batch.sizeProblem.where,
        message: `is ${batch.sizeProblem.bytes} bytes, over the limit of ${batch.sizeProblem.limit} bytes; store large data elsewhere and pass a reference`,
      });
    }
    throw new ValidationError(issues);
  }
  if (batch.cycle) throw new CycleError(batch.cycle);
  if (batch.sizeProblem) {
    // sizeProblem is only set when nothing else is wrong; the limit is in the message.
    throw new PayloadTooLargeError(
      batch.sizeProblem.where,
      batch.sizeProblem.bytes,
      batch.sizeProblem.limit,
    );
  }
}

function toNormalized(spec: ParsedTask, payload: unknown, now: number): NormalizedTask {
  const runAfter = spec.runAfter ?? null;
  return {
    type: spec.type,
    payload: (payload ?? null) as Json,
    key: spec.key ?? null,
    title: spec.title ?? null,
    epic: spec.epic ?? null,
    // Trimmed: a stray space would make a capability no agent has, and the task unclaimable.
    requires: [...new Set((spec.requires ?? []).map((c) => c.trim()))].sort(),
    priority: spec.priority ?? parsePriority(undefined),
    maxAttempts: spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    timeoutMs: spec.timeoutMs ?? null,
    backoff: resolveRetryPolicy(backoffOverrides(spec.backoff)),
    idempotencyKey: spec.idempotencyKey ?? null,
    runAfter: runAfter !== null && runAfter > now ? runAfter : null,
    dependsOn: collapseDependencies(spec.dependsOn ?? []),
    affinity: (spec.affinity ?? []).map((rule) => ({
      label: rule.label,
      value: rule.value,
      weight: rule.weight ?? 1,
    })),
    criticalPath: 1,
    level: 0,
    ...(spec.budget == null ? {} : { budgetUsd: spec.budget }),
    ...(spec.aggregate === true ? { aggregate: true } : {}),
  };
}

/** The fields a task set (null counts as unset), for resolveRetryPolicy to fill in. */
function backoffOverrides(backoff: ParsedTask['backoff']): Partial<RetryPolicy> {
  const out: Partial<RetryPolicy> = {};
  if (backoff?.baseMs != null) out.baseMs = backoff.baseMs;
  if (backoff?.maxMs != null) out.maxMs = backoff.maxMs;
  if (backoff?.factor != null) out.factor = backoff.factor;
  if (backoff?.jitter != null) out.jitter = backoff.jitter;
  return out;
}

/** One entry per key, in first-mention order; hard if any mention is hard. */
function collapseDependencies(
  entries: readonly (string | { key: string; soft?: boolean | null | undefined })[],
): { key: string; soft: boolean }[] {
  const byKey = new Map<string, { key: string; soft: boolean }>();
  for (const entry of entries) {
    const key = typeof entry === 'string' ? entry : entry.key;
    const soft = typeof entry === 'string' ? false : entry.soft === true;
    const seen = byKey.get(key);
    if (seen) seen.soft = seen.soft && soft;
    else byKey.set(key, { key, soft });
  }
  return [...byKey.values()];
}

/**
 * A best-effort graph node for a task that failed validation, so graph problems elsewhere are
 * still reported in the same round, and tasks depending on this one are not told its key is
 * unknown.
 */
function looseNode(raw: unknown, index: number): DagNode {
  if (raw === null || typeof raw !== 'object') return { key: `#${index}`, dependsOn: [] };
  const { key, dependsOn } = raw as { key?: unknown; dependsOn?: unknown };
  const deps: { key: string; soft: boolean }[] = [];
  if (Array.isArray(dependsOn)) {
    for (const entry of dependsOn as unknown[]) {
      if (typeof entry === 'string') deps.push({ key: entry, soft: false });
      else if (entry !== null && typeof entry === 'object') {
        const depKey = (entry as { key?: unknown }).key;
        if (typeof depKey === 'string') deps.push({ key: depKey, soft: false });
      }
    }
  }
  // Use the list only when every entry had a key: otherwise graph issues would be reported at
  // shifted positions (dependsOn[j]). The broken entries have issues of their own already.
  const intact = Array.isArray(dependsOn) && deps.length === dependsOn.length;
  return {
    key: typeof key === 'string' && key.length > 0 ? key : `#${index}`,
    dependsOn: intact ? deps : [],
  };
}

// ---------------------------------------------------------------------------------------------
// JSON payloads

/**
 * The first reason `value` is not plain JSON (with the path inside it), or null. Iterative, so a
 * hostile deeply nested value cannot overflow the stack. `undefined` object properties are
 * allowed (`JSON.stringify` drops them); an `undefined` root means "no payload".
 */
function jsonProblem(value: unknown, root: string): ValidationIssue | null {
  // `shown` is the path cut after a few levels, for the message about nesting too deep.
  const stack: { value: unknown; path: string; shown: string; depth: number }[] = [
    { value, path: root, shown: root, depth: 0 },
  ];
  const inProgress = new Set<object>();
  const exits: { object: object; at: number }[] = [];
  while (stack.length > 0) {
    // Objects leave `inProgress` once everything pushed after them is done, which detects
    // cycles without recursion while still allowing the same object twice in siblings.
    while (exits.length > 0 && (exits[exits.length - 1]?.at ?? 0) >= stack.length) {
      const done = exits.pop();
      if (done) inProgress.delete(done.object);
    }
    const item = stack.pop();
    if (!item) break;
    const { value: v, path, shown, depth } = item;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (v === undefined) {
      if (path === root) continue;
      return { path, message: 'is undefined, which JSON cannot represent; use null' };
    }
    if (typeof v === 'number') {
      if (Number.isFinite(v)) continue;
      return { path, message: `is ${String(v)}, which JSON cannot represent` };
    }
    if (typeof v !== 'object') {
      return { path, message: `is a ${typeof v}, which JSON cannot represent` };
    }
    const child = (segment: string): { path: string; shown: string; depth: number } => {
      const full = path + segment;
      const cut = depth < SHOWN_DEPTH ? full : shown.endsWith('…') ? shown : `${shown}…`;
      return { path: full, shown: cut, depth: depth + 1 };
    };
    if (depth >= LIMITS.maxDepth) {
      return {
        path: shown,
        message: `nests objects and arrays deeper than ${LIMITS.maxDepth} levels, the limit for payloads, results and event data; flatten it`,
      };
    }
    if (inProgress.has(v))
      return { path, message: 'refers back to itself (a cycle); JSON cannot represent it' };
    if (Array.isArray(v)) {
      exits.push({ object: v, at: stack.length });
      inProgress.add(v);
      for (let i = v.length - 1; i >= 0; i--) {
        if (!(i in v))
          return { path: `${path}[${i}]`, message: 'is a hole in a sparse array; use null' };
        stack.push({ value: v[i] as unknown, ...child(`[${i}]`) });
      }
      continue;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
      const hint = v instanceof Date ? ' (use date.toISOString() or epoch ms)' : '';
      return {
        path,
        message: `is a ${typeof name === 'string' && name ? name : 'non-plain object'}, not plain JSON${hint}`,
      };
    }
    exits.push({ object: v, at: stack.length });
    inProgress.add(v);
    const entries = Object.entries(v as Record<string, unknown>);
    for (let k = entries.length - 1; k >= 0; k--) {
      const entry = entries[k];
      if (!entry || entry[1] === undefined) continue;
      stack.push({ value: entry[1], ...child(propertyPath(entry[0])) });
    }
  }
  return null;
}

/** Levels of a path shown in the message about nesting too deep; deeper ones become `…`. */
const SHOWN_DEPTH = 8;

function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4; // a surrogate pair is one 4-byte code point
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// zod issues → our issues

type ZodIssue = z.core.$ZodIssue;

function convertIssues(
  zodIssues: readonly ZodIssue[],
  base: string,
  rootFields: readonly string[],
  out: ValidationIssue[],
  parentPath: readonly PropertyKey[] = [],
): void {
  for (const issue of zodIssues) {
    const fullPath = [...parentPath, ...issue.path];
    const path = joinPath(base, formatPath(fullPath));
    const input = 'input' in issue ? issue.input : undefined;
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = fieldsAt(fullPath, rootFields);
        for (const field of issue.keys) {
          out.push({
            path,
            message: `unknown field '${field}'${didYouMean(field, known)}; allowed fields: ${known.join(', ')}`,
          });
        }
        break;
      }
      case 'invalid_type':
        out.push({
          path,
          message:
            input === undefined
              ? 'is required'
              : `must be ${expectedText(issue.expected)}; got ${describeValue(input)}`,
        });
        break;
      case 'too_small':
      case 'too_big':
        out.push({ path, message: boundText(issue, input) });
        break;
      case 'invalid_value': {
        const values = issue.values.map((v) => `'${String(v)}'`).join(', ');
        const hint = typeof input === 'string' ? didYouMean(input, issue.values.map(String)) : '';
        out.push({ path, message: `must be one of ${values}; got ${describeValue(input)}${hint}` });
        break;
      }
      case 'invalid_union': {
        // Report the branch the input was evidently aiming at (a key string, or { key, soft }).
        const branch =
          typeof input === 'string'
            ? 0
            : input !== null && typeof input === 'object' && !Array.isArray(input)
              ? 1
              : -1;
        const branchIssues = branch >= 0 ? issue.errors[branch] : undefined;
        if (branchIssues && branchIssues.length > 0) {
          convertIssues(branchIssues, base, rootFields, out, fullPath);
        } else {
          out.push({
            path,
            message: `must be a task key or { key, soft }; got ${describeValue(input)}`,
          });
        }
        break;
      }
      default:
        out.push({ path, message: issue.message });
    }
  }
}

function fieldsAt(path: readonly PropertyKey[], rootFields: readonly string[]): readonly string[] {
  if (path.length === 0) return rootFields;
  const last = path[path.length - 1];
  if (last === 'backoff') return BACKOFF_FIELDS;
  if (typeof last === 'number' && path[path.length - 2] === 'affinity') return AFFINITY_FIELDS;
  if (typeof last === 'number' && path[path.length - 2] === 'dependsOn') return DEPENDENCY_FIELDS;
  return rootFields;
}

function expectedText(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'array':
    case 'object':
      return `an ${expected}`;
    default:
      return `a ${expected}`;
  }
}

function boundText(
  issue: { code: 'too_small' | 'too_big'; origin: string; inclusive?: boolean } & (
    { minimum: number | bigint } | { maximum: number | bigint }
  ),
  input: unknown,
): string {
  const small = issue.code === 'too_small';
  const limit = Number('minimum' in issue ? issue.minimum : issue.maximum);
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case 'string':
      if (small && limit <= 1) return 'must not be empty';
      return `must be ${small ? 'at least' : 'at most'} ${limit} characters${
        typeof input === 'string' ? ` (got ${input.length})` : ''
      }`;
    case 'array':
      return `must have ${small ? 'at least' : 'at most'} ${limit} entries${
        Array.isArray(input) ? ` (got ${input.length})` : ''
      }`;
    default: {
      const relation = small
        ? inclusive
          ? 'at least'
          : 'greater than'
        : inclusive
          ? 'at most'
          : 'less than';
      return `must be ${relation} ${limit}; got ${describeValue(input)}`;
    }
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path)
    out += typeof part === 'number' ? `[${part}]` : propertyPath(String(part));
  return out;
}

function propertyPath(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

/** `base` followed by `rest`, which is a field name, `.field…` or `[i]…`; no leading dot. */
function joinPath(base: string, rest: string): string {
  if (!base) return rest.startsWith('.') ? rest.slice(1) : rest;
  if (!rest || rest.startsWith('.') || rest.startsWith('[')) return base + rest;
  return `${base}.${rest}`;
}
