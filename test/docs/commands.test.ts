/**
 * The commands the README and docs/ show work as written from a fresh clone. In a checkout,
 * `baton` is not on the PATH and the shell's `node` may be older than 24, so every shell line
 * that runs `baton` runs `npx baton`, and every `node` is `npx node` (the node@24 dev
 * dependency). The first command of the README is run exactly as written.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.ts';
import { runProgram } from '../helpers/node-versions.ts';

interface ShellLine {
  where: string;
  text: string;
}

/** The lines of every ```sh / ```bash / ```shell block of a Markdown file, comments cut off. */
function shellLines(file: string): ShellLine[] {
  const lines = readFileSync(join(REPO, file), 'utf8').split('\n');
  const out: ShellLine[] = [];
  let inShell = false;
  let inFence = false;
  lines.forEach((line, index) => {
    const fence = /^\s*```(\w*)/.exec(line);
    if (fence !== null) {
      if (inFence) {
        inFence = false;
        inShell = false;
      } else {
        inFence = true;
        inShell = ['sh', 'bash', 'shell', 'console'].includes(fence[1] ?? '');
      }
      return;
    }
    if (!inShell) return;
    const code = line.replace(/(^|\s)#.*$/, '').trim();
    if (code !== '') out.push({ where: `${file}:${index + 1}`, text: code });
  });
  return out;
}

const PAGES = [
  'README.md',
  ...readdirSync(join(REPO, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

describe('shell commands in the README and docs/', () => {
  const lines = PAGES.flatMap(shellLines);

  it('finds the commands to check', () => {
    expect(lines.some((l) => l.text.includes('npx baton run examples/quickstart.yaml'))).toBe(true);
  });

  it('run baton as `npx baton` (bare `baton` is not on the PATH of a fresh clone)', () => {
    const bare = lines.filter((l) =>
      /(^|[\s;&|(`])baton\s/.test(l.text.replace(/npx baton\s/g, '')),
    );
    expect(bare.map((l) => `${l.where}: ${l.text}`)).toEqual([]);
  });

  it('write a script run in prose as `npx node …` too', () => {
    const bare: string[] = [];
    for (const page of PAGES) {
      const text = readFileSync(join(REPO, page), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/`node ([^`]*\.ts\b[^`]*)`/g))
        bare.push(`${page}: node ${m[1]}`);
    }
    expect(bare).toEqual([]);
  });

  it('run scripts as `npx node` (the shell may have an older node)', () => {
    const bare = lines.filter((l) => /(^|[\s;&|(`])node\s/.test(l.text.replace(/npx node\s/g, '')));
    expect(bare.map((l) => `${l.where}: ${l.text}`)).toEqual([]);
  });
});

describe("the README's first command, as written", () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'baton-readme-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the quickstart from the checkout with the PATH of a shell (no node_modules/.bin)', async () => {
    const setUp = shellLines('README.md').find((l) => l.text.startsWith('npm install && '));
    expect(setUp).toBeDefined();
    // `npm install` has been done (the tests run); the rest is run as the README writes it, with
    // the store in a temp dir instead of the checkout's .baton/ (BATON_STORE, as the CLI reads).
    const command = setUp!.text.slice('npm install && '.length);
    expect(command).toBe('npx baton run examples/quickstart.yaml');
    const env: NodeJS.ProcessEnv = { ...process.env, BATON_STORE: `sqlite:${join(dir, 'b.db')}` };
    delete env['BATON_LOG_LEVEL'];
    env['PATH'] = (process.env['PATH'] ?? '')
      .split(delimiter)
      .filter((d) => d !== '' && !d.includes('node_modules'))
      .join(delimiter);
    const result = await runProgram('sh', ['-c', command], { cwd: REPO, env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/run run_\w+ \(quickstart\) succeeded: 12 succeeded/);
  });
});
