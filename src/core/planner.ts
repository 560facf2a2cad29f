/**
 * The goal planner's rules (docs/planner.md): what a `plan` task's payload holds, what the
 * planner model is asked and must answer (a JSON Schema for structured output), how its answer
 * becomes `llm` tasks, and how those are checked — with the core validator every backend runs
 * (keys, cycles, unknown dependencies, payloads) and against the capabilities of the live agents.
 * Pure: no I/O. The handler that calls the model and spawns the tasks is
 * `src/executors/planner/`.
 */
import { CycleError, PayloadTooLargeError, ValidationError } from './errors.ts';
import { LLM_TASK_TYPE, parseModelId } from './llm.ts';
import { PRIORITY_NAMES } from './priority.ts';
import { describeValue, truncate } from './text.ts';
import type { Json, TaskSpec } from './types.ts';
import { MAX_PLANNED_TASKS } from './goal.ts';
import { KEY_PATTERN, LIMITS, normalizeRun } from './validate.ts';

// ---------------------------------------------------------------------------------------------
// What the planner model is asked, and the shape of its answer.

/** One task as the planner model writes it. */
export interface DraftTask {
  key: string;
  title: string;
  description: string;
  requires: string[];
  dependsOn: string[];
  priority: string;
  epic: string;
  complexity: string;
  /** What the model that runs the task is asked to do. */
  prompt: string;
}

/**
 * The JSON Schema of the planner's answer, given as the model call's `output`. Every property is
 * required and no others are allowed, as OpenAI's strict structured output wants; whether the
 * tasks make a valid plan is Baton's check, which words its errors for the repair call.
 */
export const PLAN_OUTPUT_SCHEMA: { [key: string]: Json } = {
  type: 'object',
  additionalProperties: false,
  required: ['tasks'],
  properties: {
    tasks: {
      type: 'array',
      description: 'The tasks that together achieve the goal, in the order they would run.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: [
          'key',
          'title',
          'description',
          'requires',
          'dependsOn',
          'priority',
          'epic',
          'complexity',
          'prompt',
        ],
        properties: {
          key: {
            type: 'string',
            description:
              "Unique short id: ASCII letters, digits, '.', '_', ':' and '-', starting with a letter or digit.",
          },
          title: { type: 'string', description: 'A short human title.' },
          description: { type: 'string', description: 'What the task is for, in a sentence.' },
          requires: {
            type: 'array',
            items: { type: 'string' },
            description: 'Capabilities the agent needs, chosen from the ones listed; often none.',
          },
          dependsOn: {
            type: 'array',
            items: { type: 'string' },
            description: 'Keys of the tasks whose results this one needs.',
          },
          priority: { type: 'string', enum: Object.keys(PRIORITY_NAMES) },
          epic: { type: 'string', description: 'A lane grouping related tasks; empty for none.' },
          complexity: { type: 'string', enum: ['low', 'medium', 'high'] },
          prompt: {
            type: 'string',
            description:
              'Complete instructions for the model that carries the task out. The results of its dependencies are appended to it.',
          },
        },
      },
    },
  },
};

/** The planner model's system prompt. */
export const PLANNER_SYSTEM = [
  'You are the planner of Baton, a task queue that runs work in parallel on agents.',
  'Break the goal into the smallest set of tasks that achieves it: one task when it is simple,',
  'several when parts can run in parallel or need different capabilities. Each task is carried',
  'out by a language model that sees only its own prompt and the results of the tasks it depends on,',
  'so write each prompt to stand alone. Make the last task produce the final answer to the goal.',
  'Use dependsOn only for results a task needs; never make a cycle. Choose requires only from the',
  'capabilities listed; leave it empty unless the task truly needs one. Answer with JSON only.',
].join(' ');

/** The system prompt of each planned task (and of the fallback task). */
export const TASK_SYSTEM =
  'You carry out one task of a larger plan. Do exactly what it asks and answer with the result only, without preamble.';

/** The capabilities the planner may require: each live agent's set, as it has them. */
export interface PlannerAgent {
  name: string;
  capabilities: readonly string[];
}

/** The planner's first prompt: the goal and what the agents can do. Data only, no template. */
export function plannerPrompt(goal: string, agents: readonly PlannerAgent[]): string {
  const listed =
    agents.length === 0
      ? '(none: leave requires empty)'
      : agents
          .map(
            (a) =>
              `- ${a.name}: ${a.capabilities.length === 0 ? '(no capabilities)' : a.capabilities.join(', ')}`,
          )
          .join('\n');
  return [
    `Goal:\n${goal.trim()}`,
    `Live agents and their capabilities (a task's requires must all be held by one agent):\n${listed}`,
    `At most ${MAX_PLANNED_TASKS} tasks.`,
  ].join('\n\n');
}

/** The repair prompt: the first prompt, the answer that was refused, and why. */
export function repairPrompt(first: string, answer: string, problems: readonly string[]): string {
  return [
    first,
    `Your previous answer was:\n${truncate(answer, 20_000)}`,
    `It cannot be run, because:\n${problems.map((p) => `- ${p}`).join('\n')}`,
    'Answer again with a corrected plan, as JSON only.',
  ].join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// From the answer to tasks.

/** How planned tasks are made. */
export interface DraftOptions {
  /** The model each planned task calls. */
  taskModel: string;
  /** The live agents: a task's `requires` must all be held by one of them. */
  agents: readonly PlannerAgent[];
  /** Keys the run already has (the plan task's own): a planned task may not reuse them. */
  existingKeys?: readonly string[];
}

/** The answer read as tasks, or what is wrong with it (each problem names its task). */
export type DraftOutcome =
  { tasks: TaskSpec[]; problems: [] } | { tasks: null; problems: string[] };

/**
 * Turn the planner's answer into `llm` tasks and check them as a submission would be checked,
 * plus the planner's own rules: at least one task, at most {@link MAX_PLANNED_TASKS}, keys not
 * used by the run already, and `requires` that some live agent has all of.
 */
export function tasksFromDraft(answer: unknown, options: DraftOptions): DraftOutcome {
  const problems: string[] = [];
  const raw =
    answer !== null && typeof answer === 'object' && !Array.isArray(answer)
      ? (answer as { tasks?: unknown }).tasks
      : undefined;
  if (!Array.isArray(raw)) {
    return {
      tasks: null,
      problems: [`the answer must be { "tasks": [ … ] }; got ${describeValue(answer)}`],
    };
  }
  if (raw.length === 0)
    return { tasks: null, problems: ['the plan has no tasks; give at least one'] };
  if (raw.length > MAX_PLANNED_TASKS) {
    return {
      tasks: null,
      problems: [
        `the plan has ${raw.length} tasks, over the limit of ${MAX_PLANNED_TASKS}; merge some`,
      ],
    };
  }
  const drafts = raw.map((item: unknown) => asDraft(item));
  const label = (i: number): string => {
    const key = drafts[i]?.key;
    return typeof key === 'string' && key !== '' ? `task '${truncate(key, 60)}'` : `tasks[${i}]`;
  };
  const specs = drafts.map((draft) => toSpec(draft, options.taskModel));

  drafts.forEach((draft, i) => {
    if (typeof draft.prompt !== 'string' || draft.prompt.trim() === '') {
      problems.push(
        `${label(i)}: its prompt is empty; write the instructions for the model that carries it out`,
      );
    }
  });

  const existing = new Set(options.existingKeys ?? []);
  specs.forEach((spec, i) => {
    if (spec.key !== undefined && existing.has(spec.key)) {
      problems.push(
        `${label(i)}: key '${spec.key}' is already used in this run; choose another key`,
      );
    }
  });

  try {
    normalizeRun({ tasks: specs }, { now: 0 });
  } catch (error) {
    if (error instanceof CycleError) {
      problems.push(`${error.message}; remove a dependency so that no task waits on itself`);
    } else if (error instanceof ValidationError) {
      for (const issue of error.issues)
        problems.push(describeIssue(issue.path, issue.message, label));
    } else if (error instanceof PayloadTooLargeError) {
      problems.push(error.message);
    } else {
      throw error;
    }
  }

  const sets = options.agents.map((a) => new Set(a.capabilities));
  specs.forEach((spec, i) => {
    const requires = spec.requires ?? [];
    if (requires.length === 0 || sets.some((has) => requires.every((c) => has.has(c)))) return;
    const known = [...new Set(options.agents.flatMap((a) => a.capabilities))].sort();
    problems.push(
      `${label(i)}: requires [${requires.join(', ')}], which no live agent has all of; ` +
        (known.length === 0
          ? 'no agent has any capability, so leave requires empty'
          : `choose from the agents' capabilities (${known.join(', ')}) or leave requires empty`),
    );
  });

  return problems.length === 0 ? { tasks: specs, problems: [] } : { tasks: null, problems };
}

/** `tasks[2].dependsOn[0]: …` as `task 'sum' (tasks[2]) dependsOn[0]: …`. */
function describeIssue(path: string, message: string, label: (i: number) => string): string {
  const match = /^tasks\[(\d+)\]\.?(.*)$/.exec(path);
  if (match === null) return path === '' ? message : `${path}: ${message}`;
  const rest = match[2] ?? '';
  const where = label(Number(match[1]));
  return rest === '' ? `${where}: ${message}` : `${where}, ${rest}: ${message}`;
}

function asDraft(item: unknown): Partial<Record<keyof DraftTask, unknown>> {
  return item !== null && typeof item === 'object' && !Array.isArray(item) ? item : {};
}

/** One drafted task as an `llm` task: its prompt is data, its dependencies' results appended. */
function toSpec(draft: Partial<Record<keyof DraftTask, unknown>>, taskModel: string): TaskSpec {
  const dependsOn = Array.isArray(draft.dependsOn) ? (draft.dependsOn as unknown[]) : [];
  const depKeys = dependsOn.filter((d): d is string => typeof d === 'string');
  const payload: { [key: string]: Json } = {
    model: taskModel,
    system: TASK_SYSTEM,
    prompt: taskTemplate(depKeys),
    instructions: typeof draft.prompt === 'string' ? draft.prompt : '',
  };
  if (typeof draft.description === 'string' && draft.description.trim() !== '') {
    payload['description'] = draft.description;
  }
  if (typeof draft.complexity === 'string') payload['complexity'] = draft.complexity;
  const spec: TaskSpec = { type: LLM_TASK_TYPE, payload };
  // Not a string: the validator says what is wrong with it.
  if (draft.key !== undefined) spec.key = draft.key as string;
  if (typeof draft.title === 'string' && draft.title.trim() !== '') {
    spec.title = truncate(draft.title.trim(), LIMITS.maxTitleLength);
  }
  if (typeof draft.epic === 'string' && draft.epic.trim() !== '') spec.epic = draft.epic.trim();
  if (draft.requires !== undefined) spec.requires = draft.requires as string[];
  if (draft.dependsOn !== undefined) spec.dependsOn = dependsOn as string[];
  if (draft.priority !== undefined)
    spec.priority = draft.priority as NonNullable<TaskSpec['priority']>;
  return spec;
}

/**
 * The prompt template of a planned task: its instructions (payload data, so whatever the planner
 * wrote is never read as a template), then each dependency's result.
 */
function taskTemplate(depKeys: readonly string[]): string {
  const parts = ['{{ payload.instructions }}'];
  for (const key of new Set(depKeys.filter((k) => KEY_PATTERN.test(k)))) {
    // A key the template syntax cannot name is refused by the validator as an unknown key.
    parts.push(`Result of '${key}':\n{{ deps.${key}.result }}`);
  }
  return parts.join('\n\n');
}

/**
 * Seed 003 T020's fallback: one task carrying the whole goal, which any agent that runs `llm`
 * tasks can take.
 */
export function fallbackTask(
  goal: string,
  taskModel: string,
  existingKeys: readonly string[] = [],
): TaskSpec {
  // `goal`, or `goal-2`… when the run already has a task of that key.
  let key = 'goal';
  for (let n = 2; existingKeys.includes(key); n++) key = `goal-${n}`;
  return {
    type: LLM_TASK_TYPE,
    key,
    title: truncate(goal.trim().replace(/\s+/g, ' '), 120),
    payload: {
      model: taskModel,
      system: TASK_SYSTEM,
      prompt: '{{ payload.goal }}',
      goal: goal.trim(),
    },
  };
}

/** What is wrong with a model id the planner is given, or null. */
export function plannerModelProblem(model: string): string | null {
  const ref = parseModelId(model);
  return 'error' in ref ? ref.error : null;
}
