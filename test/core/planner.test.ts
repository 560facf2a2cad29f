/**
 * The planner's pure rules (src/core/planner.ts, goal.ts, run-result.ts): what a goal may be,
 * how an answer becomes `llm` tasks and what is wrong with one, and the run's result.
 */
import { describe, expect, it } from 'vitest';

import { checkPlanPayload, goalProblem, goalRunSpec } from '../../src/core/goal.ts';
import { compileOutputSchema } from '../../src/core/llm.ts';
import {
  PLAN_OUTPUT_SCHEMA,
  fallbackTask,
  tasksFromDraft,
  type DraftOptions,
} from '../../src/core/planner.ts';
import { runResult } from '../../src/core/run-result.ts';
import type { TaskRecord } from '../../src/core/types.ts';
import { normalizeRun } from '../../src/core/validate.ts';

const OPTIONS: DraftOptions = {
  taskModel: 'anthropic:claude-haiku-4-5',
  agents: [
    { name: 'a', capabilities: ['python', 'shell'] },
    { name: 'b', capabilities: ['gpu'] },
  ],
  existingKeys: ['plan'],
};

function draft(key: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    key,
    title: `T ${String(key)}`,
    description: 'd',
    requires: [],
    dependsOn: [],
    priority: 'medium',
    epic: '',
    complexity: 'low',
    prompt: `do ${String(key)}`,
    ...extra,
  };
}

function problemsOf(tasks: unknown[]): string[] {
  const outcome = tasksFromDraft({ tasks }, OPTIONS);
  expect(outcome.tasks).toBeNull();
  return outcome.problems;
}

describe('goals', () => {
  it('takes 10 to 5,000 characters, counted after trimming, by code point', () => {
    expect(goalProblem('x'.repeat(10))).toBeNull();
    expect(goalProblem('x'.repeat(5000))).toBeNull();
    expect(goalProblem('   abc    ')).toMatch(/is 3 characters long; a goal needs at least 10/);
    expect(goalProblem('x'.repeat(5001))).toMatch(/5001 characters long, over the limit of 5000/);
    expect(goalProblem('🙂'.repeat(10))).toBeNull();
    expect(goalProblem(42)).toMatch(/must be the goal in plain words.*got the number 42/);
  });

  it("checks a plan task's payload field by field", () => {
    expect(checkPlanPayload({ goal: 'Calculate factorial of 10' })).toEqual([]);
    expect(
      checkPlanPayload({ goal: 'short', budget: { usd: -1 }, agents: [''], dryRun: 'y', x: 1 }).map(
        (i) => i.path,
      ),
    ).toEqual(['x', 'goal', 'budget.usd', 'agents.0', 'dryRun']);
    expect(checkPlanPayload(null)[0]?.message).toMatch(/must be \{ goal, budget\?/);
  });

  it('makes the run of a goal: one plan task, and the budget', () => {
    const run = goalRunSpec({ description: 'Calculate factorial of 10', budget: { usd: 1 } });
    expect(run).toMatchObject({
      name: 'Calculate factorial of 10',
      budget: { usd: 1 },
      tasks: [{ key: 'plan', type: 'plan', payload: { goal: 'Calculate factorial of 10' } }],
    });
    expect(normalizeRun(run, { now: 0 }).tasks).toHaveLength(1);
  });
});

describe('tasks from a planner answer', () => {
  it('the output schema is one the llm executor accepts', () => {
    expect(() => compileOutputSchema(PLAN_OUTPUT_SCHEMA)).not.toThrow();
  });

  it('makes llm tasks whose prompt is data, with their dependencies results appended', () => {
    const outcome = tasksFromDraft(
      {
        tasks: [
          draft('fetch', { requires: ['python'], epic: 'data', priority: 'high' }),
          draft('sum', { dependsOn: ['fetch'], prompt: 'Add {{ these }} up', complexity: 'high' }),
        ],
      },
      OPTIONS,
    );
    expect(outcome.problems).toEqual([]);
    const [fetch, sum] = outcome.tasks!;
    expect(fetch).toMatchObject({
      type: 'llm',
      key: 'fetch',
      title: 'T fetch',
      epic: 'data',
      requires: ['python'],
      priority: 'high',
      payload: { model: 'anthropic:claude-haiku-4-5', prompt: '{{ payload.instructions }}' },
    });
    expect(sum?.payload).toMatchObject({
      instructions: 'Add {{ these }} up',
      complexity: 'high',
      prompt: "{{ payload.instructions }}\n\nResult of 'fetch':\n{{ deps.fetch.result }}",
    });
    expect(sum?.dependsOn).toEqual(['fetch']);
    // They submit as they are.
    expect(normalizeRun({ tasks: outcome.tasks }, { now: 0 }).tasks).toHaveLength(2);
  });

  it('names a cycle', () => {
    const [problem] = problemsOf([
      draft('a', { dependsOn: ['b'] }),
      draft('b', { dependsOn: ['a'] }),
    ]);
    expect(problem).toMatch(/cycle.*a.*b/i);
  });

  it('names an unknown dependency at its task', () => {
    expect(problemsOf([draft('a'), draft('b', { dependsOn: ['c'] })]).join('\n')).toMatch(
      /task 'b', dependsOn\[0\]: .*'c'/,
    );
  });

  it('names a bad key, a duplicate key and a key the run already has', () => {
    const problems = problemsOf([draft('has space'), draft('x'), draft('x'), draft('plan')]).join(
      '\n',
    );
    expect(problems).toContain("'has space' is not a valid key");
    expect(problems).toMatch(/duplicate|already/);
    expect(problems).toContain("task 'plan': key 'plan' is already used in this run");
  });

  it('refuses requires that no single live agent has all of, listing what they have', () => {
    const [problem] = problemsOf([draft('t', { requires: ['gpu', 'python'] })]);
    expect(problem).toBe(
      "task 't': requires [gpu, python], which no live agent has all of; choose from the agents' capabilities (gpu, python, shell) or leave requires empty",
    );
  });

  it('refuses a task without instructions', () => {
    expect(problemsOf([draft('a', { prompt: '  ' })])).toEqual([
      "task 'a': its prompt is empty; write the instructions for the model that carries it out",
    ]);
  });

  it('refuses no tasks, too many, and an answer of the wrong shape', () => {
    expect(problemsOf([])).toEqual(['the plan has no tasks; give at least one']);
    expect(problemsOf(Array.from({ length: 51 }, (_, i) => draft(`t${i}`)))[0]).toMatch(
      /51 tasks, over the limit of 50/,
    );
    expect(tasksFromDraft(['a'], OPTIONS).problems[0]).toMatch(/must be \{ "tasks": \[ … \] \}/);
  });

  it('the fallback is one task carrying the whole goal, requiring nothing', () => {
    const task = fallbackTask('  Calculate {{ factorial }} of 10 ', 'openai:gpt-4.1-mini');
    expect(task).toMatchObject({
      type: 'llm',
      key: 'goal',
      payload: { prompt: '{{ payload.goal }}', goal: 'Calculate {{ factorial }} of 10' },
    });
    expect(task.requires).toBeUndefined();
    expect(fallbackTask('Calculate factorial of 10', 'openai:gpt-4.1-mini', ['goal']).key).toBe(
      'goal-2',
    );
    expect(normalizeRun({ tasks: [task] }, { now: 0 }).tasks).toHaveLength(1);
  });
});

describe('the run result', () => {
  const t = (
    key: string,
    extra: Partial<TaskRecord> = {},
  ): Pick<TaskRecord, 'id' | 'key' | 'type' | 'state' | 'result' | 'dependsOn' | 'aggregate'> => ({
    id: `tsk_${key}`,
    key,
    type: 'llm',
    state: 'succeeded',
    result: `${key}!`,
    dependsOn: [],
    aggregate: false,
    ...extra,
  });

  it("holds the sinks' results; a plan task is not a sink when it spawned tasks", () => {
    expect(
      runResult([
        t('plan', { type: 'plan', result: { tasks: [] } }),
        t('a'),
        t('b', { dependsOn: [{ key: 'a', soft: false }] }),
        t('c', { state: 'failed', result: null }),
      ]),
    ).toEqual({ from: 'sinks', results: { b: 'b!', c: null } });
    // A plan task alone (it failed before spawning) is the sink.
    expect(runResult([t('plan', { type: 'plan', state: 'failed', result: null })])).toEqual({
      from: 'sinks',
      results: { plan: null },
    });
  });

  it('holds only the aggregate tasks when some declare it', () => {
    expect(runResult([t('a'), t('b', { aggregate: true }), t('c')])).toEqual({
      from: 'aggregate',
      results: { b: 'b!' },
    });
    expect(runResult([])).toBeNull();
  });
});
