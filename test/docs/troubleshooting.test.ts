/**
 * The README's "Troubleshooting" quotes Baton's messages as Baton prints them: each scenario
 * here makes Baton print one for real, and the first line of what it printed (its variable
 * parts set to the README's example values) must be quoted in that section, whole or up to a
 * final "…".
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, REPO } from '../helpers/cli.ts';
import { oldNode, runProgram } from '../helpers/node-versions.ts';

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const start = readme.indexOf('## Troubleshooting\n');
const section = readme.slice(start, readme.indexOf('\n## ', start + 1));

/** The code spans of the section: the quoted messages. */
const quoted = [...section.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** Whether `line` is quoted: whole, or a quote ending in " …" is its beginning. */
function isQuoted(line: string): boolean {
  return quoted.some((q) =>
    q.endsWith(' …')
      ? line.startsWith(q.slice(0, -2))
      : q === line || q === line.replace(/\.$/, ''),
  );
}

function env(): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BATON_')) out[k] = v;
  return out;
}

async function firstLine(
  args: readonly string[],
  node = process.execPath,
  bin = BIN,
): Promise<string> {
  const result = await runProgram(node, [bin, ...args], { cwd: dir, env: env() });
  expect(result.code, result.stderr).not.toBe(0);
  return result.stderr.split('\n')[0]!;
}

let dir = '';
let holder: Server | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-trouble-'));
});
afterEach(async () => {
  await new Promise<void>((resolve) => (holder ? holder.close(() => resolve()) : resolve()));
  holder = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function listening(): Promise<number> {
  holder = createServer();
  await new Promise<void>((resolve) => holder!.listen(0, '127.0.0.1', resolve));
  return (holder.address() as { port: number }).port;
}

describe("the README's Troubleshooting quotes what Baton prints", () => {
  it('has the section, with messages in it', () => {
    expect(start).toBeGreaterThan(0);
    expect(quoted.length).toBeGreaterThan(5);
  });

  const old = oldNode();
  it.skipIf(old === undefined)('a Node older than 24', async () => {
    const line = await firstLine(['--version'], old!.path);
    expect(line.replace(old!.version, '20.20.2').replace(old!.path, '/usr/bin/node')).toSatisfy(
      isQuoted,
    );
  });

  it('a checkout without npm install', async () => {
    const clone = join(dir, 'clone');
    await cp(join(REPO, 'bin'), join(clone, 'bin'), { recursive: true });
    await cp(join(REPO, 'src'), join(clone, 'src'), { recursive: true });
    await cp(join(REPO, 'package.json'), join(clone, 'package.json'));
    const line = await firstLine(['--version'], process.execPath, join(clone, 'bin', 'baton.js'));
    expect(line).toSatisfy(isQuoted);
  });

  it('a port in use', async () => {
    const port = await listening();
    const line = await firstLine([
      'server',
      '--port',
      String(port),
      '--store',
      `sqlite:${dir}/b.db`,
    ]);
    expect(line.replaceAll(`127.0.0.1:${port}`, '127.0.0.1:7400')).toSatisfy(isQuoted);
  });

  it('the API on 0.0.0.0 without tokens', async () => {
    const line = await firstLine(['server', '--host', '0.0.0.0', '--store', `sqlite:${dir}/b.db`]);
    expect(line).toSatisfy(isQuoted);
  });

  it('Redis not reachable', async () => {
    // A port that is listened on by nothing: bound, then closed.
    const port = await listening();
    await new Promise<void>((resolve) => holder!.close(() => resolve()));
    holder = undefined;
    const line = await firstLine(['status', '--store', `redis://127.0.0.1:${port}`]);
    expect(line.replaceAll(`127.0.0.1:${port}`, '127.0.0.1:6379')).toSatisfy(isQuoted);
  });

  it('a store URL of no known form', async () => {
    const line = await firstLine(['status', '--store', 'postgres://db']);
    expect(line).toSatisfy(isQuoted);
  });
});
