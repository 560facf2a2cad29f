/**
 * Plan files: a run written down as YAML or JSON, so a person (or a planner agent) can describe
 * a DAG of tasks once and submit it with `baton run plan.yaml`.
 *
 * ```yaml
 * name: quickstart
 * defaults: { maxAttempts: 2, requires: [shell] }
 * tasks:
 *   - key: fetch
 *     command: curl
 *     args: [-fsSO, https://example.com/data.csv]
 *   - key: report
 *     command: ./report.sh data.csv > report.txt
 *     shell: true
 *     dependsOn: [fetch]
 * ```
 *
 * A plan may also declare the agents `baton run` starts for it (`agents:`, see {@link PlanAgent});
 * other ways of submitting ignore them.
 *
 * A task with `executor: llm` is a model call, described by `model`, `prompt`, `system`,
 * `maxTokens`, `temperature` and `output` (docs/llm.md); its `payload:` holds data its templates
 * read. Those fields are checked here too: a template naming a dependency the task does not
 * have, or an `output` that is not a valid JSON Schema, is a plan error.
 *
 * Loading checks everything a backend would refuse, up front, and every problem names its file,
 * line and field. The checks are in three layers, all reported together:
 * 1. the file's shape (a zod schema of the plan format: unknown fields, wrong types);
 * 2. plan rules (which executor, shell-only fields, a command with spaces);
 * 3. the core validator every backend runs (`normalizeRun`: keys, priorities, dependencies,
 *    cycles), whose issue paths are mapped back to lines of the file.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';

import {
  LineCounter,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import { z } from 'zod';

import {
  BatonError,
  CycleError,
  PayloadTooLargeError,
  PlanError,
  ValidationError,
  type PlanIssue,
  type ValidationIssue,
} from '../core/errors.ts';
import { AGENT_FIELDS, AGENT_TASK_TYPE, DOMAIN_PATTERN, checkAgentPayload } from '../core/agent.ts';
import { LLM_FIELDS, LLM_TASK_TYPE, checkLlmPayload } from '../core/llm.ts';
import { describeValue, didYouMean } from '../core/text.ts';
import type { Budget, Json, RunSpec, TaskSpec } from '../core/types.ts';
import { KEY_PATTERN, LIMITS, normalizeRun } from '../core/validate.ts';
import { readYaml } from './plan-yaml.ts';

/** A loaded plan: the run to submit, and where each task came from. */
export interface Plan {
  /** The file as it was named (messages use this form). */
  file: string;
  /** The run name: the plan's `name`, or the file name without its extension. */
  name: string;
  /** What to submit; `run.tasks[i]` is `tasks[i].spec`. */
  run: RunSpec;
  tasks: PlanTask[];
  /** The plan's own agents (`agents:`), in file order; null when it declares none. */
  agents: PlanAgent[] | null;
  /**
   * Git worktrees for its tasks (`repo:` and/or `worktrees:`, docs/worktrees.md); null when it
   * has neither. Checked for shape here; the repository itself is checked by `src/workspace/`
   * before anything is submitted.
   */
  workspace: PlanWorkspace | null;
}

/**
 * A plan's worktree settings (docs/worktrees.md):
 *
 * ```yaml
 * repo: .                    # the git repository (default: the one of the current directory)
 * worktrees:
 *   strategy: by_task        # or by_epic: an epic's tasks share a worktree, one at a time
 *   base: main               # the branch the run's integration branch is cut from
 *   merge: merge             # or squash; or { mode: squash, into: main }
 *   conflict: resolve        # or fail
 *   resolver: { command: sh, args: [-c, './resolve.sh'], budget: { usd: 0.5 } }
 * ```
 */
export interface PlanWorkspace {
  /** Where the repository is, resolved against the plan's directory; null: the current directory's. */
  repo: string | null;
  /** @default 'by_task', or the config file's `parallel.strategy` */
  strategy: 'by_task' | 'by_epic';
  /** Whether the plan set `strategy` (else the config file's may). */
  strategyGiven: boolean;
  /** The base branch; null: the branch checked out where the repository is. */
  base: string | null;
  /** @default 'merge' */
  merge: 'merge' | 'squash';
  /** Where the integration branch goes when the run succeeds; null: nowhere (`baton merge`). */
  into: string | null;
  /** @default 'resolve' */
  conflict: 'resolve' | 'fail';
  /**
   * What a `resolve-conflict` task of a shell task runs (its payload's command fields); null: the
   * conflicting task's own command again.
   */
  resolver: { command: string | string[]; args?: string[]; shell?: boolean } | null;
  /** A `resolve-conflict` task's own budget in USD (`resolver.budget.usd`); null: none of its own. */
  resolverBudgetUsd: number | null;
  /** Where `worktrees:` (or `repo:`) is in the file, 1-based. */
  line: number;
  column: number;
}

/**
 * One local agent a plan declares for `baton run`, which starts exactly these instead of its
 * generic pool (and adds `shell` to each one's capabilities, so it can run shell tasks).
 *
 * ```yaml
 * agents:
 *   - name: analyst
 *     capabilities: [data_analysis, database_operations]
 *     labels: { region: eu }
 *     concurrency: 2
 * ```
 */
export interface PlanAgent {
  /** Unique in the plan; names the agent in the summary, the logs and `baton agents`. */
  name: string;
  /** As written, trimmed and without duplicates. @default [] */
  capabilities: string[];
  /** Matched by tasks' `affinity` rules. @default {} */
  labels: Record<string, string>;
  /** Tasks it runs at once. @default 1 */
  concurrency: number;
  /** Where the agent starts in the file, 1-based. */
  line: number;
  column: number;
}

export interface PlanTask {
  key: string;
  /** The executor, which is the task's `type`: `shell`, or the name of a registered handler. */
  executor: string;
  /** Where the task starts in the file, 1-based. */
  line: number;
  column: number;
  spec: TaskSpec;
}

/** Read and check a plan file (`.yaml`, `.yml` or `.json`). @throws PlanError */
export async function loadPlan(file: string): Promise<Plan> {
  const ext = extname(file).toLowerCase();
  if (!PLAN_EXTENSIONS.includes(ext)) {
    throw new PlanError(file, [
      {
        line: 1,
        column: 1,
        field: '',
        message: `unsupported plan file extension '${ext || '(none)'}'; use ${PLAN_EXTENSIONS.join(', ')}`,
      },
    ]);
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? `no such file (looked in ${resolve(file)})`
        : code === 'EISDIR'
          ? 'is a directory, not a plan file'
          : `cannot be read: ${(error as Error).message}`;
    throw new PlanError(file, [{ line: 1, column: 1, field: '', message: why }], { cause: error });
  }
  return parsePlan(text, file);
}

/**
 * A YAML file's document, read within the nesting limit (checked before it is composed, see
 * plan-yaml.ts), and the locator of its values' lines. Plans, the config file and expertise files
 * are read through it.
 * @throws PlanError listing each YAML syntax error at its line.
 */
export function readYamlDocument(
  text: string,
  file: string,
): { doc: Document.Parsed; locator: Locator } {
  const lines = new LineCounter();
  const doc = readYaml(text, file, lines);
  if (doc.errors.length > 0) {
    throw new PlanError(
      file,
      doc.errors.map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        return { line, column: col, field: '', message: yamlMessage(error.code, error.message) };
      }),
    );
  }
  return { doc, locator: new Locator(doc, lines) };
}

/**
 * Check a plan given as text. `file` names it in messages, gives the default run name, and
 * anchors relative `cwd`s (its directory, resolved against the process's working directory).
 * JSON is read as the YAML it also is, so both report lines the same way.
 *
 * @throws PlanError listing every issue found, each with its line.
 */
export function parsePlan(text: string, file: string): Plan {
  const { doc, locator } = readYamlDocument(text, file);

  let data: unknown;
  try {
    // Anchors and aliases are fine; an alias bomb is not.
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    throw new PlanError(
      file,
      [{ line: 1, column: 1, field: '', message: (error as Error).message }],
      {
        cause: error,
      },
    );
  }

  const issues = new IssueList(locator);
  if (data === null || data === undefined) {
    issues.add([], 'the plan is empty; it needs at least a tasks: list');
    issues.throwIfAny(file);
  }
  const parsed = planSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) issues.addZod(issue);
  }
  // Without a mapping at the top there is nothing more to check.
  if (!isRecord(data)) issues.throwIfAny(file);

  const raw = data as RawPlan;
  const defaults: RawDefaults = isRecord(raw.defaults) ? raw.defaults : {};
  const baseDir = resolve(dirname(file));
  const rawTasks = Array.isArray(raw.tasks) ? (raw.tasks as unknown[]) : [];

  const tasks: PlanTask[] = [];
  rawTasks.forEach((rawTask, index) => {
    const task = isRecord(rawTask) ? (rawTask as RawTask) : {};
    // A task that is not even a mapping already has its issue; a stand-in keeps indexes aligned.
    const built = isRecord(rawTask)
      ? buildTask(task, defaults, index, baseDir, issues)
      : { type: 'shell' };
    const at = locator.position(['tasks', index]);
    tasks.push({
      key: typeof task.key === 'string' ? task.key : `#${index}`,
      executor: built.type,
      line: at.line,
      column: at.column,
      spec: built,
    });
  });

  const agents = Array.isArray(raw.agents) ? buildAgents(raw.agents, locator, issues) : null;
  const workspace = buildWorkspace(raw, baseDir, locator, issues);

  const name = raw.name === undefined ? basename(file, extname(file)) : raw.name;
  const run: RunSpec = { name: name as string, tasks: tasks.map((t) => t.spec) };
  // The run's spending limit (docs/costs.md); the core validator checks it.
  if (raw.budget !== undefined) run.budget = raw.budget as Budget;

  // The core validator sees exactly what a backend will, so a plan that loads also submits.
  let coreError: Error | null = null;
  try {
    normalizeRun(run, { now: Date.now() });
  } catch (error) {
    if (error instanceof BatonError) coreError = error;
    if (error instanceof CycleError) {
      issues.addCycle(error.cycle, tasks);
    } else if (error instanceof ValidationError) {
      for (const issue of error.issues) issues.addCore(issue, tasks);
    } else if (error instanceof PayloadTooLargeError) {
      issues.addCore({ path: String(error.details.where), message: error.message }, tasks);
    } else {
      throw error;
    }
  }
  issues.throwIfAny(file, coreError);

  return { file, name: run.name ?? 'run', run, tasks, agents, workspace };
}

/**
 * Task types the agents of `baton run` have handlers for: `shell`, `http` (agent services),
 * `llm` (model calls), `plan` (the goal planner) and `agent` (coding agents).
 */
export const LOCAL_TASK_TYPES: readonly string[] = ['shell', 'http', 'llm', 'plan', 'agent'];

/**
 * Check that `baton run`'s agents can run every task of the plan they have a handler for
 * ({@link LOCAL_TASK_TYPES}): for each, some agent must have all of its `requires` (besides
 * `shell`, which every local agent has). Without that the run could never finish. The agents are
 * the plan's own (`agents:`), or else generic ones with `shell` and `local.capabilities` (what
 * `baton run --capabilities` says this machine has): a task that requires `gpu` does not run on
 * a machine nobody said has one. Tasks of other types wait for a worker elsewhere and are not
 * checked.
 *
 * @param local the capabilities of `baton run`'s generic agents besides `shell`, for a plan
 *   without `agents:`. @default none
 * @throws PlanError naming each task no agent can take, its requires, the agents, and what to do.
 */
export function checkAgentsCoverTasks(
  plan: Plan,
  local: { capabilities: readonly string[] } = { capabilities: [] },
): void {
  const declared = plan.agents !== null;
  const agents = (plan.agents ?? [{ name: 'agent-N', capabilities: [...local.capabilities] }]).map(
    (a) => ({ ...a, has: new Set([...a.capabilities.map((c) => c.trim()), 'shell']) }),
  );
  const listed = agents.map((a) => `${a.name} [${[...a.has].sort().join(', ')}]`).join('; ');
  const issues: PlanIssue[] = [];
  plan.tasks.forEach((task, index) => {
    if (!LOCAL_TASK_TYPES.includes(task.executor)) return;
    const requires = [...new Set((task.spec.requires ?? []).map((c) => c.trim()))].sort();
    if (agents.some((a) => requires.every((c) => a.has.has(c)))) return;
    const missing = requires.filter((c) => !agents[0]!.has.has(c));
    issues.push({
      line: task.line,
      column: task.column,
      field: `tasks[${index}].requires`,
      message: declared
        ? `task '${task.key}' requires [${requires.join(', ')}], but no agent of this plan has all of them ` +
          `(agents: ${listed}); add the missing capabilities to an agent under agents:, or change the task's requires`
        : `task '${task.key}' requires [${requires.join(', ')}], but baton run's agents have only ` +
          `[${[...agents[0]!.has].sort().join(', ')}]: nothing says this machine has ${missing.join(', ')}. ` +
          `If it has, say so with --capabilities ${missing.join(',')} (or declare agents: in the plan); ` +
          `to run the task where they are, baton submit the plan and start baton worker --capabilities ${missing.join(',')} there`,
    });
  });
  if (issues.length > 0) throw new PlanError(plan.file, issues);
}

/** Fields a task of a plan file has and a `TaskSpec` does not. */
const PLAN_ONLY_TASK_FIELDS = ['command', 'args', 'shell', 'cwd', 'env', 'executor'] as const;

/**
 * Whether a parsed JSON document is a plan file rather than a `RunSpec`, told apart by shape
 * (`POST /v1/runs` takes both as `application/json`): it has `defaults` or `agents` (a RunSpec
 * has neither), or none of its tasks has a `type` (every task of a RunSpec has one) and some task
 * has a field only plan tasks have (`command`, `args`, `shell`, `cwd`, `env`, `executor`).
 * Anything else is read as a RunSpec, whose checks then say what is missing.
 */
export function isPlanShaped(value: unknown): boolean {
  if (!isRecord(value)) return false;
  if (value['defaults'] !== undefined || value['agents'] !== undefined) return true;
  const tasks = value['tasks'];
  if (!Array.isArray(tasks)) return false;
  const records = tasks.filter(isRecord);
  return (
    records.every((t) => t['type'] === undefined) &&
    records.some((t) => PLAN_ONLY_TASK_FIELDS.some((field) => t[field] !== undefined))
  );
}

const PLAN_EXTENSIONS = ['.yaml', '.yml', '.json'];

// ---------------------------------------------------------------------------------------------
// The plan format. Fields that are also TaskSpec fields are checked by the core validator (with
// the messages every other way of submitting gets); this schema checks the plan's own fields.

const SHELL_FIELDS = ['command', 'args', 'shell', 'cwd', 'env'] as const;
/** Fields of an `llm` task that `defaults` may give (`prompt` and `output` are each task's own). */
const LLM_DEFAULTABLE = ['model', 'system', 'maxTokens', 'temperature'] as const;

/** A string that YAML may have read as a number or boolean: say how to keep it as written. */
const stringSchema = z.unknown().superRefine((value, ctx) => {
  if (typeof value === 'string') return;
  const quote =
    typeof value === 'number' || typeof value === 'boolean'
      ? `; quote it ("${String(value)}") so it is passed exactly as written`
      : '';
  ctx.addIssue({
    code: 'custom',
    input: value,
    message: `must be a string; got ${describeValue(value)}${quote}`,
  });
});

const envSchema = z.record(z.string(), stringSchema);

const commandSchema = z.unknown().superRefine((value, ctx) => {
  if (typeof value === 'string') {
    if (value.trim() === '')
      ctx.addIssue({ code: 'custom', message: 'must not be empty', input: value });
    return;
  }
  if (Array.isArray(value) && value.length > 0) {
    value.forEach((item: unknown, index) => {
      const result = stringSchema.safeParse(item);
      if (!result.success) {
        ctx.addIssue({
          code: 'custom',
          input: item,
          path: [index],
          message: result.error.issues[0]?.message ?? '',
        });
      } else if (index === 0 && item === '') {
        ctx.addIssue({
          code: 'custom',
          input: item,
          path: [index],
          message: 'the program must not be empty',
        });
      }
    });
    return;
  }
  ctx.addIssue({
    code: 'custom',
    input: value,
    message: `must be a program name (command: sleep) or an argv list (command: [sleep, "0.2"]); got ${
      Array.isArray(value) ? 'an empty list' : describeValue(value)
    }`,
  });
});

/**
 * Fields a task and `defaults` share: everything that can sensibly be the same for many tasks.
 * A task's own value wins; `env` and `backoff` are merged field by field. The shell fields
 * (`shell`, `cwd`, `env`) apply to shell tasks only. Not here: what names or places one task
 * (`key`, `title`, `dependsOn`, `idempotencyKey`) and what says what it runs (`command`, `args`,
 * `payload`).
 */
const sharedFields = {
  executor: z.string().optional(),
  epic: z.unknown().optional(),
  requires: z.unknown().optional(),
  priority: z.unknown().optional(),
  maxAttempts: z.unknown().optional(),
  timeoutMs: z.unknown().optional(),
  backoff: z.unknown().optional(),
  affinity: z.unknown().optional(),
  shell: z.boolean().optional(),
  cwd: z.string().min(1).optional(),
  env: envSchema.optional(),
  // llm tasks: checked with the task (checkLlmPayload), with the messages the SDK path gets.
  model: z.unknown().optional(),
  system: z.unknown().optional(),
  maxTokens: z.unknown().optional(),
  temperature: z.unknown().optional(),
  // agent tasks: checked with the task (checkAgentPayload).
  kind: z.unknown().optional(),
  maxBudgetUsd: z.unknown().optional(),
  maxTurns: z.unknown().optional(),
  mcpConfig: z.unknown().optional(),
  domain: z.unknown().optional(),
};

const defaultsSchema = z.strictObject(sharedFields);

const taskSchema = z.strictObject({
  ...sharedFields,
  key: z.string(),
  title: z.unknown().optional(),
  description: z.unknown().optional(),
  dependsOn: z.unknown().optional(),
  idempotencyKey: z.unknown().optional(),
  command: commandSchema.optional(),
  args: z.array(stringSchema).optional(),
  payload: z.unknown().optional(),
  prompt: z.unknown().optional(),
  output: z.unknown().optional(),
  complexity: z.unknown().optional(),
  budget: z.unknown().optional(),
  aggregate: z.unknown().optional(),
});

/** A capability or a label: what a task's `requires` and `affinity` rules are matched against. */
const capabilitySchema = z.unknown().superRefine((value, ctx) => {
  const problem =
    typeof value !== 'string'
      ? stringSchema.safeParse(value).error?.issues[0]?.message
      : value.trim() === ''
        ? 'must not be empty'
        : value.length > LIMITS.maxKeyLength
          ? `must be at most ${LIMITS.maxKeyLength} characters; got ${value.length}`
          : undefined;
  if (problem !== undefined) ctx.addIssue({ code: 'custom', input: value, message: problem });
});

const labelsSchema = z.unknown().superRefine((value, ctx) => {
  if (!isRecord(value)) {
    ctx.addIssue({
      code: 'custom',
      input: value,
      message: `must be a mapping of label names to values, e.g. { region: eu }; got ${describeValue(value)}`,
    });
    return;
  }
  for (const [label, labelValue] of Object.entries(value)) {
    if (label.trim() === '' || label.length > LIMITS.maxKeyLength) {
      ctx.addIssue({
        code: 'custom',
        input: label,
        path: [label],
        message: `a label name must be 1 to ${LIMITS.maxKeyLength} characters`,
      });
      continue;
    }
    const problem =
      typeof labelValue !== 'string'
        ? stringSchema.safeParse(labelValue).error?.issues[0]?.message
        : labelValue.length > LIMITS.maxKeyLength
          ? `must be at most ${LIMITS.maxKeyLength} characters; got ${labelValue.length}`
          : undefined;
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', input: labelValue, path: [label], message: problem });
    }
  }
});

const agentConcurrencySchema = z.unknown().superRefine((value, ctx) => {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return;
  ctx.addIssue({
    code: 'custom',
    input: value,
    message: `must be a whole number of 1 or more (the tasks this agent runs at once); got ${describeValue(value)}`,
  });
});

const agentSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(LIMITS.maxKeyLength, {
      message: `must be at most ${LIMITS.maxKeyLength} characters`,
    })
    .regex(KEY_PATTERN, {
      message:
        "must start with an ASCII letter or digit and hold only ASCII letters, digits, '.', '_', ':' and '-' (it names the agent in the summary and the logs)",
    }),
  capabilities: z.array(capabilitySchema).optional(),
  labels: labelsSchema.optional(),
  concurrency: agentConcurrencySchema.optional(),
});

const resolverSchema = z.strictObject({
  command: commandSchema.optional(),
  args: z.array(stringSchema).optional(),
  shell: z.boolean().optional(),
  budget: z.strictObject({ usd: z.number().min(0).max(1_000_000) }).optional(),
});

const worktreesObjectSchema = z.strictObject({
  strategy: z.enum(['by_task', 'by_epic']).optional(),
  base: z.string().min(1).optional(),
  merge: z
    .union([
      z.enum(['merge', 'squash']),
      z.strictObject({
        mode: z.enum(['merge', 'squash']).optional(),
        into: z.string().min(1).optional(),
      }),
    ])
    .optional(),
  conflict: z.enum(['resolve', 'fail']).optional(),
  resolver: resolverSchema.optional(),
});

/** `true`, `false`, or the settings: each wrong setting is reported at its own line. */
const worktreesSchema = z.unknown().superRefine((value, ctx) => {
  if (typeof value === 'boolean') return;
  const parsed = worktreesObjectSchema.safeParse(value, { reportInput: true });
  if (parsed.success) return;
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      // Passed on as they are, so the plan's own wording (with the allowed fields) applies.
      ctx.addIssue({
        code: 'unrecognized_keys',
        keys: issue.keys,
        path: issue.path,
        input: value as Record<string, unknown>,
      });
      continue;
    }
    const input = 'input' in issue ? issue.input : undefined;
    ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message, input });
  }
});

const planSchema = z.strictObject({
  name: z.unknown().optional(),
  repo: z.string().min(1).optional(),
  worktrees: worktreesSchema.optional(),
  budget: z.unknown().optional(),
  defaults: defaultsSchema.optional(),
  agents: z.array(agentSchema).min(1).optional(),
  tasks: z.array(taskSchema),
});

const FIELDS_AT = {
  plan: Object.keys(planSchema.shape),
  worktrees: Object.keys(worktreesObjectSchema.shape),
  defaults: Object.keys(defaultsSchema.shape),
  task: Object.keys(taskSchema.shape),
  agent: Object.keys(agentSchema.shape),
};

interface RawPlan {
  name?: unknown;
  repo?: unknown;
  worktrees?: unknown;
  budget?: unknown;
  defaults?: unknown;
  agents?: unknown;
  tasks?: unknown;
}

/**
 * The plan's agents, reporting names used twice. Fields that are wrong already have their issue
 * from the schema; each agent is built from what is usable so the rest can still be checked.
 */
function buildAgents(raw: readonly unknown[], locator: Locator, issues: IssueList): PlanAgent[] {
  const agents: PlanAgent[] = [];
  const firstAt = new Map<string, number>();
  raw.forEach((item, index) => {
    const agent = isRecord(item) ? item : {};
    const name = typeof agent['name'] === 'string' ? agent['name'] : `#${index}`;
    const seen = firstAt.get(name);
    if (seen === undefined) {
      firstAt.set(name, index);
    } else if (typeof agent['name'] === 'string') {
      const { line } = locator.position(['agents', seen, 'name']);
      issues.add(
        ['agents', index, 'name'],
        `agent name '${name}' is already used by agents[${seen}] (line ${line}); give each agent its own name`,
      );
    }
    const capabilities = Array.isArray(agent['capabilities'])
      ? (agent['capabilities'] as unknown[])
          .filter((c): c is string => typeof c === 'string' && c.trim() !== '')
          .map((c) => c.trim())
      : [];
    const concurrency = agent['concurrency'];
    const at = locator.position(['agents', index]);
    agents.push({
      name,
      capabilities: [...new Set(capabilities)],
      labels: stringEnv(agent['labels']),
      concurrency:
        typeof concurrency === 'number' && Number.isSafeInteger(concurrency) && concurrency >= 1
          ? concurrency
          : 1,
      line: at.line,
      column: at.column,
    });
  });
  return agents;
}

/**
 * The plan's worktree settings, or null when it has neither `repo:` nor `worktrees:` (or says
 * `worktrees: false`). Wrong shapes already have their issues from the schema.
 */
function buildWorkspace(
  raw: RawPlan,
  baseDir: string,
  locator: Locator,
  issues: IssueList,
): PlanWorkspace | null {
  if (raw.repo === undefined && raw.worktrees === undefined) return null;
  if (raw.worktrees === false) {
    if (raw.repo !== undefined) {
      issues.add(
        ['worktrees'],
        'worktrees: false turns worktrees off, but repo: names a repository for them; remove one of the two',
      );
    }
    return null;
  }
  const w = isRecord(raw.worktrees) ? raw.worktrees : {};
  const merge = w['merge'];
  const mergeMode = typeof merge === 'string' ? merge : isRecord(merge) ? merge['mode'] : undefined;
  const into = isRecord(merge) && typeof merge['into'] === 'string' ? merge['into'] : null;
  const resolver = isRecord(w['resolver']) ? w['resolver'] : null;
  const at = locator.position([raw.worktrees !== undefined ? 'worktrees' : 'repo'], true);
  return {
    repo: typeof raw.repo === 'string' ? resolve(baseDir, raw.repo) : null,
    strategy: w['strategy'] === 'by_epic' ? 'by_epic' : 'by_task',
    strategyGiven: w['strategy'] !== undefined,
    base: typeof w['base'] === 'string' ? w['base'] : null,
    merge: mergeMode === 'squash' ? 'squash' : 'merge',
    into,
    conflict: w['conflict'] === 'fail' ? 'fail' : 'resolve',
    resolverBudgetUsd:
      resolver !== null &&
      isRecord(resolver['budget']) &&
      typeof resolver['budget']['usd'] === 'number'
        ? resolver['budget']['usd']
        : null,
    resolver:
      resolver === null || resolver['command'] === undefined
        ? null
        : {
            command: resolver['command'] as string | string[],
            ...(Array.isArray(resolver['args']) ? { args: resolver['args'] as string[] } : {}),
            ...(typeof resolver['shell'] === 'boolean' ? { shell: resolver['shell'] } : {}),
          },
    line: at.line,
    column: at.column,
  };
}

interface RawDefaults {
  executor?: unknown;
  epic?: unknown;
  shell?: unknown;
  requires?: unknown;
  priority?: unknown;
  maxAttempts?: unknown;
  timeoutMs?: unknown;
  backoff?: unknown;
  affinity?: unknown;
  cwd?: unknown;
  env?: unknown;
  model?: unknown;
  system?: unknown;
  maxTokens?: unknown;
  temperature?: unknown;
  kind?: unknown;
  maxBudgetUsd?: unknown;
  maxTurns?: unknown;
  mcpConfig?: unknown;
  domain?: unknown;
}

interface RawTask extends RawDefaults {
  description?: unknown;
  key?: unknown;
  title?: unknown;
  dependsOn?: unknown;
  idempotencyKey?: unknown;
  budget?: unknown;
  aggregate?: unknown;
  command?: unknown;
  args?: unknown;
  payload?: unknown;
  prompt?: unknown;
  output?: unknown;
  complexity?: unknown;
}

/** TaskSpec fields copied as written; the core validator checks them. */
const PASSED_THROUGH = [
  'key',
  'title',
  'dependsOn',
  'idempotencyKey',
  'budget',
  'aggregate',
] as const;
/** TaskSpec fields copied as written, the task's own or else the plan's `defaults`. */
const DEFAULTABLE = [
  'epic',
  'requires',
  'priority',
  'maxAttempts',
  'timeoutMs',
  'backoff',
  'affinity',
] as const;

/**
 * Turn one task of the file into a TaskSpec, reporting the plan rules it breaks. Always returns a
 * spec, even for a broken task, so the core validator can still check the rest of the graph.
 */
function buildTask(
  task: RawTask,
  defaults: RawDefaults,
  index: number,
  baseDir: string,
  issues: IssueList,
): TaskSpec {
  const at = ['tasks', index];
  const executor =
    typeof task.executor === 'string'
      ? task.executor
      : task.command !== undefined
        ? 'shell'
        : typeof defaults.executor === 'string'
          ? defaults.executor
          : undefined;
  const spec: Record<string, unknown> = { type: executor ?? 'shell' };
  for (const field of PASSED_THROUGH) if (task[field] !== undefined) spec[field] = task[field];
  for (const field of DEFAULTABLE) {
    const value = task[field] ?? defaults[field];
    if (value !== undefined) spec[field] = value;
  }
  if (isRecord(task.backoff) && isRecord(defaults.backoff))
    spec.backoff = { ...defaults.backoff, ...task.backoff };

  if (executor === undefined) {
    // An executor that is not a string already has its issue. A task with a field the plan
    // format does not know has that issue, which names the field it was probably meant to be
    // (`comand` → `command`): any guess made here about what it runs would be a second error
    // caused by the first.
    const unknown = Object.keys(task).some((field) => !FIELDS_AT.task.includes(field));
    if (task.executor === undefined && defaults.executor === undefined && !unknown) {
      issues.add(
        at,
        SHELL_FIELDS.some((field) => task[field] !== undefined)
          ? 'a shell task needs command: (a program, e.g. command: make, args: [build])'
          : LLM_FIELDS.some((field) => task[field] !== undefined)
            ? 'a model call needs executor: llm (with model: and prompt:)'
            : 'says neither how to run it nor what it is: give command: (a program to run) or executor: <task type> (here or under defaults)',
      );
    }
    return spec as unknown as TaskSpec;
  }

  if (executor === AGENT_TASK_TYPE) {
    spec.payload = agentPayload(task, defaults, at, baseDir, issues);
    return spec as unknown as TaskSpec;
  }
  for (const field of AGENT_ONLY_FIELDS) {
    if (task[field] === undefined) continue;
    // An llm task's domain puts its expertise into the system prompt (docs/agents.md#expertise).
    if (field === 'domain' && executor === LLM_TASK_TYPE) continue;
    issues.add(
      [...at, field],
      `only agent tasks take ${field}; this task's executor is '${executor}' — set executor: agent to run a coding agent`,
    );
  }
  if (executor !== LLM_TASK_TYPE) {
    for (const field of LLM_FIELDS) {
      if (task[field] === undefined) continue;
      issues.add(
        [...at, field],
        `only llm tasks take ${field}; this task's executor is '${executor}' — set executor: llm for a model call`,
      );
    }
  }
  if (executor === 'shell') {
    if (task.payload !== undefined) {
      issues.add(
        [...at, 'payload'],
        'a shell task is described by command, args, shell, cwd and env, not payload; for a handler that takes a payload set executor: <its task type>',
      );
    }
    spec.payload = shellPayload(task, defaults, at, baseDir, issues);
  } else if (executor === LLM_TASK_TYPE) {
    for (const field of SHELL_FIELDS) {
      if (task[field] === undefined) continue;
      issues.add(
        [...at, field],
        `only shell tasks take ${field}; an llm task is described by model, prompt, system, maxTokens, temperature, output and complexity`,
      );
    }
    spec.payload = llmPayload(task, defaults, at, issues);
    const domain = task.domain ?? defaults.domain;
    if (domain !== undefined && isRecord(spec.payload)) {
      if (typeof domain !== 'string' || !DOMAIN_PATTERN.test(domain)) {
        issues.add(
          task.domain !== undefined ? [...at, 'domain'] : ['defaults', 'domain'],
          `must be a domain name (lower-case letters, digits, '-' and '_', e.g. api); got ${describeValue(domain)}`,
        );
      } else {
        spec.payload.domain = domain;
      }
    }
  } else {
    for (const field of SHELL_FIELDS) {
      if (task[field] === undefined) continue;
      issues.add(
        [...at, field],
        `only shell tasks take ${field}; this task's executor is '${executor}' — pass what its handler needs in payload, or remove executor to run a command`,
      );
    }
    if (task.payload !== undefined) spec.payload = task.payload;
  }
  return spec as unknown as TaskSpec;
}

/** Fields only agent tasks take (`model`, `prompt` and the shell fields are shared with others). */
const AGENT_ONLY_FIELDS = [
  'kind',
  'description',
  'maxBudgetUsd',
  'maxTurns',
  'mcpConfig',
  'domain',
] as const;
/** Fields of an `agent` task that `defaults` may give. */
const AGENT_DEFAULTABLE = [
  'kind',
  'model',
  'maxBudgetUsd',
  'maxTurns',
  'mcpConfig',
  'domain',
  'cwd',
  'env',
] as const;

/**
 * An agent task's payload: its `payload:` mapping (data for its templates) with the session's
 * fields over it, checked as a worker would check it. `cwd` is relative to the plan's directory;
 * `command: [prog, a, b]` is read as `command: prog, args: [a, b]`.
 */
function agentPayload(
  task: RawTask,
  defaults: RawDefaults,
  at: (string | number)[],
  baseDir: string,
  issues: IssueList,
): Json {
  const payload = payloadData(task, at, issues, 'agent', AGENT_FIELDS);
  for (const field of ['system', 'maxTokens', 'temperature', 'output', 'shell'] as const) {
    if (task[field] === undefined) continue;
    issues.add(
      [...at, field],
      `an agent task does not take ${field}; it is described by kind, model, prompt or description, maxBudgetUsd, maxTurns, mcpConfig, command, args, cwd, env and domain`,
    );
  }
  const from = new Map<string, (string | number)[]>();
  const raw = task as Record<string, unknown>;
  const rawDefaults = defaults as Record<string, unknown>;
  for (const field of AGENT_FIELDS) {
    const own = raw[field];
    const inherited = (AGENT_DEFAULTABLE as readonly string[]).includes(field)
      ? rawDefaults[field]
      : undefined;
    const value = own ?? inherited;
    if (value === undefined) continue;
    payload[field] = value as Json;
    from.set(field, own !== undefined ? [...at, field] : ['defaults', field]);
  }
  // A default model is for the CLIs that take one: a command agent does not inherit it.
  if (payload.kind === 'command' && raw.model === undefined) delete payload.model;
  if (Array.isArray(payload.command)) {
    const [program, ...rest] = payload.command;
    payload.command = program ?? '';
    payload.args = [...rest, ...(Array.isArray(payload.args) ? payload.args : [])];
    from.set('args', from.get('command') ?? at);
  }
  if (typeof payload.cwd === 'string') payload.cwd = resolve(baseDir, payload.cwd);
  const env = { ...stringEnv(defaults.env), ...stringEnv(task.env) };
  if (Object.keys(env).length > 0) payload.env = env;
  const dependencyKeys = (Array.isArray(task.dependsOn) ? (task.dependsOn as unknown[]) : [])
    .map((d) => (typeof d === 'string' ? d : isRecord(d) ? d.key : undefined))
    .filter((k): k is string => typeof k === 'string');
  const hasTitle = typeof task.title === 'string' && task.title.trim() !== '';
  for (const issue of checkAgentPayload(payload, { dependencyKeys, hasTitle })) {
    issues.add(issue.path === '' ? at : (from.get(issue.path) ?? at), issue.message);
  }
  return payload;
}

/**
 * The data under an llm or agent task's `payload:` (what its templates read), without the fields
 * of the task itself, which belong next to `executor:` (each one found there is an issue).
 */
function payloadData(
  task: RawTask,
  at: (string | number)[],
  issues: IssueList,
  kind: 'llm' | 'agent',
  fields: readonly string[],
): { [key: string]: Json } {
  const payload: { [key: string]: Json } = {};
  if (task.payload === undefined) return payload;
  if (!isRecord(task.payload)) {
    issues.add(
      [...at, 'payload'],
      `an ${kind} task's payload must be a mapping of values its templates read ({{ payload.<name> }}); got ${describeValue(task.payload)}`,
    );
    return payload;
  }
  for (const [name, value] of Object.entries(task.payload)) {
    if (fields.includes(name)) {
      issues.add(
        [...at, 'payload', name],
        `'${name}' is a field of the ${kind} task itself; write it next to executor: ${kind}, not under payload`,
      );
    } else {
      payload[name] = value as Json;
    }
  }
  return payload;
}

/**
 * An llm task's payload: its `payload:` mapping (data for its templates) with the model call's
 * fields over it, checked as a worker would check it, against the task's own `dependsOn`.
 */
function llmPayload(
  task: RawTask,
  defaults: RawDefaults,
  at: (string | number)[],
  issues: IssueList,
): Json {
  const payload = payloadData(task, at, issues, 'llm', LLM_FIELDS);
  const from = new Map<string, (string | number)[]>();
  for (const field of LLM_FIELDS) {
    const own = task[field];
    const inherited = (LLM_DEFAULTABLE as readonly string[]).includes(field)
      ? defaults[field as (typeof LLM_DEFAULTABLE)[number]]
      : undefined;
    const value = own ?? inherited;
    if (value === undefined) continue;
    payload[field] = value as Json;
    from.set(field, own !== undefined ? [...at, field] : ['defaults', field]);
  }
  const dependencyKeys = (Array.isArray(task.dependsOn) ? (task.dependsOn as unknown[]) : [])
    .map((d) => (typeof d === 'string' ? d : isRecord(d) ? d.key : undefined))
    .filter((k): k is string => typeof k === 'string');
  for (const issue of checkLlmPayload(payload, { dependencyKeys })) {
    issues.add(issue.path === '' ? at : (from.get(issue.path) ?? at), issue.message);
  }
  return payload;
}

function shellPayload(
  task: RawTask,
  defaults: RawDefaults,
  at: (string | number)[],
  baseDir: string,
  issues: IssueList,
): Json {
  const { command, args } = task;
  const shell = task.shell ?? defaults.shell;
  if (command === undefined) {
    issues.add(at, 'a shell task needs command: (a program, e.g. command: make, args: [build])');
    return null;
  }
  const extra = Array.isArray(args) ? args.filter((a): a is string => typeof a === 'string') : [];
  let program: string;
  let argv: string[];
  if (Array.isArray(command)) {
    // An argv list says exactly what to run: `shell: true` under defaults is for script lines.
    if (task.shell === true) {
      issues.add(
        [...at, 'command'],
        'with shell: true, command must be one script line (a string), not an argv array',
      );
    }
    const [first, ...rest] = command.filter((a): a is string => typeof a === 'string');
    program = first ?? '';
    argv = [...rest, ...extra];
  } else {
    program = typeof command === 'string' ? command : '';
    argv = extra;
    if (shell !== true && args === undefined && /\s/.test(program.trim())) {
      const [head, ...tail] = program.trim().split(/\s+/);
      issues.add(
        [...at, 'command'],
        `'${program}' contains spaces but is run as a single program name, never through a shell; give args as an array: command: ${head ?? ''}, args: [${tail.map((a) => `'${a}'`).join(', ')}] — or set shell: true to run it through /bin/sh`,
      );
    }
  }

  const payload: { [key: string]: Json } = {
    command: program,
    args: argv,
    shell: shell === true && !Array.isArray(command),
  };
  const cwd = task.cwd ?? defaults.cwd;
  // Relative to the plan, so a plan works the same from whatever directory it is run.
  if (typeof cwd === 'string') payload.cwd = resolve(baseDir, cwd);
  const env = { ...stringEnv(defaults.env), ...stringEnv(task.env) };
  if (Object.keys(env).length > 0) payload.env = env;
  return payload;
}

/** The string entries of an `env` or `labels` mapping (others already have their issue). */
function stringEnv(env: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(env)) return out;
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') out[name] = value;
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return `${message}: this key appears twice in the same mapping`;
  if (code === 'TAB_AS_INDENT') return `${message}; indent with spaces`;
  return message;
}

// ---------------------------------------------------------------------------------------------
// Issues and where they are in the file

type Segment = string | number;

/** Finds the node for a field path, and its line and column (plans, and config files: config.ts). */
export class Locator {
  readonly #doc: Document;
  readonly #lines: LineCounter;

  constructor(doc: Document, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
  }

  /**
   * The deepest node along `path` and how much of the path exists. `key` asks for the position
   * of the last field's name rather than its value (for an unknown field).
   */
  find(path: readonly Segment[]): {
    node: YamlNode | null;
    keyNode: YamlNode | null;
    depth: number;
  } {
    let node: YamlNode | null = this.#doc.contents ?? null;
    let keyNode: YamlNode | null = null;
    let depth = 0;
    for (const segment of path) {
      const current: unknown = isAlias(node) ? node.resolve(this.#doc) : node;
      let next: YamlNode | null = null;
      let nextKey: YamlNode | null = null;
      if (isMap(current)) {
        const pair = current.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
        );
        if (pair) {
          nextKey = pair.key as YamlNode;
          next = (pair.value as YamlNode | null) ?? nextKey;
        }
      } else if (isSeq(current) && typeof segment === 'number') {
        next = (current.items[segment] as YamlNode | undefined) ?? null;
      }
      if (next === null) break;
      node = next;
      keyNode = nextKey;
      depth++;
    }
    return { node, keyNode, depth };
  }

  /** 1-based line and column of a field: its value if a scalar, its name if a collection. */
  position(path: readonly Segment[], preferKey = false): { line: number; column: number } {
    const { node, keyNode, depth } = this.find(path);
    const found = depth === path.length;
    const target = found && keyNode && (preferKey || isCollection(node)) ? keyNode : node;
    const offset = target?.range?.[0] ?? 0;
    const { line, col } = this.#lines.linePos(offset);
    return { line, column: col };
  }

  has(path: readonly Segment[]): boolean {
    return this.find(path).depth === path.length;
  }
}

class IssueList {
  readonly #locator: Locator;
  readonly #issues: PlanIssue[] = [];
  /** Fields the plan's own checks already reported: the core's issue there would repeat it. */
  readonly #fields = new Set<string>();
  readonly #seen = new Set<string>();
  #cycle: string[] | null = null;

  constructor(locator: Locator) {
    this.#locator = locator;
  }

  add(path: readonly Segment[], message: string, options: { preferKey?: boolean } = {}): void {
    const field = formatPath(path);
    const { line, column } = this.#locator.position(path, options.preferKey ?? false);
    this.#push({ line, column, field, message });
  }

  addZod(issue: z.core.$ZodIssue): void {
    const path = issue.path.filter(
      (s): s is Segment => typeof s === 'string' || typeof s === 'number',
    );
    const input = 'input' in issue ? issue.input : undefined;
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownFields(path);
        for (const key of issue.keys) {
          this.add(
            [...path, key],
            `unknown field '${key}'${didYouMean(key, known)}; allowed fields: ${known.join(', ')}`,
            {
              preferKey: true,
            },
          );
        }
        return;
      }
      case 'invalid_type':
        if (path.length === 0) {
          this.add(
            path,
            `the plan must be a mapping (name, defaults, tasks); got ${describeValue(input)}`,
          );
        } else if (input === undefined) {
          // A missing field has no line of its own: point at the object that lacks it.
          this.add(path, 'is required');
        } else {
          this.add(path, `must be ${expected(issue.expected, path)}; got ${describeValue(input)}`);
        }
        return;
      case 'too_small':
        this.add(path, 'must not be empty');
        return;
      default:
        this.add(path, issue.message);
    }
  }

  /** An issue of the core validator, whose path names a field of `run` (the built RunSpec). */
  addCore(issue: ValidationIssue, tasks: readonly PlanTask[]): void {
    if (issue.message.startsWith('dependency cycle: ')) {
      // Keys may contain '.', so cut at the sentence that follows the path, not at the first dot.
      const path = issue.message.slice('dependency cycle: '.length).split('. Remove ')[0] ?? '';
      const keys = path.split(' -> ');
      this.addCycle(keys, tasks, issue.message);
      return;
    }
    let path = parsePath(issue.path).map((s) => (s === 'type' ? 'executor' : s));
    // A task whose field came from `defaults` is fixed there: report it once, at its line.
    if (path[0] === 'tasks' && typeof path[1] === 'number' && typeof path[2] === 'string') {
      const field = path[2];
      if (!this.#locator.has(path.slice(0, 3)) && this.#locator.has(['defaults', field])) {
        path = ['defaults', field, ...path.slice(3)];
      }
    }
    // An llm task's fields were checked with the task (llmPayload), at their own lines.
    if (
      path[0] === 'tasks' &&
      typeof path[1] === 'number' &&
      path[2] === 'payload' &&
      ((tasks[path[1]]?.executor === LLM_TASK_TYPE &&
        (LLM_FIELDS as readonly Segment[]).includes(path[3] ?? '')) ||
        (tasks[path[1]]?.executor === AGENT_TASK_TYPE &&
          (AGENT_FIELDS as readonly Segment[]).includes(path[3] ?? '')))
    ) {
      return;
    }
    // Shell tasks have no payload in the file; their payload is built from these fields.
    if (path[0] === 'tasks' && path[2] === 'payload' && !this.#locator.has(path.slice(0, 3))) {
      path = path.slice(0, 2);
    }
    const field = formatPath(path);
    if (this.#fields.has(field)) return;
    const unknown = /^unknown field '([^']+)'/.exec(issue.message);
    if (unknown?.[1] !== undefined && this.#locator.has([...path, unknown[1]])) {
      this.add([...path, unknown[1]], issue.message, { preferKey: true });
      return;
    }
    this.add(path, issue.message);
  }

  /** A cycle is reported at the first task in it, with its whole path. */
  addCycle(cycle: readonly string[], tasks: readonly PlanTask[], message?: string): void {
    this.#cycle = [...cycle];
    const first = cycle[0];
    const index = tasks.findIndex((t) => t.key === first);
    const text = message ?? new CycleError([...cycle]).message;
    this.add(index >= 0 ? ['tasks', index] : ['tasks'], text);
  }

  /** @param cause the core validator's error (a `CycleError` for a cycle alone), kept as `cause`. */
  throwIfAny(file: string, cause: Error | null = null): void {
    if (this.#issues.length === 0) return;
    const issues = [...this.#issues].sort((a, b) => a.line - b.line || a.column - b.column);
    throw new PlanError(file, issues, {
      ...(cause ? { cause } : {}),
      ...(this.#cycle ? { details: { cycle: this.#cycle } } : {}),
    });
  }

  #push(issue: PlanIssue): void {
    const id = `${issue.field}\u0000${issue.message}`;
    if (this.#seen.has(id)) return;
    this.#seen.add(id);
    this.#fields.add(issue.field);
    this.#issues.push(issue);
  }
}

function knownFields(path: readonly Segment[]): string[] {
  if (path.length === 0) return FIELDS_AT.plan;
  if (path[0] === 'defaults') return FIELDS_AT.defaults;
  if (path[0] === 'agents') return FIELDS_AT.agent;
  if (path[0] === 'worktrees' && path[1] === 'merge') return ['mode', 'into'];
  if (path[0] === 'worktrees' && path[1] === 'resolver')
    return ['command', 'args', 'shell', 'budget'];
  if (path[0] === 'worktrees') return FIELDS_AT.worktrees;
  return FIELDS_AT.task;
}

function expected(kind: string, path: readonly Segment[]): string {
  const last = path[path.length - 1];
  if (last === 'tasks') return 'a list of tasks';
  if (last === 'agents') return 'a list of agents ({ name, capabilities, labels, concurrency })';
  if (last === 'env') return 'a mapping of variable names to values';
  switch (kind) {
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping';
    default:
      return `a ${kind}`;
  }
}

/** `['tasks', 3, 'dependsOn', 0]` → `tasks[3].dependsOn[0]`. */
function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** The inverse of {@link formatPath}, for the core validator's issue paths. */
function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  const token = /\.?([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const match of path.matchAll(token)) {
    if (match[1] !== undefined) out.push(match[1]);
    else if (match[2] !== undefined) out.push(Number(match[2]));
    else if (match[3] !== undefined) out.push(JSON.parse(match[3]) as string);
  }
  return out;
}
