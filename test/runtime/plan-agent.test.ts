/**
 * `executor: agent` in a plan file: the session's fields become the task's payload, and what can
 * be known wrong before the run (kind, budget, prompt, fields of another executor) is a plan
 * error at its line.
 */
import { describe, expect, it } from 'vitest';

import { PlanError } from '../../src/core/errors.ts';
import { parsePlan } from '../../src/runtime/plan.ts';

function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function planError(text: string): PlanError {
  try {
    parsePlan(text, '/work/plans/x.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(PlanError);
    return error as PlanError;
  }
  throw new Error('expected the plan to be refused');
}

describe('agent tasks in a plan', () => {
  it('builds the payload from the fields, defaults and payload data; cwd relative to the plan', () => {
    const plan = parsePlan(
      yaml(
        'defaults: { kind: claude, model: claude-sonnet-4-5, maxBudgetUsd: 2, cwd: ../repo }',
        'tasks:',
        '  - key: api',
        '    executor: agent',
        '    title: Add the /health endpoint',
        '    description: "Return {{ payload.status }} and a test"',
        '    payload: { status: ok }',
        '    maxTurns: 20',
        '    mcpConfig: .baton/mcp.json',
        '    domain: api',
        '  - key: review',
        '    executor: agent',
        '    kind: codex',
        '    prompt: "Review what api did: {{ deps.api.result }}"',
        '    dependsOn: [api]',
        '  - key: lint',
        '    executor: agent',
        '    kind: command',
        '    command: [./my-agent, --fast]',
        '    args: [--json]',
        '    title: Lint',
        '    dependsOn: [review]',
      ),
      '/work/plans/x.yaml',
    );
    expect(plan.run.tasks.map((t) => t.payload)).toEqual([
      {
        status: 'ok',
        kind: 'claude',
        model: 'claude-sonnet-4-5',
        description: 'Return {{ payload.status }} and a test',
        maxBudgetUsd: 2,
        maxTurns: 20,
        mcpConfig: '.baton/mcp.json',
        cwd: '/work/repo',
        domain: 'api',
      },
      {
        kind: 'codex',
        model: 'claude-sonnet-4-5',
        prompt: 'Review what api did: {{ deps.api.result }}',
        maxBudgetUsd: 2,
        cwd: '/work/repo',
      },
      {
        kind: 'command',
        command: './my-agent',
        args: ['--fast', '--json'],
        maxBudgetUsd: 2,
        cwd: '/work/repo',
      },
    ]);
    expect(plan.run.tasks.map((t) => t.type)).toEqual(['agent', 'agent', 'agent']);
  });

  it('reports each bad field at its line: kind, budget, a template naming no dependency, foreign fields', () => {
    const error = planError(
      yaml(
        'tasks:',
        '  - key: a',
        '    executor: agent',
        '    kind: claud',
        '    maxBudgetUsd: 0',
        '    prompt: "Use {{ deps.missing.result }}"',
        '    temperature: 0.2',
        '  - key: b',
        '    command: make',
        '    kind: claude',
        '  - key: c',
        '    executor: agent',
        '    kind: codex',
      ),
    );
    const got = error.issues.map((i) => `${i.line} ${i.field}: ${i.message}`);
    expect(got).toEqual([
      expect.stringMatching(
        /^4 tasks\[0\]\.kind: must be one of claude, codex, command; got the string 'claud' \(did you mean 'claude'\?\)/,
      ),
      expect.stringMatching(/^5 tasks\[0\]\.maxBudgetUsd: must be a number of USD above 0/),
      expect.stringMatching(/^6 tasks\[0\]\.prompt: .*missing/),
      expect.stringMatching(/^7 tasks\[0\]\.temperature: an agent task does not take temperature/),
      expect.stringMatching(
        /^10 tasks\[1\]\.kind: only agent tasks take kind; this task's executor is 'shell'/,
      ),
      expect.stringMatching(/^11 tasks\[2\]: an agent needs something to do: give prompt:/),
    ]);
  });

  it('a command agent needs its command', () => {
    const error = planError(
      yaml('tasks:', '  - key: a', '    executor: agent', '    kind: command', '    title: Do it'),
    );
    expect(error.issues.map((i) => `${i.field}: ${i.message}`)).toEqual([
      'tasks[0]: a command agent needs command: (the program to run, e.g. command: ./my-agent)',
    ]);
  });
});
