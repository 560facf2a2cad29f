/**
 * Goals from the command line (docs/planner.md), the real command as a child process against
 * the fake model service speaking Anthropic's wire format: seed 003's quickstart
 * (`baton run --goal "Calculate factorial of 10"`, whose run result holds 3628800), `baton plan
 * --out` writing a plan file that `baton run` accepts, and a bad goal refused before anything is
 * stored.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { RunSummary } from '../../src/cli/render.ts';
import { parsePlan } from '../../src/runtime/plan.ts';
import { EXAMPLES, useCli } from '../helpers/cli.ts';
import { asksForJson, promptOf, startFakeLlm, type FakeLlmServer } from '../helpers/fake-llm.ts';

const cli = useCli();
const KEY = 'sk-ant-goal-test-2c9d';
const GOAL = 'Calculate factorial of 10';

let server: FakeLlmServer;

beforeEach(async () => {
  server = await startFakeLlm({ keys: [KEY] });
});

afterEach(async () => {
  await server.close();
});

function env(): NodeJS.ProcessEnv {
  return { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: server.url };
}

const task = (key: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  key,
  title: key,
  description: key,
  requires: [],
  dependsOn: [],
  priority: 'medium',
  epic: 'math',
  complexity: 'low',
  prompt: `Step ${key}.`,
  ...extra,
});

/** The planner answers a two-task plan; every task answers 3628800. */
function factorialScript(): void {
  server.respond = ({ body }) =>
    asksForJson(body)
      ? {
          text: JSON.stringify({
            tasks: [
              task('multiply', { prompt: 'Compute 10!.' }),
              task('answer', { dependsOn: ['multiply'], prompt: 'State the result.' }),
            ],
          }),
          usage: { input: 400, output: 150 },
        }
      : { text: '3628800', usage: { input: 30, output: 4 } };
}

describe('goals on the command line', () => {
  it("seed 003's quickstart: baton run --goal plans, runs, and the run's result holds 3628800", async () => {
    factorialScript();
    const result = await cli.run(
      ['run', '--goal', GOAL, '--budget', '1', '--store', cli.store, '--json'],
      { env: env() },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(summary.state).toBe('succeeded');
    expect(summary.tasks.map((t) => t.key).sort()).toEqual(['answer', 'multiply', 'plan']);
    expect(summary.result).toEqual({ from: 'sinks', results: { answer: '3628800' } });
    // The planner's call and both tasks' calls are in the ledger.
    expect(summary.cost?.calls).toBe(3);
    expect(summary.cost?.budget?.limitUsd).toBe(1);

    const status = await cli.run(['status', summary.runId, '--store', cli.store, '--json']);
    expect(status.code).toBe(0);
    const shown = JSON.parse(status.stdout) as { run: { result: unknown } };
    expect(shown.run.result).toEqual({ from: 'sinks', results: { answer: '3628800' } });
    const text = await cli.run(['status', summary.runId, '--store', cli.store]);
    expect(text.stdout).toContain('result (sinks):\n  answer: 3628800');
    // The planner was told the goal; the answer task was given the multiply task's result.
    const prompts = server.requests.map((r) => promptOf(r.body));
    expect(prompts.some((p) => p.includes(GOAL))).toBe(true);
    expect(prompts.some((p) => p.includes("Result of 'multiply':\n3628800"))).toBe(true);
  });

  it('runs examples/goal-factorial.yaml: the aggregate task gives the result', async () => {
    server.fallback = { text: '3628800' };
    const result = await cli.run(
      ['run', join(EXAMPLES, 'goal-factorial.yaml'), '--store', cli.store, '--json'],
      { env: env() },
    );
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(summary.result).toEqual({ from: 'aggregate', results: { answer: '3628800' } });
  });

  it('baton plan --out writes a plan file that baton run accepts and runs', async () => {
    factorialScript();
    const out = join(cli.dir, 'planned.yaml');
    const planned = await cli.run(['plan', GOAL, '--out', out, '--store', cli.store], {
      env: env(),
    });
    expect(planned.code).toBe(0);
    expect(planned.stderr).toContain(`wrote ${out}: 2 tasks`);
    const text = await readFile(out, 'utf8');
    expect(text).toContain('# Planned by baton plan from the goal:');
    const plan = parsePlan(text, out);
    expect(plan.tasks.map((t) => [t.key, t.executor])).toEqual([
      ['multiply', 'llm'],
      ['answer', 'llm'],
    ]);
    // Nothing but the planner ran.
    expect(server.requests).toHaveLength(1);

    const run = await cli.run(['run', out, '--store', cli.store, '--json'], { env: env() });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as RunSummary;
    expect(summary.state).toBe('succeeded');
    expect(summary.result?.results).toEqual({ answer: '3628800' });
  });

  it('refuses a goal that is too short before anything is stored', async () => {
    const result = await cli.run(['run', '--goal', 'add it', '--store', cli.store], {
      env: env(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'tasks[0].payload.goal: is 6 characters long; a goal needs at least 10',
    );
    expect(existsSync(cli.store.replace(/^sqlite:/, ''))).toBe(false);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a goal whose planner model has no key, naming it (not its value), before anything is stored', async () => {
    for (const args of [
      ['run', '--goal', GOAL],
      ['plan', GOAL, '--out', join(cli.dir, 'p.yaml')],
    ]) {
      const result = await cli.run([...args, '--store', cli.store], {
        env: { ANTHROPIC_API_KEY: '', OPENAI_API_KEY: 'sk-openai-goal-test-55e0' },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        "error [BATON_VALIDATION]: model: the planner model (--model, BATON_PLANNER_MODEL) 'anthropic:claude-sonnet-4-5': ANTHROPIC_API_KEY is not set",
      );
      expect(existsSync(cli.store.replace(/^sqlite:/, ''))).toBe(false);
    }
    // Another model from the flag; its key is there.
    const other = await cli.run(
      [
        'run',
        '--goal',
        GOAL,
        '--model',
        'openai:gpt-4.1',
        '--task-model',
        'anthropic:claude-haiku-4-5',
        '--store',
        cli.store,
      ],
      { env: { ANTHROPIC_API_KEY: '', OPENAI_API_KEY: 'sk-openai-goal-test-55e0' } },
    );
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("taskModel: the planned tasks' model");
    expect(other.stderr).not.toContain('sk-openai-goal-test-55e0');
  });

  it('refuses a plan file and --goal together, and --budget without --goal (usage, exit 2)', async () => {
    const both = await cli.run(['run', 'plan.yaml', '--goal', GOAL, '--store', cli.store]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give a plan file or --goal, not both');
    const budget = await cli.run(['run', 'plan.yaml', '--budget', '1', '--store', cli.store]);
    expect(budget.code).toBe(2);
    expect(budget.stderr).toContain('--budget goes with --goal only');
    const bad = await cli.run(['run', '--goal', GOAL, '--budget', '-1', '--store', cli.store]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected US dollars');
  });
});
