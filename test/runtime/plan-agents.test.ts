/**
 * The `agents:` section of plan files: the local agents `baton run` starts for a plan, and the
 * check that they can take every shell task.
 */
import { describe, expect, it } from 'vitest';

import { PlanError } from '../../src/core/errors.ts';
import { checkAgentsCoverTasks, parsePlan } from '../../src/runtime/plan.ts';

/** Lines joined with newlines, so line numbers in assertions can be counted from the source. */
function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function planError(run: () => unknown): PlanError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PlanError);
    return error as PlanError;
  }
  throw new Error('expected the plan to be refused');
}

const TASK = ['tasks:', '  - key: t', '    command: echo'];

describe('agents in plan files', () => {
  it('reads the agents with their defaults, in file order', () => {
    const plan = parsePlan(
      yaml(
        'agents:',
        '  - name: analyst',
        '    capabilities: [data_analysis, " database_operations ", data_analysis]',
        '    labels: { region: eu, tier: "1" }',
        '    concurrency: 3',
        '  - name: idle',
        ...TASK,
      ),
      'plans/x.yaml',
    );
    expect(plan.agents).toEqual([
      {
        name: 'analyst',
        // Trimmed like a task's requires, without duplicates.
        capabilities: ['data_analysis', 'database_operations'],
        labels: { region: 'eu', tier: '1' },
        concurrency: 3,
        line: 2,
        column: 5,
      },
      { name: 'idle', capabilities: [], labels: {}, concurrency: 1, line: 6, column: 5 },
    ]);
  });

  it('is null for a plan without agents, whose tasks are checked against the generic agents', () => {
    const plan = parsePlan(yaml(...TASK, '    requires: [gpu]'), 'plans/x.yaml');
    expect(plan.agents).toBeNull();
    expect(() => checkAgentsCoverTasks(plan)).toThrow(PlanError);
    expect(() => checkAgentsCoverTasks(plan, { capabilities: ['gpu'] })).not.toThrow();
  });

  it('names an unknown field of an agent at its line, with the field meant', () => {
    const error = planError(() =>
      parsePlan(yaml('agents:', '  - name: a', '    capabilites: [x]', ...TASK), 'plans/x.yaml'),
    );
    expect(error.issues).toHaveLength(1);
    expect(error).toMatchObject({ line: 3, column: 5, field: 'agents[0].capabilites' });
    expect(error.message).toBe(
      "plans/x.yaml:3:5: agents[0].capabilites: unknown field 'capabilites' (did you mean 'capabilities'?); allowed fields: name, capabilities, labels, concurrency",
    );
  });

  it('refuses two agents with one name, at the second, naming the first', () => {
    const error = planError(() =>
      parsePlan(
        yaml('agents:', '  - name: coder', '  - name: other', '  - name: coder', ...TASK),
        'plans/x.yaml',
      ),
    );
    expect(error.issues).toHaveLength(1);
    expect(error).toMatchObject({ line: 4, field: 'agents[2].name' });
    expect(error.message).toContain(
      "agent name 'coder' is already used by agents[0] (line 2); give each agent its own name",
    );
  });

  it('refuses a concurrency below 1 or not whole, at its line', () => {
    const error = planError(() =>
      parsePlan(
        yaml(
          'agents:',
          '  - name: a',
          '    concurrency: 0',
          '  - name: b',
          '    concurrency: 1.5',
          '  - name: c',
          '    concurrency: "2"',
          ...TASK,
        ),
        'plans/x.yaml',
      ),
    );
    expect(error.issues.map((i) => [i.line, i.field])).toEqual([
      [3, 'agents[0].concurrency'],
      [5, 'agents[1].concurrency'],
      [7, 'agents[2].concurrency'],
    ]);
    expect(error.issues[0]!.message).toMatch(/^must be a whole number of 1 or more .*got .*0$/);
  });

  it('refuses a missing or malformed name, bad capabilities and labels, and an empty list', () => {
    const error = planError(() =>
      parsePlan(
        yaml(
          'agents:',
          '  - capabilities: [x]',
          '  - name: two words',
          '  - name: c',
          '    capabilities: [x, ""]',
          '    labels: { region: 1 }',
          '  - name: d',
          '    capabilities: x',
          '    labels: [eu]',
          ...TASK,
        ),
        'plans/x.yaml',
      ),
    );
    expect(error.issues.map((i) => [i.line, i.field])).toEqual([
      [2, 'agents[0].name'],
      [3, 'agents[1].name'],
      [5, 'agents[2].capabilities[1]'],
      [6, 'agents[2].labels.region'],
      [8, 'agents[3].capabilities'],
      [9, 'agents[3].labels'],
    ]);
    expect(error.issues[0]!.message).toBe('is required');
    expect(error.issues[3]!.message).toContain('quote it ("1")');

    const empty = planError(() => parsePlan(yaml('agents: []', ...TASK), 'plans/x.yaml'));
    expect(empty).toMatchObject({ line: 1, field: 'agents' });
    expect(empty.message).toContain('must not be empty');
  });
});

describe('checkAgentsCoverTasks', () => {
  const agents = [
    'agents:',
    '  - name: scraper',
    '    capabilities: [web_scraping, api_integration]',
    '  - name: archivist',
    '    capabilities: [file_processing]',
  ];

  it('accepts tasks some single agent can take, shell included', () => {
    const plan = parsePlan(
      yaml(
        ...agents,
        'tasks:',
        '  - { key: a, command: echo, requires: [web_scraping, api_integration] }',
        '  - { key: b, command: echo, requires: [shell, file_processing] }',
        '  - { key: c, command: echo }',
      ),
      'plans/x.yaml',
    );
    expect(() => checkAgentsCoverTasks(plan)).not.toThrow();
  });

  it('names each task no agent can take, its requires and the agents', () => {
    const plan = parsePlan(
      yaml(
        ...agents,
        'tasks:',
        '  - { key: ok, command: echo, requires: [web_scraping] }',
        // Each capability is somewhere, but no one agent has both.
        '  - { key: split, command: echo, requires: [web_scraping, file_processing] }',
        '  - { key: gpu, command: echo, requires: [gpu] }',
        // Other executors wait for a worker elsewhere: not the local agents' business.
        '  - { key: summary, executor: summarise, requires: [gpu] }',
      ),
      'plans/x.yaml',
    );
    const error = planError(() => checkAgentsCoverTasks(plan));
    expect(error.issues.map((i) => [i.line, i.field])).toEqual([
      [8, 'tasks[1].requires'],
      [9, 'tasks[2].requires'],
    ]);
    expect(error.issues[0]!.message).toBe(
      "task 'split' requires [file_processing, web_scraping], but no agent of this plan has all of them " +
        '(agents: scraper [api_integration, shell, web_scraping]; archivist [file_processing, shell]); ' +
        "add the missing capabilities to an agent under agents:, or change the task's requires",
    );
  });
});

describe("checkAgentsCoverTasks without agents: (baton run's generic agents)", () => {
  const tasks = [
    'tasks:',
    '  - { key: plain, command: echo }',
    '  - { key: shelly, command: echo, requires: [shell] }',
    '  - { key: train, command: echo, requires: [gpu, shell] }',
    '  - { key: call, executor: http, payload: { url: "http://x" }, requires: [gpu] }',
    // Other executors wait for a worker elsewhere: not the local agents' business.
    '  - { key: think, executor: summarise, requires: [gpu] }',
  ];

  it('refuses shell and http tasks that require what the agents were not given', () => {
    const plan = parsePlan(yaml(...tasks), 'plans/x.yaml');
    const error = planError(() => checkAgentsCoverTasks(plan));
    expect(error.issues.map((i) => [i.line, i.field])).toEqual([
      [4, 'tasks[2].requires'],
      [5, 'tasks[3].requires'],
    ]);
    expect(error.issues[0]!.message).toBe(
      "task 'train' requires [gpu, shell], but baton run's agents have only [shell]: nothing says this machine has gpu. " +
        'If it has, say so with --capabilities gpu (or declare agents: in the plan); ' +
        'to run the task where they are, baton submit the plan and start baton worker --capabilities gpu there',
    );
  });

  it('accepts them when the agents have those capabilities', () => {
    const plan = parsePlan(yaml(...tasks), 'plans/x.yaml');
    expect(() => checkAgentsCoverTasks(plan, { capabilities: ['gpu'] })).not.toThrow();
  });
});
