/**
 * `executor: llm` in a plan file: the model call's fields become the task's payload, and what
 * can be known wrong before the run (model id, templates, output schema) is a plan error at its
 * line.
 */
import { describe, expect, it } from 'vitest';

import { PlanError } from '../../src/core/errors.ts';
import { normalizeRun } from '../../src/core/validate.ts';
import { checkAgentsCoverTasks, parsePlan } from '../../src/runtime/plan.ts';

function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function planError(text: string): PlanError {
  try {
    parsePlan(text, 'plans/x.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(PlanError);
    return error as PlanError;
  }
  throw new Error('expected the plan to be refused');
}

describe('llm tasks in a plan', () => {
  it('builds the payload from the model call fields, defaults and the payload data', () => {
    const plan = parsePlan(
      yaml(
        'defaults: { model: anthropic:claude-sonnet-4-5, maxTokens: 500, temperature: 0.1 }',
        'tasks:',
        '  - key: research',
        '    executor: llm',
        '    system: You are terse.',
        '    prompt: "Find facts about {{ payload.topic }}"',
        '    payload: { topic: bees }',
        '  - key: write',
        '    executor: llm',
        '    model: openai-compatible:ollama:llama3.1:8b',
        '    prompt: "Write up {{ deps.research.result }}"',
        '    dependsOn: [research]',
        '    output:',
        '      type: object',
        '      properties: { title: { type: string } }',
        '      required: [title]',
        '  - key: publish',
        '    command: echo',
        '    dependsOn: [write]',
      ),
      'plans/x.yaml',
    );
    expect(plan.run.tasks.slice(0, 2)).toEqual([
      {
        type: 'llm',
        key: 'research',
        payload: {
          topic: 'bees',
          model: 'anthropic:claude-sonnet-4-5',
          prompt: 'Find facts about {{ payload.topic }}',
          system: 'You are terse.',
          maxTokens: 500,
          temperature: 0.1,
        },
      },
      {
        type: 'llm',
        key: 'write',
        dependsOn: ['research'],
        payload: {
          model: 'openai-compatible:ollama:llama3.1:8b',
          prompt: 'Write up {{ deps.research.result }}',
          maxTokens: 500,
          temperature: 0.1,
          output: {
            type: 'object',
            properties: { title: { type: 'string' } },
            required: ['title'],
          },
        },
      },
    ]);
    expect(plan.tasks.map((t) => t.executor)).toEqual(['llm', 'llm', 'shell']);
    expect(normalizeRun(plan.run, { now: Date.now() }).tasks).toHaveLength(3);
  });

  it('refuses a template naming a dependency the task does not have, at its line', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - { key: research, command: echo }',
        '  - key: write',
        '    executor: llm',
        '    model: openai:gpt-4.1-mini',
        '    prompt: "Use {{ deps.reserch.result }}"',
        '    dependsOn: [research]',
      ),
    );
    expect(error.issues).toHaveLength(1);
    expect(error.message).toBe(
      "plans/x.yaml:6:13: tasks[1].prompt: {{ deps.reserch.result }}: 'reserch' is not a dependency of this task (did you mean 'research'?); its dependsOn: research. Add it to dependsOn or fix the name",
    );
  });

  it('refuses a template naming a task of the run that is not a dependency', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - { key: research, command: echo }',
        '  - key: write',
        '    executor: llm',
        '    model: openai:gpt-4.1-mini',
        '    system: "{{ deps.research.result }}"',
        '    prompt: hi',
      ),
    );
    expect(error.issues.map((i) => [i.line, i.field])).toEqual([[6, 'tasks[1].system']]);
    expect(error.message).toContain('its dependsOn: none');
  });

  it('refuses an unknown provider, an output that is not JSON Schema, and bad numbers', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - key: a',
        '    executor: llm',
        '    model: gemini:pro',
        '    prompt: hi',
        '    temperature: hot',
        '    maxTokens: 0',
        '    output: { type: object, properties: { n: { type: numbr } } }',
      ),
    );
    expect(error.issues.map((i) => [i.line, i.field])).toEqual([
      [4, 'tasks[0].model'],
      [6, 'tasks[0].temperature'],
      [7, 'tasks[0].maxTokens'],
      [8, 'tasks[0].output'],
    ]);
    expect(error.issues[0]!.message).toContain("unknown provider 'gemini'");
    expect(error.issues[3]!.message).toMatch(/^is not a valid JSON Schema: /);
  });

  it('reports a model from defaults at the defaults line', () => {
    const error = planError(
      yaml(
        'defaults: { model: gpt-4.1-mini }',
        'tasks:',
        '  - { key: a, executor: llm, prompt: hi }',
      ),
    );
    expect(error.issues.map((i) => [i.line, i.field])).toEqual([[1, 'defaults.model']]);
    expect(error.issues[0]!.message).toContain("did you mean 'openai:gpt-4.1-mini'?");
  });

  it('requires model and prompt', () => {
    const error = planError(yaml('tasks:', '  - { key: a, executor: llm }'));
    expect(error.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/^is required: a provider-qualified model id/) as unknown,
      'is required: the text the model answers',
    ]);
  });

  it('keeps the llm fields to llm tasks, and the llm fields out of payload', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - key: a',
        '    command: ls',
        '    prompt: hi',
        '  - key: b',
        '    executor: llm',
        '    model: openai:gpt-4.1-mini',
        '    prompt: hi',
        '    command: ls',
        '    payload: { model: other, topic: x }',
        '  - key: c',
        '    executor: llm',
        '    model: openai:gpt-4.1-mini',
        '    prompt: hi',
        '    payload: [1, 2]',
      ),
    );
    expect(error.issues.map((i) => [i.line, i.field])).toEqual([
      [4, 'tasks[0].prompt'],
      [9, 'tasks[1].command'],
      [10, 'tasks[1].payload.model'],
      [15, 'tasks[2].payload'],
    ]);
    expect(error.issues[0]!.message).toBe(
      "only llm tasks take prompt; this task's executor is 'shell' — set executor: llm for a model call",
    );
    expect(error.issues[2]!.message).toBe(
      "'model' is a field of the llm task itself; write it next to executor: llm, not under payload",
    );
  });

  it("is run by baton run's agents: one that requires what they lack is refused", () => {
    const plan = parsePlan(
      yaml(
        'tasks:',
        '  - { key: a, executor: llm, model: openai:gpt-4.1-mini, prompt: hi, requires: [gpu] }',
      ),
      'plans/x.yaml',
    );
    expect(() => checkAgentsCoverTasks(plan)).toThrow(/task 'a' requires \[gpu\]/);
    expect(() => checkAgentsCoverTasks(plan, { capabilities: ['gpu'] })).not.toThrow();
  });

  it('says a task with llm fields and no executor needs executor: llm', () => {
    const error = planError(
      yaml('tasks:', '  - { key: a, model: openai:gpt-4.1-mini, prompt: hi }'),
    );
    expect(error.issues.map((i) => [i.field, i.message])).toEqual([
      ['tasks[0]', 'a model call needs executor: llm (with model: and prompt:)'],
    ]);
  });

  it('leaves llm defaults out of other tasks', () => {
    const plan = parsePlan(
      yaml('defaults: { model: openai:gpt-4.1-mini }', 'tasks:', '  - { key: a, command: ls }'),
      'plans/x.yaml',
    );
    expect(plan.run.tasks[0]!.payload).toEqual({ command: 'ls', args: [], shell: false });
  });
});
