/**
 * The real `baton` command with a config file: `baton config` prints each value's source,
 * `--config` names a file, a bad file is refused with file:line before the store is touched,
 * `baton init` writes commented files and refuses to overwrite them, `baton run --sequential`
 * runs one task at a time, and `baton run` runs agent tasks with the CLI the file names (the
 * fake claude), expertise included.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { useCli } from '../helpers/cli.ts';
import { startFakeLlm } from '../helpers/fake-llm.ts';

const cli = useCli();
const FAKE_CLAUDE = resolve(import.meta.dirname, '../helpers/fake-claude.mjs');

function write(name: string, lines: string[]): string {
  const path = join(cli.dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

describe('baton config', () => {
  it('prints the merged values with their sources; flags win over the file, secrets masked', async () => {
    const file = write('baton.config.yaml', [
      'namespace: from-file',
      'parallel: { maxConcurrency: 3 }',
      'llm: { anthropic: { apiKey: sk-ant-secret-in-the-file-0001 } }',
    ]);
    const result = await cli.run(['config', '--json', '--store', cli.store]);
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout) as {
      file: string;
      values: { path: string; value: unknown; source: string }[];
    };
    expect(out.file).toBe(file);
    const by = Object.fromEntries(out.values.map((v) => [v.path, [v.value, v.source]]));
    expect(by['store']).toEqual([cli.store, '--store']);
    expect(by['namespace']).toEqual(['from-file', `${file}:1`]);
    expect(by['parallel.maxConcurrency']).toEqual([3, `${file}:2`]);
    expect(by['parallel.enabled']).toEqual([true, 'default']);
    expect(by['llm.anthropic.apiKey']).toEqual(['sk-a…(30 chars)', `${file}:3`]);
    expect(result.stdout).not.toContain('secret-in-the-file');

    const text = await cli.run(['config', '--namespace', 'flagged']);
    expect(text.stdout).toMatch(/^namespace\s+"flagged"\s+\(--namespace\)$/m);
  });

  it('--config names the file; a bad one is refused with file:line and nothing is stored', async () => {
    const file = write('ci/baton.yaml', ['parallel:', '  strategy: smart']);
    const result = await cli.run([
      'run',
      join(cli.dir, 'nothing.yaml'),
      '--config',
      file,
      '--store',
      cli.store,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `error [BATON_PLAN]: ${file}:2:13: parallel.strategy: must be one of by_task, by_epic; got the string 'smart'`,
    );
    expect(existsSync(join(cli.dir, 'b.db'))).toBe(false);

    const missing = await cli.run(['config', '--config', 'nope.yaml']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.yaml:1:1: no such config file');
  });
});

describe('baton init', () => {
  it('writes a commented config and an example plan that load; refuses to overwrite without --force', async () => {
    const first = await cli.run(['init']);
    expect(first.code).toBe(0);
    const config = readFileSync(join(cli.dir, 'baton.config.yaml'), 'utf8');
    expect(config).toMatch(/^# Baton's configuration/);
    // What init writes is a valid configuration and a runnable plan.
    const shown = await cli.run(['config', '--json']);
    expect(shown.code).toBe(0);
    const ran = await cli.run(['run', 'baton.plan.yaml', '--store', cli.store, '--json']);
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);

    writeFileSync(join(cli.dir, 'baton.config.yaml'), 'namespace: mine\n');
    const again = await cli.run(['init']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('baton.config.yaml and baton.plan.yaml already exist');
    expect(readFileSync(join(cli.dir, 'baton.config.yaml'), 'utf8')).toBe('namespace: mine\n');

    const forced = await cli.run(['init', '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(cli.dir, 'baton.config.yaml'), 'utf8')).toBe(config);
  });
});

describe('baton run with the config file', () => {
  it('--sequential (or parallel.enabled: false) runs one task at a time on one agent', async () => {
    // Each task appends start and end marks; run one at a time, they never interleave.
    const tasks = ['a', 'b', 'c'].flatMap((k) => [
      `  - key: ${k}`,
      '    command: sh',
      `    args: ["-c", "echo start-${k} >> marks; sleep 0.2; echo end-${k} >> marks"]`,
    ]);
    write('plan.yaml', ['tasks:', ...tasks]);
    const result = await cli.run([
      'run',
      'plan.yaml',
      '--sequential',
      '--store',
      cli.store,
      '--json',
    ]);
    expect(result.code).toBe(0);
    const marks = readFileSync(join(cli.dir, 'marks'), 'utf8').trim().split('\n');
    for (let i = 0; i < marks.length; i += 2) {
      expect(marks[i + 1]).toBe(marks[i]!.replace('start', 'end'));
    }
    const summary = JSON.parse(result.stdout) as { agents: unknown[] };
    expect(summary.agents).toHaveLength(1);

    write('baton.config.yaml', ['parallel: { enabled: false }']);
    const fromFile = await cli.run(['run', 'plan.yaml', '--store', cli.store, '--json']);
    expect(fromFile.code).toBe(0);
    expect((JSON.parse(fromFile.stdout) as { agents: unknown[] }).agents).toHaveLength(1);
  });

  it('runs an agent task with the claude the file names, its expertise in the prompt and its cost in the ledger', async () => {
    write('baton.config.yaml', [
      'agents:',
      `  claude: { path: ${JSON.stringify(FAKE_CLAUDE)} }`,
      '  maxBudgetUsd: 0.75',
    ]);
    write('.baton/expertise/api.yaml', [
      'domain: api',
      'overview: The HTTP API of this project',
      'patterns: ["Handlers live in src/api/"]',
    ]);
    write('plan.yaml', [
      'tasks:',
      '  - key: health',
      '    executor: agent',
      '    kind: claude',
      '    title: Add a health endpoint',
      '    description: "fake: write src/api/health.txt ok"',
      '    domain: api',
    ]);
    const result = await cli.run(['run', 'plan.yaml', '--store', cli.store, '--json'], {
      env: { FAKE_AGENT_ARGV_FILE: join(cli.dir, 'argv.json') },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(readFileSync(join(cli.dir, 'src/api/health.txt'), 'utf8')).toBe('ok\n');
    const started = JSON.parse(readFileSync(join(cli.dir, 'argv.json'), 'utf8')) as {
      argv: string[];
      prompt: string;
    };
    expect(started.argv).toContain('0.75');
    expect(started.prompt).toContain('Handlers live in src/api/');
    expect(started.prompt).toContain('# Add a health endpoint');

    const baton = await cli.open();
    const [task] = (await baton.tasks({})).tasks;
    const usage = await baton.usage(task!.id);
    expect(usage.map((u) => [u.model, u.costUsd, u.costBasis])).toEqual([
      ['claude-sonnet-4-5', 0.0105, 'provider'],
    ]);
  });
});

describe('baton expertise', () => {
  it('show prints the file; validate reports files it names that do not exist, and a bad file at its line', async () => {
    write('src/db/schema.sql', ['create table t (id int);']);
    write('.baton/expertise/database.yaml', [
      'domain: database',
      'core_files: [src/db/schema.sql, src/db/gone.sql]',
      'patterns: ["UUID keys"]',
    ]);
    const shown = await cli.run(['expertise', 'show', 'database']);
    expect(shown.stdout).toContain('UUID keys');

    const checked = await cli.run(['expertise', 'validate', 'database']);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toContain('core_files names src/db/gone.sql, which does not exist');

    write('.baton/expertise/api.yaml', ['domain: web', 'paterns: [x]']);
    const bad = await cli.run(['expertise', 'validate', 'api']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/api\.yaml:1:9: domain: says 'web' but the file is api\.yaml/);
    expect(bad.stderr).toMatch(
      /api\.yaml:2:1: paterns: unknown field 'paterns' \(did you mean 'patterns'\?\)/,
    );
  });
});

describe('expertise in llm tasks', () => {
  it("puts the domain's expertise over the system prompt, its braces kept as text; the key from the config file", async () => {
    const server = await startFakeLlm({ keys: ['sk-ant-expertise-1'] });
    try {
      server.answers.push({ text: 'fine', usage: { input: 10, output: 2 } });
      write('baton.config.yaml', [
        'llm:',
        `  anthropic: { apiKey: sk-ant-expertise-1, baseUrl: ${JSON.stringify(server.url)} }`,
      ]);
      write('.baton/expertise/api.yaml', [
        'domain: api',
        'patterns: ["Routes look like {{ route }}"]',
      ]);
      write('plan.yaml', [
        'tasks:',
        '  - key: ask',
        '    executor: llm',
        '    model: anthropic:claude-sonnet-4-5',
        '    domain: api',
        '    system: Be brief.',
        '    prompt: Which routes exist?',
      ]);
      const run = await cli.run(['run', 'plan.yaml', '--store', cli.store, '--json']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const system = JSON.stringify(server.requests[0]!.body.system);
      expect(system).toContain('Expertise of the api domain');
      expect(system).toContain('Routes look like {{ route }}');
      expect(system).toContain('Be brief.');
    } finally {
      await server.close();
    }
  });
});

describe('the learn step', () => {
  it('after an agent task of a domain, succeeded or failed, merges what the fast tier learned, with provenance', async () => {
    const server = await startFakeLlm({ keys: ['sk-openai-learn-1'] });
    try {
      server.answers.push(
        {
          text: JSON.stringify({
            patterns: ['Health checks live in src/api/health.txt'],
            best_practices: [],
            effective_patterns: ['Write the file, then say so'],
            learned_from_failures: [],
          }),
          usage: { input: 300, output: 40 },
        },
        {
          text: JSON.stringify({
            patterns: ['Health checks live in src/api/health.txt'],
            best_practices: [],
            effective_patterns: [],
            learned_from_failures: [
              { issue: 'Ran out of turns', error: 'error_max_turns', solution: 'Split the task' },
            ],
          }),
          usage: { input: 320, output: 50 },
        },
      );
      write('baton.config.yaml', [
        'agents:',
        `  claude: { path: ${JSON.stringify(FAKE_CLAUDE)} }`,
        'cost: { tiers: { fast: "openai:gpt-4.1-mini" } }',
        `llm: { openai: { apiKey: sk-openai-learn-1, baseUrl: ${JSON.stringify(server.baseUrl)} } }`,
      ]);
      write('plan.yaml', [
        'defaults: { executor: agent, kind: claude, domain: api, maxAttempts: 1 }',
        'tasks:',
        '  - key: health',
        '    title: Add a health check',
        '    description: "fake: write src/api/health.txt ok"',
        '  - key: stuck',
        '    title: Something too big',
        '    description: "fake: result error_max_turns"',
        '    dependsOn: [health]',
      ]);
      const run = await cli.run(['run', 'plan.yaml', '--store', cli.store, '--json']);
      expect(run.code).toBe(1); // stuck failed
      const baton = await cli.open();
      const tasks = (await baton.tasks({})).tasks;
      const health = tasks.find((t) => t.key === 'health')!;
      const stuck = tasks.find((t) => t.key === 'stuck')!;
      expect(health.state).toBe('succeeded');
      expect(stuck.state).toBe('failed');

      const file = readFileSync(join(cli.dir, '.baton/expertise/api.yaml'), 'utf8');
      expect(file).toContain(`from: ${health.id}#1`);
      expect(file).toContain(`from: ${stuck.id}#1`);
      expect(file).toContain('uses: 1'); // the health pattern, learned again
      expect(file).toContain('solution: Split the task');
      // The second learn call was shown the expertise the first one wrote.
      expect(JSON.stringify(server.requests[1]!.body)).toContain('Write the file, then say so');

      // Each learn call is in the ledger on its task's attempt, priced from the table.
      const usage = await baton.usage(health.id);
      expect(usage.map((u) => [u.model, u.costBasis])).toEqual([
        ['claude-sonnet-4-5', 'provider'],
        ['gpt-4.1-mini', 'table'],
      ]);
      const lines: string[] = [];
      for await (const line of baton.logs(stuck.id)) lines.push(line.text);
      expect(lines.some((l) => /^learned for api: 1 new, 1 seen again/.test(l))).toBe(true);
    } finally {
      await server.close();
    }
  });
});
