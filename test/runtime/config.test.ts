/**
 * baton.config.yaml (src/runtime/config.ts): found upwards, checked with file:line errors as
 * plans are, merged as flags over environment over file over defaults with each value's source,
 * secrets masked.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { PlanError } from '../../src/core/errors.ts';
import { loadConfig, parseConfig } from '../../src/runtime/config-file.ts';
import { describeConfig, findConfigFile, formatSource } from '../../src/runtime/config.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function refused(text: string): PlanError {
  try {
    parseConfig(text, 'baton.config.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(PlanError);
    return error as PlanError;
  }
  throw new Error('expected the file to be refused');
}

describe('the config file', () => {
  it('is found in the directory or the nearest one above it, .yaml before .yml', () => {
    const deep = join(dir, 'a', 'b');
    mkdirSync(deep, { recursive: true });
    expect(findConfigFile(deep)).not.toBe(join(dir, 'baton.config.yaml'));
    writeFileSync(join(dir, 'baton.config.yml'), 'namespace: yml\n');
    expect(findConfigFile(deep)).toBe(join(dir, 'baton.config.yml'));
    writeFileSync(join(dir, 'baton.config.yaml'), 'namespace: yaml\n');
    expect(findConfigFile(deep)).toBe(join(dir, 'baton.config.yaml'));
    writeFileSync(join(dir, 'a', 'baton.config.yaml'), 'namespace: nearer\n');
    expect(loadConfig({ cwd: deep, env: {} }).config.namespace).toBe('nearer');
  });

  it('merges flags over the environment over the file over the defaults, naming each source', () => {
    const file = join(dir, 'baton.config.yaml');
    writeFileSync(
      file,
      [
        'store: sqlite:file.db',
        'namespace: team',
        'parallel:',
        '  maxConcurrency: 3',
        '  strategy: by_epic',
        'cost: { budgetUsd: 12.5, tiers: { fast: "anthropic:claude-haiku-4-5" } }',
        'agents:',
        '  claude: { path: /opt/claude/bin/claude }',
        'llm:',
        '  anthropic: { apiKey: sk-ant-from-the-file-123456, baseUrl: "http://127.0.0.1:9/v1" }',
        '',
      ].join('\n'),
    );
    const resolved = loadConfig({
      cwd: dir,
      env: { BATON_STORE: 'sqlite:env.db' },
      flags: { namespace: 'flagged', sequential: true },
    });
    expect(resolved.file).toBe(file);
    const rows = Object.fromEntries(
      describeConfig(resolved).map((r) => [r.path, [r.value, formatSource(r.source)]]),
    );
    expect(rows).toMatchObject({
      store: ['sqlite:env.db', '$BATON_STORE'],
      namespace: ['flagged', '--namespace'],
      'parallel.enabled': [false, '--sequential'],
      'parallel.maxConcurrency': [3, `${file}:4`],
      'parallel.strategy': ['by_epic', `${file}:5`],
      'cost.budgetUsd': [12.5, `${file}:6`],
      'cost.tiers': [{ fast: 'anthropic:claude-haiku-4-5' }, `${file}:6`],
      'learning.expertiseMaxLines': [1000, 'default'],
      'agents.claude.path': ['/opt/claude/bin/claude', `${file}:8`],
      'agents.codex.path': ['codex', 'default'],
      // The key is never printed whole.
      'llm.anthropic.apiKey': ['sk-a…(27 chars)', `${file}:10`],
    });
    expect(JSON.stringify(describeConfig(resolved))).not.toContain('from-the-file');
    // The key in the environment wins over the file's.
    const withEnv = loadConfig({ cwd: dir, env: { ANTHROPIC_API_KEY: 'sk-env' } });
    expect(withEnv.config.llm.anthropic.apiKey).toBe('sk-env');
    expect(formatSource(withEnv.sources.get('llm.anthropic.apiKey')!)).toBe('$ANTHROPIC_API_KEY');
  });

  it('refuses a bad file with each problem at its line, as plans are', () => {
    const error = refused(
      [
        'store: sqlite:x.db',
        'paralel:',
        '  enabled: true',
        'parallel:',
        '  maxConcurrency: 0',
        '  strategy: by_epik',
        'cost:',
        '  budgetUsd: -3',
        '  prices: { "nope": { inputMtok: 1 } }',
        'agents:',
        '  claude: /usr/bin/claude',
        'llm:',
        '  openai: { baseUrl: ftp://x }',
        '',
      ].join('\n'),
    );
    const lines = error.message.split('\n');
    expect(lines[0]).toMatch(
      /^baton\.config\.yaml:2:1: paralel: unknown field 'paralel' \(did you mean 'parallel'\?\); allowed fields: store, repo, namespace, parallel, cost, learning, agents, llm$/,
    );
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(
        /^baton\.config\.yaml:5:19: parallel\.maxConcurrency: must be a whole number of 1 or more; got the number 0/,
      ),
      expect.stringMatching(
        /^baton\.config\.yaml:6:13: parallel\.strategy: must be one of by_task, by_epic; got the string 'by_epik' \(did you mean 'by_epic'\?\)/,
      ),
      expect.stringMatching(
        /^baton\.config\.yaml:8:14: cost\.budgetUsd: must be an amount of USD above 0/,
      ),
      expect.stringMatching(/^baton\.config\.yaml:9:13: cost\.prices\.nope: 'nope' is not a model/),
      expect.stringMatching(
        /^baton\.config\.yaml:9:21: cost\.prices\.nope\.outputMtok: must be a price/,
      ),
      expect.stringMatching(
        /^baton\.config\.yaml:11:11: agents\.claude: must be a mapping of path, args; got the string/,
      ),
      expect.stringMatching(
        /^baton\.config\.yaml:13:22: llm\.openai\.baseUrl: must be an http:\/\/ or https:\/\/ URL/,
      ),
    ]);
  });

  it('refuses YAML that does not parse, and a named file that does not exist', () => {
    expect(refused('parallel: [\n').message).toMatch(/^baton\.config\.yaml:\d+:\d+: /);
    expect(refused('- a\n- b\n').message).toMatch(/must be a mapping/);
    expect(() => loadConfig({ explicit: 'missing.yaml', cwd: dir, env: {} })).toThrow(
      /missing\.yaml:1:1: no such config file/,
    );
  });

  it('never quotes a key in its errors', () => {
    const error = refused('llm:\n  openai: { apiKey: 4242424242424242 }\n');
    expect(error.message).toMatch(
      /llm\.openai\.apiKey: must be a non-empty string \(the value is not shown/,
    );
    expect(error.message).not.toContain('4242424242424242');
  });

  it('an empty file is the defaults', () => {
    expect(parseConfig('', 'baton.config.yaml').values.size).toBe(0);
  });
});
