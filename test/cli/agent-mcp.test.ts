/**
 * `agents.mcp: true` end to end: `baton run` starts the fake claude with the MCP configuration
 * written for its attempt (`--mcp-config`); the fake claude calls `set_state` and `submit_tasks`
 * through `baton mcp` with the official SDK's Client; the tasks it spawned into the run run, the
 * state is in the store, and the configuration (which holds the attempt's token) is gone when the
 * session ends.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { expect, it } from 'vitest';

import { useCli } from '../helpers/cli.ts';

const cli = useCli();
const FAKE_CLAUDE = resolve(import.meta.dirname, '../helpers/fake-claude.mjs');

function write(name: string, lines: string[]): void {
  const path = join(cli.dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${lines.join('\n')}\n`);
}

it('a claude session sets state and spawns tasks through the MCP configuration written for its attempt', async () => {
  write('baton.config.yaml', [
    'agents:',
    `  claude: { path: ${JSON.stringify(FAKE_CLAUDE)} }`,
    '  mcp: true',
  ]);
  const set = { key: 'decision', value: { approach: 'fan-out' }, expectedVersion: 0 };
  const tasks = {
    tasks: [
      { key: 'part-1', type: 'shell', payload: { command: ['touch', 'part-1.txt'] } },
      { key: 'part-2', type: 'shell', payload: { command: ['touch', 'part-2.txt'] } },
      {
        key: 'join',
        type: 'shell',
        payload: { command: ['touch', 'join.txt'] },
        dependsOn: ['part-1', 'part-2'],
      },
    ],
  };
  write('plan.yaml', [
    'tasks:',
    '  - key: lead',
    '    executor: agent',
    '    kind: claude',
    '    title: Split the work',
    '    description: |',
    `      fake: mcp set_state ${JSON.stringify(set)}`,
    `      fake: mcp submit_tasks ${JSON.stringify(tasks)}`,
    '      fake: say split in three',
  ]);
  const result = await cli.run(['run', 'plan.yaml', '--store', cli.store, '--json'], {
    env: { FAKE_AGENT_ARGV_FILE: join(cli.dir, 'argv.json') },
  });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);

  const baton = await cli.open();
  const all = (await baton.tasks({})).tasks;
  expect(Object.fromEntries(all.map((t) => [t.key, t.state]))).toEqual({
    lead: 'succeeded',
    'part-1': 'succeeded',
    'part-2': 'succeeded',
    join: 'succeeded',
  });
  for (const file of ['part-1.txt', 'part-2.txt', 'join.txt'])
    expect(existsSync(join(cli.dir, file))).toBe(true);
  const lead = all.find((t) => t.key === 'lead')!;
  expect(await baton.backend.getState(`run:${lead.runId}`, 'decision')).toMatchObject({
    value: { approach: 'fan-out' },
    version: 1,
  });

  // The file claude was given was the attempt's, and it is gone with the session.
  const started = JSON.parse(readFileSync(join(cli.dir, 'argv.json'), 'utf8')) as {
    argv: string[];
  };
  const config = started.argv[started.argv.indexOf('--mcp-config') + 1]!;
  expect(config).toMatch(new RegExp(`baton-mcp-${lead.id}-1\\.json$`));
  expect(existsSync(config)).toBe(false);
  // The tool calls are in the task's log; the token is not.
  const lines: string[] = [];
  for await (const line of baton.logs(lead.id)) lines.push(line.text);
  const log = lines.join('\n');
  expect(log).toContain('mcp__baton__submit_tasks');
  expect(log).not.toMatch(/BATON_MCP_TOKEN|bma1\./);
}, 90_000);

it("a codex session gets the same server as -c mcp_servers.baton.… arguments; a task's own mcpConfig wins for claude", async () => {
  const FAKE_CODEX = resolve(import.meta.dirname, '../helpers/fake-codex.mjs');
  write('baton.config.yaml', [
    'agents:',
    `  claude: { path: ${JSON.stringify(FAKE_CLAUDE)} }`,
    `  codex: { path: ${JSON.stringify(FAKE_CODEX)} }`,
    '  mcp: true',
  ]);
  write('own-mcp.json', ['{ "mcpServers": {} }']);
  write('plan.yaml', [
    'tasks:',
    '  - key: codex',
    '    executor: agent',
    '    kind: codex',
    '    title: Use the tools',
    '    description: "fake: say ok"',
  ]);
  const result = await cli.run(['run', 'plan.yaml', '--store', cli.store, '--json'], {
    env: { FAKE_AGENT_ARGV_FILE: join(cli.dir, 'codex.json') },
  });
  expect(result.code, result.stderr).toBe(0);
  const codex = JSON.parse(readFileSync(join(cli.dir, 'codex.json'), 'utf8')) as {
    argv: string[];
  };
  const overrides = codex.argv.filter((_, i) => codex.argv[i - 1] === '-c');
  expect(overrides.map((o) => o.split('=')[0])).toEqual([
    'mcp_servers.baton.command',
    'mcp_servers.baton.args',
    'mcp_servers.baton.env',
  ]);
  expect(overrides[2]).toMatch(/BATON_MCP_TOKEN = "bma1\./);
  expect(codex.argv.at(-1)).toBe('-');

  write('plan2.yaml', [
    'tasks:',
    '  - key: own',
    '    executor: agent',
    '    kind: claude',
    '    title: Own config',
    '    mcpConfig: own-mcp.json',
    '    description: "fake: say ok"',
  ]);
  const own = await cli.run(['run', 'plan2.yaml', '--store', cli.store, '--json'], {
    env: { FAKE_AGENT_ARGV_FILE: join(cli.dir, 'own.json') },
  });
  expect(own.code, own.stderr).toBe(0);
  const claude = JSON.parse(readFileSync(join(cli.dir, 'own.json'), 'utf8')) as {
    argv: string[];
  };
  expect(claude.argv[claude.argv.indexOf('--mcp-config') + 1]).toBe(join(cli.dir, 'own-mcp.json'));
}, 90_000);
