/**
 * What a goal is and what a `plan` task's payload holds (docs/planner.md): checked by the core
 * validator every backend runs, so a bad goal is refused before anything is stored, wherever it
 * comes from (`POST /v1/goals`, `baton run --goal`, the SDK). Pure: no I/O.
 */
import { budgetProblem } from './ledger.ts';
import { describeValue, truncate } from './text.ts';
import type { Budget, RunSpec } from './types.ts';

/** Longest agent name or id a goal may list (the key limit of the validator). */
const MAX_NAME_LENGTH = 200;

/** The task type of the planner. */
export const PLAN_TASK_TYPE = 'plan';

/** How long a goal may be, in characters (seed 003: a description of 10 to 5,000). */
export const GOAL_LIMITS = { minChars: 10, maxChars: 5000 } as const;

/** Most tasks a plan may have: a goal that needs more is several goals. */
export const MAX_PLANNED_TASKS = 50;

/** Most agents a goal may name. */
const MAX_AGENTS = 100;

/** The payload of a `plan` task. */
export interface PlanPayload {
  /** The goal, in plain words: 10 to 5,000 characters. */
  goal: string;
  /** The run's spending limit, as the goal was submitted with it (the run holds it). */
  budget?: Budget;
  /**
   * Names or ids of the live agents whose capabilities the plan may require.
   * @default every live agent
   */
  agents?: string[];
  /**
   * Plan without spawning: the result holds the planned tasks (`baton plan` writes them to a
   * plan file for review).
   * @default false
   */
  dryRun?: boolean;
}

const PLAN_FIELDS = ['goal', 'budget', 'agents', 'dryRun'];

/** What is wrong with a goal's text, or null. */
export function goalProblem(goal: unknown): string | null {
  if (typeof goal !== 'string') {
    return `must be the goal in plain words, a string of ${GOAL_LIMITS.minChars} to ${GOAL_LIMITS.maxChars} characters; got ${describeValue(goal)}`;
  }
  const length = [...goal.trim()].length;
  if (length < GOAL_LIMITS.minChars) {
    return `is ${length} character${length === 1 ? '' : 's'} long; a goal needs at least ${GOAL_LIMITS.minChars}: say what should be done, e.g. "Calculate factorial of 10"`;
  }
  if (length > GOAL_LIMITS.maxChars) {
    return `is ${length} characters long, over the limit of ${GOAL_LIMITS.maxChars}; shorten it, or split the work into several goals`;
  }
  return null;
}

/**
 * Check a `plan` task's payload, as the core validator does for every submission.
 * @returns its issues, each with a path inside the payload ('' for the payload itself).
 */
export function checkPlanPayload(payload: unknown): { path: string; message: string }[] {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    return [
      {
        path: '',
        message: `a plan task's payload must be { goal, budget?, agents?, dryRun? }; got ${describeValue(payload)}`,
      },
    ];
  }
  const issues: { path: string; message: string }[] = [];
  const p = payload as Record<string, unknown>;
  for (const field of Object.keys(p)) {
    if (!PLAN_FIELDS.includes(field)) {
      issues.push({
        path: field,
        message: `unknown field '${truncate(field, 60)}'; a plan task's payload has ${PLAN_FIELDS.join(', ')}`,
      });
    }
  }
  const goal = goalProblem(p['goal']);
  if (goal !== null) issues.push({ path: 'goal', message: goal });
  if (p['budget'] !== undefined) {
    const problem = budgetProblem(p['budget']);
    if (problem !== null) {
      issues.push({ path: ['budget', ...problem.path].join('.'), message: problem.message });
    }
  }
  if (p['agents'] !== undefined) issues.push(...agentsProblems(p['agents']));
  if (p['dryRun'] !== undefined && typeof p['dryRun'] !== 'boolean') {
    issues.push({
      path: 'dryRun',
      message: `must be true or false; got ${describeValue(p['dryRun'])}`,
    });
  }
  return issues;
}

function agentsProblems(agents: unknown): { path: string; message: string }[] {
  if (!Array.isArray(agents)) {
    return [
      {
        path: 'agents',
        message: `must be a list of agent names or ids whose capabilities the plan may use; got ${describeValue(agents)}`,
      },
    ];
  }
  if (agents.length === 0 || agents.length > MAX_AGENTS) {
    return [
      {
        path: 'agents',
        message: `must name 1 to ${MAX_AGENTS} agents (omit it to plan for every live agent); got ${agents.length}`,
      },
    ];
  }
  const issues: { path: string; message: string }[] = [];
  agents.forEach((agent: unknown, i) => {
    if (typeof agent !== 'string' || agent.trim() === '' || agent.length > MAX_NAME_LENGTH) {
      issues.push({
        path: `agents.${i}`,
        message: `must be an agent's name or id (1 to ${MAX_NAME_LENGTH} characters); got ${describeValue(agent)}`,
      });
    }
  });
  return issues;
}

/** A run name from a goal: its words on one line, as far as a name should go. */
export function goalRunName(goal: string): string {
  const words = goal.trim().replace(/\s+/g, ' ');
  return words.length <= 60 ? words : `${words.slice(0, 59)}…`;
}

/**
 * The run a goal starts (`POST /v1/goals`, `baton run --goal`): one `plan` task, key `plan`,
 * carrying the goal (and the agents it may plan for), and the run's budget. The core validator
 * checks it when it is submitted, as every run.
 */
export function goalRunSpec(goal: {
  description: string;
  budget?: Budget | undefined;
  agents?: string[] | undefined;
}): RunSpec {
  const payload: { goal: string; agents?: string[] } = { goal: goal.description };
  if (goal.agents !== undefined) payload.agents = goal.agents;
  return {
    name: goalRunName(goal.description),
    tasks: [{ key: 'plan', type: PLAN_TASK_TYPE, title: 'plan the goal', payload }],
    ...(goal.budget === undefined ? {} : { budget: goal.budget }),
  };
}
