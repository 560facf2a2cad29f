/**
 * `baton run` on a plan that declares its agents: the real command, as a child process, on a
 * real SQLite file in a fresh temp dir.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/cli/render.ts';
import { loadPlan } from '../../src/runtime/plan.ts';
import { EXAMPLES, useCli } from '../helpers/cli.ts';

const cli = useCli();

const AGENTS_PLAN = join(EXAMPLES, 'agents.yaml');

async function writePlan(name: string, text: string): Promise<string> {
  const file = join(cli.dir, name);
  await writeFile(file, text);
  return file;
}

describe('baton run with the agents a plan declares', () => {
  it('runs examples/agents.yaml with every task on an agent that has all of its requires', async () => {
    const plan = await loadPlan(AGENTS_PLAN);
    expect(plan.agents?.map((a) => a.name)).toEqual([
      'analyst',
      'scraper',
      'coder',
      'integrator',
      'archivist',
    ]);

    const result = await cli.run(['run', AGENTS_PLAN, '--store', cli.store, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(summary.state).toBe('succeeded');

    // The summary's agents are exactly the plan's, each with shell added.
    expect(summary.agents.map((a) => [a.name, a.capabilities, a.labels])).toEqual(
      plan.agents!.map((a) => [a.name, [...a.capabilities, 'shell'].sort(), a.labels]),
    );
    const capabilities = new Map(plan.agents!.map((a) => [a.name, new Set(a.capabilities)]));
    const requires = new Map(plan.tasks.map((t) => [t.key, t.spec.requires ?? []]));
    expect(summary.tasks.map((t) => t.key)).toEqual(plan.tasks.map((t) => t.key));
    for (const task of summary.tasks) {
      expect(task.state).toBe('succeeded');
      const has = capabilities.get(task.agent ?? '');
      expect(has, `${task.key} ran on ${task.agent}, not a plan agent`).toBeDefined();
      for (const capability of requires.get(task.key)!) {
        expect(
          has!.has(capability),
          `${task.key} needs ${capability}, ${task.agent} lacks it`,
        ).toBe(true);
      }
    }
    // Every agent has a task only it can take, so all five ran something.
    for (const agent of summary.agents) {
      expect(agent.tasks, agent.name).toBeGreaterThan(0);
      expect(agent.busyMs, agent.name).toBeGreaterThan(0);
    }
    expect(summary.agents.reduce((sum, a) => sum + a.tasks, 0)).toBe(plan.tasks.length);

    // The store knows them by the plan's names, with their labels.
    const baton = await cli.open();
    const registered = await baton.agents();
    expect(registered.map((a) => [a.name, a.labels]).sort()).toEqual(
      plan.agents!.map((a) => [a.name, a.labels]).sort(),
    );
  });

  it('shows the agents block under the summary table', async () => {
    const plan = await writePlan(
      'two.yaml',
      [
        'agents:',
        '  - name: eu-db',
        '    capabilities: [database_operations]',
        '    labels: { region: eu }',
        '  - name: spare',
        'tasks:',
        '  - key: store',
        '    command: echo',
        '    requires: [database_operations]',
        '',
      ].join('\n'),
    );
    const result = await cli.run(['run', plan, '--store', cli.store]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^store\s+eu-db\s+1\s+\d+\.\d\ds\s+✓ succeeded$/m);
    expect(result.stdout).toMatch(/^AGENT\s+CAPABILITIES\s+LABELS\s+TASKS\s+BUSY$/m);
    expect(result.stdout).toMatch(
      /^eu-db\s+database_operations, shell\s+region=eu\s+1\s+\d+\.\d\ds$/m,
    );
    // An agent that ran nothing is still listed.
    expect(result.stdout).toMatch(/^spare\s+shell\s+-\s+0\s+0\.00s$/m);
  });

  it('refuses a task no declared agent can take, storing nothing', async () => {
    const plan = await writePlan(
      'uncovered.yaml',
      [
        'agents:',
        '  - name: scraper',
        '    capabilities: [web_scraping]',
        '  - name: coder',
        '    capabilities: [code_generation]',
        'tasks:',
        '  - key: scrape',
        '    command: echo',
        '    requires: [web_scraping]',
        '  - key: codegen-scrape',
        '    command: echo',
        '    requires: [web_scraping, code_generation]',
        '',
      ].join('\n'),
    );
    const result = await cli.run(['run', plan, '--store', cli.store]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `error [BATON_PLAN]: ${plan}:10:5: tasks[1].requires: task 'codegen-scrape' requires [code_generation, web_scraping], ` +
        'but no agent of this plan has all of them (agents: scraper [shell, web_scraping]; coder [code_generation, shell]); ' +
        "add the missing capabilities to an agent under agents:, or change the task's requires\n",
    );
    // Refused before the store was opened: not even created.
    expect(existsSync(join(cli.dir, 'b.db'))).toBe(false);
  });

  it('refuses --concurrency with a plan that declares its agents (exit 2), storing nothing', async () => {
    const result = await cli.run(['run', AGENTS_PLAN, '--store', cli.store, '--concurrency', '3']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^error: --concurrency cannot be used with .*agents\.yaml: the plan declares its own agents \(analyst, scraper, coder, integrator, archivist\)/,
    );
    expect(result.stderr).toContain('set concurrency: on its agents instead');
    expect(existsSync(join(cli.dir, 'b.db'))).toBe(false);
  });
});
