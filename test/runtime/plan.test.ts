import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { CycleError, PlanError } from '../../src/core/errors.ts';
import { LIMITS, normalizeRun } from '../../src/core/validate.ts';
import { loadPlan, parsePlan } from '../../src/runtime/plan.ts';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-plan-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Lines joined with newlines, so line numbers in assertions can be counted from the source. */
function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function planError(text: string, file = 'plans/x.yaml'): PlanError {
  try {
    parsePlan(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(PlanError);
    return error as PlanError;
  }
  throw new Error('expected the plan to be refused');
}

describe('loading valid plans', () => {
  it('reads a YAML plan into a run the core validator accepts', async () => {
    const file = join(dir, 'quickstart.yaml');
    writeFileSync(
      file,
      yaml(
        'name: quickstart',
        'tasks:',
        '  - key: fetch-a',
        '    title: Fetch dataset A',
        '    epic: ingest',
        '    command: sleep',
        '    args: ["0.2"]',
        '  - key: build',
        '    command: make build',
        '    shell: true',
        '    priority: high',
        '    dependsOn: [fetch-a, { key: flaky, soft: true }]',
        '  - key: flaky',
        '    executor: summarise',
        '    payload: { text: hi, n: 2 }',
      ),
    );
    const plan = await loadPlan(file);
    expect(plan.name).toBe('quickstart');
    expect(plan.file).toBe(file);
    expect(plan.run.tasks).toEqual([
      {
        type: 'shell',
        key: 'fetch-a',
        title: 'Fetch dataset A',
        epic: 'ingest',
        payload: { command: 'sleep', args: ['0.2'], shell: false },
      },
      {
        type: 'shell',
        key: 'build',
        priority: 'high',
        dependsOn: ['fetch-a', { key: 'flaky', soft: true }],
        payload: { command: 'make build', args: [], shell: true },
      },
      { type: 'summarise', key: 'flaky', payload: { text: 'hi', n: 2 } },
    ]);
    expect(plan.tasks.map((t) => [t.key, t.executor, t.line])).toEqual([
      ['fetch-a', 'shell', 3],
      ['build', 'shell', 8],
      ['flaky', 'summarise', 13],
    ]);
    expect(plan.tasks[1]!.spec).toBe(plan.run.tasks[1]);
    expect(normalizeRun(plan.run, { now: Date.now() }).tasks).toHaveLength(3);
  });

  it('reads a JSON plan, named after its file by default', async () => {
    const file = join(dir, 'nightly.json');
    writeFileSync(
      file,
      JSON.stringify(
        {
          tasks: [
            { key: 'a', command: ['echo', 'hi'] },
            { key: 'b', command: 'true', dependsOn: ['a'] },
          ],
        },
        null,
        '\t',
      ),
    );
    const plan = await loadPlan(file);
    expect(plan.name).toBe('nightly');
    expect(plan.run.name).toBe('nightly');
    expect(plan.run.tasks.map((t) => t.payload)).toEqual([
      { command: 'echo', args: ['hi'], shell: false },
      { command: 'true', args: [], shell: false },
    ]);
    expect(plan.tasks[1]!.line).toBe(10);
  });

  it('names the line of a problem in a JSON plan too', () => {
    const error = planError(
      '{\n  "tasks": [\n    { "key": "a", "command": "true", "priority": "urgent" }\n  ]\n}\n',
      'p.json',
    );
    expect(error.line).toBe(3);
    expect(error.field).toBe('tasks[0].priority');
  });

  it('applies defaults to every task unless the task overrides them', () => {
    const plan = parsePlan(
      yaml(
        'defaults:',
        '  maxAttempts: 2',
        '  timeoutMs: 30000',
        '  requires: [shell]',
        '  priority: medium',
        '  env: { A: one, B: two }',
        'tasks:',
        '  - key: plain',
        '    command: "true"',
        '  - key: custom',
        '    command: "true"',
        '    maxAttempts: 5',
        '    requires: [gpu]',
        '    priority: 1',
        '    env: { B: three }',
      ),
      join(dir, 'p.yaml'),
    );
    const [plain, custom] = plan.run.tasks;
    expect(plain).toMatchObject({
      maxAttempts: 2,
      timeoutMs: 30000,
      requires: ['shell'],
      priority: 'medium',
    });
    expect(plain!.payload).toMatchObject({ env: { A: 'one', B: 'two' } });
    expect(custom).toMatchObject({
      maxAttempts: 5,
      timeoutMs: 30000,
      requires: ['gpu'],
      priority: 1,
    });
    expect(custom!.payload).toMatchObject({ env: { A: 'one', B: 'three' } });
  });

  it('takes shell and epic from the defaults: shell for script lines, never for an argv list', () => {
    const plan = parsePlan(
      yaml(
        'defaults:',
        '  shell: true',
        '  epic: build',
        'tasks:',
        '  - key: script',
        '    command: make build && make test',
        '  - key: argv',
        '    command: [echo, "a b"]',
        '  - key: plain',
        '    command: echo',
        '    args: [hi]',
        '    shell: false',
        '    epic: report',
        '  - key: other',
        '    executor: summarise',
        '    payload: { prompt: hi }',
      ),
      join(dir, 'p.yaml'),
    );
    const [script, argv, plain, other] = plan.run.tasks;
    expect(script).toMatchObject({ epic: 'build' });
    expect(script!.payload).toMatchObject({ command: 'make build && make test', shell: true });
    expect(argv!.payload).toMatchObject({ command: 'echo', args: ['a b'], shell: false });
    expect(plain).toMatchObject({ epic: 'report' });
    expect(plain!.payload).toMatchObject({ command: 'echo', args: ['hi'], shell: false });
    // The shell fields of defaults apply to shell tasks only.
    expect(other).toMatchObject({ type: 'summarise', epic: 'build', payload: { prompt: 'hi' } });
  });

  it('takes affinity rules from a task or from the defaults', () => {
    const plan = parsePlan(
      yaml(
        'defaults:',
        '  affinity: [{ label: region, value: eu }]',
        'tasks:',
        '  - { key: plain, command: "true" }',
        '  - key: gpu',
        '    command: "true"',
        '    affinity:',
        '      - { label: gpu, value: a100, weight: 3 }',
      ),
      join(dir, 'p.yaml'),
    );
    const [plain, gpu] = plan.run.tasks;
    expect(plain!.affinity).toEqual([{ label: 'region', value: 'eu' }]);
    expect(gpu!.affinity).toEqual([{ label: 'gpu', value: 'a100', weight: 3 }]);
    const normalized = normalizeRun(plan.run, { now: 0 });
    expect(normalized.tasks[0]!.affinity).toEqual([{ label: 'region', value: 'eu', weight: 1 }]);
  });

  it('takes a budget for the run at the top level, and for a task', () => {
    const plan = parsePlan(
      yaml(
        'budget: { usd: 5 }',
        'tasks:',
        '  - key: a',
        '    executor: llm',
        '    model: anthropic:claude-sonnet-4-5',
        '    prompt: Summarise the notes',
        '    budget: { usd: 0.5 }',
        '  - { key: b, executor: call }',
      ),
      'costly.yaml',
    );
    expect(plan.run.budget).toEqual({ usd: 5 });
    expect(plan.run.tasks.map((t) => t.budget)).toEqual([{ usd: 0.5 }, undefined]);
    expect(normalizeRun(plan.run, { now: 0 }).budgetUsd).toBe(5);
  });

  it('runs tasks without a command under the default executor', () => {
    const plan = parsePlan(
      yaml(
        'defaults:',
        '  executor: review',
        'tasks:',
        '  - key: r',
        '    payload: { pr: 12 }',
        '  - key: s',
        '    command: ls',
      ),
      'p.yaml',
    );
    expect(plan.run.tasks.map((t) => t.type)).toEqual(['review', 'shell']);
  });

  it('accepts argv form, appending args to it', () => {
    const plan = parsePlan(
      yaml(
        'tasks:',
        '  - key: a',
        '    command: [sleep, "0.2"]',
        '  - key: b',
        '    command: [git, -C, repo]',
        '    args: [status]',
      ),
      'p.yaml',
    );
    expect(plan.run.tasks.map((t) => t.payload)).toEqual([
      { command: 'sleep', args: ['0.2'], shell: false },
      { command: 'git', args: ['-C', 'repo', 'status'], shell: false },
    ]);
  });

  it('resolves cwd relative to the plan file, and keeps absolute ones', async () => {
    mkdirSync(join(dir, 'plans'));
    const file = join(dir, 'plans', 'p.yml');
    writeFileSync(
      file,
      yaml(
        'defaults: { cwd: ./data }',
        'tasks:',
        '  - { key: a, command: ls }',
        '  - { key: b, command: ls, cwd: ../src }',
        '  - { key: c, command: ls, cwd: /var/tmp }',
      ),
    );
    const plan = await loadPlan(file);
    expect(plan.run.tasks.map((t) => (t.payload as { cwd: string }).cwd)).toEqual([
      join(dir, 'plans', 'data'),
      join(dir, 'src'),
      '/var/tmp',
    ]);
  });

  it('allows anchors and merge keys for shared settings', () => {
    const plan = parsePlan(
      yaml(
        'tasks:',
        '  - &base { key: a, command: make, maxAttempts: 4 }',
        '  - <<: *base',
        '    key: b',
      ),
      'p.yaml',
    );
    expect(plan.run.tasks[1]).toMatchObject({
      key: 'b',
      maxAttempts: 4,
      payload: { command: 'make' },
    });
  });
});

describe('refusing broken plans, with file and line', () => {
  it('reports malformed YAML at the parser line', () => {
    const error = planError(yaml('tasks:', '  - key: a', '    command: "sleep', '  - key: b'));
    expect(error.code).toBe('BATON_PLAN');
    expect(error.line).toBeGreaterThanOrEqual(3);
    expect(error.message).toMatch(new RegExp(`^plans/x\\.yaml:${error.line}:\\d+: `));
  });

  it('reports a duplicate mapping key at its line', () => {
    const error = planError(yaml('tasks:', '  - key: a', '    command: ls', '    command: pwd'));
    expect(error.line).toBe(4);
    expect(error.message).toContain('twice');
  });

  it('names an unknown field, its line, and the field meant', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - key: a',
        '    command: ls',
        '  - key: b',
        '    command: ls',
        '    dependson: [a]',
      ),
    );
    expect(error.issues).toHaveLength(1);
    expect(error).toMatchObject({ line: 6, column: 5, field: 'tasks[1].dependson' });
    expect(error.message).toBe(
      `plans/x.yaml:6:5: tasks[1].dependson: unknown field 'dependson' (did you mean 'dependsOn'?); allowed fields: ${[
        'executor',
        'epic',
        'requires',
        'priority',
        'maxAttempts',
        'timeoutMs',
        'backoff',
        'affinity',
        'shell',
        'cwd',
        'env',
        'model',
        'system',
        'maxTokens',
        'temperature',
        'kind',
        'maxBudgetUsd',
        'maxTurns',
        'mcpConfig',
        'domain',
        'key',
        'title',
        'description',
        'dependsOn',
        'idempotencyKey',
        'command',
        'args',
        'payload',
        'prompt',
        'output',
        'complexity',
        'budget',
        'aggregate',
      ].join(', ')}`,
    );
  });

  it('reports a mistyped command once: no second error about the executor', () => {
    const error = planError(
      yaml('tasks:', '  - key: a', '    comand: echo', '    args: [hi]', '    cwd: /tmp'),
    );
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ line: 3, field: 'tasks[0].comand' });
    expect(error.issues[0]!.message).toContain("did you mean 'command'?");
    expect(error.message).not.toContain("'?'");
  });

  it('says a task with shell fields but no command needs one', () => {
    const error = planError(yaml('tasks:', '  - key: a', '    args: [hi]'));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ line: 2, field: 'tasks[0]' });
    expect(error.issues[0]!.message).toBe(
      'a shell task needs command: (a program, e.g. command: make, args: [build])',
    );
  });

  it('says a key takes ASCII letters', () => {
    const error = planError(yaml('tasks:', '  - key: café', '    command: ls'));
    expect(error.issues[0]).toMatchObject({ line: 2, field: 'tasks[0].key' });
    expect(error.issues[0]!.message).toBe(
      "'café' is not a valid key: use ASCII letters (A-Z, a-z), digits, '.', '_', ':' and '-', starting with a letter or digit",
    );
  });

  it('names unknown fields at the top level and in defaults', () => {
    const error = planError(
      yaml('nmae: x', 'defaults:', '  retries: 3', 'tasks:', '  - { key: a, command: ls }'),
    );
    expect(error.issues.map((i) => [i.line, i.field])).toEqual([
      [1, 'nmae'],
      [3, 'defaults.retries'],
    ]);
    expect(error.issues[0]!.message).toContain("did you mean 'name'?");
  });

  it('refuses a bad priority at its line, with the allowed values', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - { key: a, command: ls }',
        '  - key: b',
        '    command: ls',
        '    priority: urgent',
      ),
    );
    expect(error).toMatchObject({ line: 5, column: 15, field: 'tasks[1].priority' });
    expect(error.message).toMatch(
      /^plans\/x\.yaml:5:15: tasks\[1\]\.priority: .*'urgent'.*critical.*high.*medium.*low/,
    );
    expect(error.message).toContain('integer');
  });

  it('refuses a negative or non-number budget, of the run or of a task, at its line', () => {
    const error = planError(
      yaml(
        'budget: { usd: -3 }',
        'tasks:',
        '  - key: a',
        '    executor: call',
        '    budget: { usd: five }',
      ),
    );
    expect(error.issues.map((i) => [i.line, i.field])).toEqual([
      [1, 'budget.usd'],
      [5, 'tasks[0].budget.usd'],
    ]);
    expect(error.issues[0]!.message).toBe(
      'must be a number of US dollars from 0 to 1000000; got the number -3',
    );
    expect(planError(yaml('budget: 5', 'tasks:', '  - { key: a, command: ls }')).message).toContain(
      'budget: must be { usd: <US dollars from 0 to 1000000> }, e.g. { usd: 5 }; got the number 5',
    );
  });

  it('refuses a bad affinity rule at its line', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - key: a',
        '    command: ls',
        '    affinity:',
        '      - { label: region, value: eu, weight: heavy }',
      ),
    );
    expect(error).toMatchObject({ line: 5, field: 'tasks[0].affinity[0].weight' });
    expect(error.message).toMatch(/must be a number; got/);
  });

  it('reports a bad default once, at the defaults line', () => {
    const error = planError(
      yaml(
        'defaults:',
        '  priority: urgent',
        'tasks:',
        '  - { key: a, command: ls }',
        '  - { key: b, command: ls }',
      ),
    );
    expect(error.issues).toHaveLength(1);
    expect(error).toMatchObject({ line: 2, field: 'defaults.priority' });
  });

  it('names a cycle with its path, at the line of its first task', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - key: setup',
        '    command: ls',
        '  - key: build',
        '    command: make',
        '    dependsOn: [setup, package]',
        '  - key: test',
        '    command: make test',
        '    shell: true',
        '    dependsOn: [build]',
        '  - key: package',
        '    command: tar',
        '    dependsOn: [test]',
      ),
    );
    const first = error.field === 'tasks[1]' ? 4 : error.field === 'tasks[2]' ? 7 : 11;
    expect(error.line).toBe(first);
    expect(error.message).toMatch(
      /(build -> test -> package -> build|test -> package -> build -> test|package -> build -> test -> package)/,
    );
    expect(error.cause).toBeInstanceOf(CycleError);
    expect((error.details.cycle as string[]).length).toBe(4);
  });

  it('reports a cycle found alongside other problems at its task, keeping its path', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - key: a',
        '    command: ls',
        '    maxAttempts: 0',
        '  - key: b',
        '    command: ls',
        '    dependsOn: [c]',
        '  - key: c',
        '    command: ls',
        '    dependsOn: [b]',
      ),
    );
    expect(error.issues).toHaveLength(2);
    expect(error.issues[0]!.line).toBe(4);
    expect([5, 8]).toContain(error.issues[1]!.line);
    expect(error.issues[1]!.message).toMatch(/dependency cycle: (b -> c -> b|c -> b -> c)/);
    expect(error.details.cycle).toHaveLength(3);
  });

  it('keeps a cycle path whose keys contain dots when it comes with other problems', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - key: a',
        '    command: ls',
        '    maxAttempts: 0',
        '  - key: step.v2',
        '    command: ls',
        '    dependsOn: [step.v3]',
        '  - key: step.v3',
        '    command: ls',
        '    dependsOn: [step.v2]',
      ),
    );
    expect(error.details.cycle).toEqual(['step.v2', 'step.v3', 'step.v2']);
    expect(error.issues[1]!.line).toBe(5);
  });

  it('reports a core problem with the task type at the executor field', () => {
    const error = planError(yaml('tasks:', '  - key: a', '    executor: "  "', '    payload: {}'));
    expect(error).toMatchObject({ line: 3, field: 'tasks[0].executor' });
  });

  it('names an unknown dependency at its line', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - key: a',
        '    command: ls',
        '  - key: b',
        '    command: ls',
        '    dependsOn:',
        '      - a',
        '      - nope',
      ),
    );
    expect(error).toMatchObject({ line: 8, column: 9, field: 'tasks[1].dependsOn[1]' });
    expect(error.message).toContain('nope');
  });

  it('refuses a command with spaces and says how to fix it', () => {
    const error = planError(yaml('tasks:', '  - key: a', '    command: sleep 0.2'));
    expect(error).toMatchObject({ line: 3, field: 'tasks[0].command' });
    expect(error.message).toContain("give args as an array: command: sleep, args: ['0.2']");
    expect(error.message).toContain('or set shell: true to run it through /bin/sh');
  });

  it('says to quote numbers YAML read from args', () => {
    const error = planError(yaml('tasks:', '  - key: a', '    command: sleep', '    args: [0.2]'));
    expect(error).toMatchObject({ line: 4, field: 'tasks[0].args[0]' });
    expect(error.message).toContain('quote it ("0.2")');
  });

  it('requires a key, unique in the plan', () => {
    const missing = planError(yaml('tasks:', '  - command: ls'));
    expect(missing).toMatchObject({ line: 2, field: 'tasks[0].key' });
    const duplicate = planError(
      yaml('tasks:', '  - { key: a, command: ls }', '  - { key: a, command: pwd }'),
    );
    expect(duplicate).toMatchObject({ line: 3, field: 'tasks[1].key' });
  });

  it('keeps shell fields and payloads to the executors they belong to', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - key: a',
        '    executor: summarise',
        '    command: ls',
        '  - key: b',
        '    command: ls',
        '    payload: { x: 1 }',
        '  - key: c',
        '    title: nothing to run',
      ),
    );
    expect(error.issues.map((i) => [i.line, i.field])).toEqual([
      [4, 'tasks[0].command'],
      [7, 'tasks[1].payload'],
      [8, 'tasks[2]'],
    ]);
  });

  it('collects every issue in one error, in file order', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - key: a',
        '    command: ls',
        '    maxAttempts: zero',
        '  - key: b',
        '    command: ls',
        '    priorty: 1',
        '    dependsOn: [ghost]',
      ),
    );
    expect(error.issues.map((i) => i.line)).toEqual([4, 7, 8]);
    expect(error.message.split('\n')).toHaveLength(3);
  });

  it('refuses an empty plan and one without tasks', () => {
    expect(planError('').message).toContain('empty');
    expect(planError(yaml('name: x')).field).toBe('tasks');
    expect(planError(yaml('tasks: []')).message).toContain('at least one task');
  });

  it('says when the file does not exist or has an unknown extension', async () => {
    await expect(loadPlan(join(dir, 'missing.yaml'))).rejects.toThrow(
      /missing\.yaml:1:1: no such file/,
    );
    writeFileSync(join(dir, 'plan.toml'), '');
    await expect(loadPlan(join(dir, 'plan.toml'))).rejects.toThrow(/extension '\.toml'/);
  });
});

describe('nesting', () => {
  const flow = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
  const planWithPayload = (payload: string): string =>
    yaml('tasks:', '  - key: a', '    executor: echo', `    payload: ${payload}`);

  it('refuses a plan nested 100,000 levels at its line, before composing it', () => {
    const error = planError(planWithPayload(flow(100_000)));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ line: 4 });
    expect(error.issues[0]?.message).toContain(`more than ${LIMITS.maxDocumentDepth} levels deep`);
    expect(error.message).not.toMatch(/call stack/);
  });

  it('refuses block nesting (indentation, and compact "- - -") the same way', () => {
    const block = ['tasks:', '  - key: a', '    executor: echo', '    payload:'];
    for (let i = 0; i < 300; i++) block.push(`${' '.repeat(6 + i)}a:`);
    const indented = planError(`${block.join('\n')} 1\n`);
    expect(indented.issues[0]?.message).toContain('levels deep');
    expect(indented.issues[0]?.line).toBeLessThan(300);
    const compact = planError(
      yaml(
        'tasks:',
        '  - key: a',
        '    executor: echo',
        '    payload:',
        `      ${'- '.repeat(100_000)}x`,
      ),
    );
    expect(compact.issues[0]?.message).toContain('levels deep');
  });

  it('refuses data that aliases make too deep, at the alias', () => {
    const lines = [`x0: &a0 ${flow(200)}`];
    for (let i = 1; i < 5; i++) {
      lines.push(`x${i}: &a${i} ${'['.repeat(200)}*a${i - 1}${']'.repeat(200)}`);
    }
    const error = planError(yaml(...lines, 'tasks: []'));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.message).toMatch(/^through the alias \*a0, the plan nests/);
    expect(error.issues[0]?.line).toBe(2);
  });

  it('accepts a payload nested to the limit, and names the path of one nested a level more', () => {
    const ok = parsePlan(planWithPayload(flow(LIMITS.maxDepth)), 'ok.yaml');
    let depth = 0;
    for (let v: unknown = ok.run.tasks[0]?.payload; Array.isArray(v); v = v[0]) depth++;
    expect(depth).toBe(LIMITS.maxDepth);
    const error = planError(planWithPayload(flow(LIMITS.maxDepth + 1)));
    expect(error.issues[0]).toMatchObject({ line: 4 });
    expect(error.issues[0]?.message).toContain(`deeper than ${LIMITS.maxDepth} levels`);
  });

  it('refuses a JSON plan file nested too deep, read from disk', async () => {
    const file = join(dir, 'deep.json');
    writeFileSync(
      file,
      `{"tasks": [{"key": "a", "executor": "echo", "payload": ${flow(50_000)}}]}`,
    );
    await expect(loadPlan(file)).rejects.toThrow(
      /deep\.json:1:\d+: nests objects and arrays more than/,
    );
  });
});
