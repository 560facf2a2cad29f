/**
 * The versions of an expertise file in the store, through the real `baton` command: the learn
 * step of `baton run` (a fake claude, a fake model server for the fast tier) records each file it
 * writes with its provenance; `baton expertise history` lists them, `show <domain> <version>`
 * prints one, `rollback <domain> <version>` writes it back and records a new version; an unknown
 * domain, a version that does not exist and a bad version are refused, changing nothing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { expect, it } from 'vitest';

import { useCli } from '../helpers/cli.ts';
import { startFakeLlm } from '../helpers/fake-llm.ts';

const cli = useCli();
const FAKE_CLAUDE = resolve(import.meta.dirname, '../helpers/fake-claude.mjs');

function write(name: string, lines: string[]): void {
  const path = join(cli.dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${lines.join('\n')}\n`);
}

it('the learn step records each version; history, show and rollback read and restore them; bad input changes nothing', async () => {
  const server = await startFakeLlm({ keys: ['sk-openai-xp-1'] });
  try {
    server.answers.push({
      text: JSON.stringify({
        patterns: ['Health checks live in src/api/health.txt'],
        best_practices: [],
        effective_patterns: [],
        learned_from_failures: [],
      }),
      usage: { input: 300, output: 40 },
    });
    write('baton.config.yaml', [
      'agents:',
      `  claude: { path: ${JSON.stringify(FAKE_CLAUDE)} }`,
      'cost: { tiers: { fast: "openai:gpt-4.1-mini" } }',
      `llm: { openai: { apiKey: sk-openai-xp-1, baseUrl: ${JSON.stringify(server.baseUrl)} } }`,
    ]);
    write('plan.yaml', [
      'tasks:',
      '  - key: health',
      '    executor: agent',
      '    kind: claude',
      '    domain: api',
      '    title: Add a health check',
      '    description: "fake: write src/api/health.txt ok"',
    ]);
    const run = await cli.run(['run', 'plan.yaml', '--store', cli.store, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const baton = await cli.open();
    const [task] = (await baton.tasks({})).tasks;
    const file = join(cli.dir, '.baton/expertise/api.yaml');
    const learned = readFileSync(file, 'utf8');
    expect(learned).toContain('Health checks live in src/api/health.txt');

    const history = async () => {
      const r = await cli.run(['expertise', 'history', 'api', '--store', cli.store, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { versions: Record<string, unknown>[] }).versions;
    };
    expect(await history()).toEqual([
      expect.objectContaining({ version: 1, source: 'learn', origin: `${task!.id}#1` }),
    ]);
    const human = await cli.run(['expertise', 'history', 'api', '--store', cli.store]);
    expect(human.stdout).toMatch(new RegExp(`^v1 .* learn .* lines {2}${task!.id}#1$`, 'm'));

    // A hand edit goes wrong; v1 is still in the store.
    writeFileSync(file, 'domain: api\noverview: oops\n');
    const shown = await cli.run(['expertise', 'show', 'api', '1', '--store', cli.store]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(`${shown.stdout.trimEnd()}\n`).toBe(learned);

    // Bad input: each refused with what to do, and nothing changes.
    for (const [args, message] of [
      [['rollback', 'api', '7'], /no version 7: the store keeps v1 to v1/],
      [['rollback', 'api', '0'], /'0' is not a version/],
      [['rollback', 'api', 'latest'], /'latest' is not a version/],
      [['show', 'api', '3'], /no version 3/],
      [['history', 'billing'], /no versions of the expertise of 'billing'/],
      [['rollback', 'billing', '1'], /no versions of the expertise of 'billing'/],
      [['rollback', '../api', '1'], /'..\/api' is not a domain/],
    ] as const) {
      const r = await cli.run(['expertise', ...args, '--store', cli.store]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
    }
    expect(readFileSync(file, 'utf8')).toBe('domain: api\noverview: oops\n');
    expect(await history()).toHaveLength(1);

    const rolled = await cli.run(['expertise', 'rollback', 'api', '1', '--store', cli.store]);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toContain('restored v1 of api, recorded as v2');
    expect(readFileSync(file, 'utf8')).toBe(learned);
    expect(await history()).toEqual([
      expect.objectContaining({ version: 1, source: 'learn' }),
      expect.objectContaining({ version: 2, source: 'rollback', origin: 'v1' }),
    ]);
  } finally {
    await server.close();
  }
}, 90_000);
