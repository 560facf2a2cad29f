/**
 * The package's name: `baton` on the npm registry is someone else's package, so Baton is
 * published as `baton-queue` and keeps the command `baton`. Every import the README, docs/ and
 * examples/ show uses that name, and the examples run with it from the checkout.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.ts';
import { runProgram } from '../helpers/node-versions.ts';

const NAME = 'baton-queue';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
  exports: Record<string, unknown>;
};

describe('the package name', () => {
  it(`is ${NAME}, with the command baton`, () => {
    expect(pkg.name).toBe(NAME);
    expect(pkg.bin).toEqual({ baton: './bin/baton.js' });
    expect(Object.keys(pkg.exports)).toEqual(['.', './package.json']);
  });

  it('is the one every import in the code of the README, docs/ and examples/ uses', () => {
    const pages = [
      'README.md',
      ...readdirSync(join(REPO, 'docs')).map((f) => `docs/${f}`),
      ...readdirSync(join(REPO, 'examples')).map((f) => `examples/${f}`),
    ];
    const imports: string[] = [];
    for (const page of pages) {
      const raw = readFileSync(join(REPO, page), 'utf8');
      // In Markdown, the code blocks: prose may name the wrong import to warn about it.
      const text = page.endsWith('.md') ? (raw.match(/```[\s\S]*?```/g) ?? []).join('\n') : raw;
      for (const match of text.matchAll(
        /\bfrom '(baton[^'/]*)(?:\/[^']*)?'|import\('(baton[^'/]*)/g,
      )) {
        imports.push(`${page}: ${match[1] ?? match[2]}`);
      }
    }
    expect(imports.length).toBeGreaterThan(3);
    expect(imports.filter((i) => !i.endsWith(`: ${NAME}`))).toEqual([]);
  });

  it(`examples/sdk.ts runs from the checkout, importing '${NAME}' (the baton-source condition)`, async () => {
    const result = await runProgram(
      process.execPath,
      ['--conditions=baton-source', join(REPO, 'examples', 'sdk.ts')],
      { cwd: REPO },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/run run_\w+ succeeded/);
    expect(result.stdout).toContain('total: succeeded → {"words":9}');
  });
});
