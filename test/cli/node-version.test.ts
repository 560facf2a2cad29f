/**
 * `bin/baton.js` on the Node.js a person happens to have: on one older than 24 it says which
 * Node it needs and what to do, before it loads anything; on Node 24 it runs. And the README's
 * `npx baton …` works from a checkout whatever Node comes first on the PATH.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, EXAMPLES, REPO } from '../helpers/cli.ts';
import { oldNode, runProgram, systemNodes } from '../helpers/node-versions.ts';

const VERSION = (
  JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }
).version;

/** The test's environment without BATON_* settings, with `dir` first on the PATH if given. */
function env(pathFirst?: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('BATON_')) out[name] = value;
  }
  // Without the node_modules/.bin that `npm test` and `npx vitest` put first: a person's shell.
  const path = (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && !dir.includes('node_modules'));
  out['PATH'] = (pathFirst === undefined ? path : [pathFirst, ...path]).join(delimiter);
  return out;
}

const old = oldNode();

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-node-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(old === undefined)(
  `bin/baton.js on an old Node (${old === undefined ? 'none on this machine' : `${old.version} at ${old.path}`})`,
  () => {
    it('says which Node it needs, which it has and how to run baton instead; exit 1, nothing stored', async () => {
      const node = old!;
      const plan = join(EXAMPLES, 'quickstart.yaml');
      const result = await runProgram(node.path, [BIN, 'run', plan, '--store', 'sqlite:b.db'], {
        cwd: dir,
        env: env(),
      });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        [
          `Baton needs Node.js 24 or newer; you have ${node.version} (${node.path}).`,
          `  In this checkout, run \`npm install\` once, then \`npx baton run ${plan} --store sqlite:b.db\`:`,
          '  npx runs baton on the Node.js 24 that npm installs here as a dev dependency.',
          '  Or install Node.js 24 or newer (https://nodejs.org/en/download, or `nvm install 24`).',
          '',
        ].join('\n'),
      );
      // Nothing was loaded, so nothing was opened: no store file, no .baton directory.
      expect(await readdir(dir)).toEqual([]);
    });

    it('quotes arguments the shell would split, so the suggested command can be pasted', async () => {
      const result = await runProgram(old!.path, [BIN, 'status', "it's mine", '--json'], {
        cwd: dir,
        env: env(),
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("`npx baton status 'it'\\''s mine' --json`");
    });

    it('with no arguments it still names the command to use', async () => {
      const result = await runProgram(old!.path, [BIN], { cwd: dir, env: env() });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('then `npx baton …`');
    });
  },
);

describe('bin/baton.js on Node 24', () => {
  it('prints the version and exits 0', async () => {
    const result = await runProgram(process.execPath, [BIN, '--version'], { cwd: dir, env: env() });
    expect(result).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('runs a command and reports its exit code (a usage error: 2)', async () => {
    const result = await runProgram(process.execPath, [BIN, 'no-such-command'], {
      cwd: dir,
      env: env(),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'no-such-command'");
  });
});

describe.skipIf(systemNodes().length === 0)('npx baton from a checkout', () => {
  it('runs on the Node 24 dev dependency even when an older Node comes first on the PATH', async () => {
    const first = old === undefined ? undefined : dirname(old.path);
    const result = await runProgram('npx', ['baton', '--version'], { cwd: REPO, env: env(first) });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${VERSION}\n`);
    expect(existsSync(join(REPO, 'node_modules', '.bin', 'node'))).toBe(true);
  });
});

describe('bin/baton.js on Node 24, when what it loads is missing', () => {
  it('in a checkout without node_modules: says to run npm install there; exit 1', async () => {
    const checkout = join(dir, 'clone');
    await cp(join(REPO, 'bin'), join(checkout, 'bin'), { recursive: true });
    await cp(join(REPO, 'src'), join(checkout, 'src'), { recursive: true });
    await cp(join(REPO, 'package.json'), join(checkout, 'package.json'));
    const result = await runProgram(
      process.execPath,
      [join(checkout, 'bin', 'baton.js'), '--version'],
      {
        cwd: checkout,
        env: env(),
      },
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      new RegExp(
        `^Baton cannot load its dependency [\\w@/.-]+: this checkout has no node_modules yet\\.\\n  Run \`npm install\` in ${checkout.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} once, then \`npx baton …\`\\.\\n$`,
      ),
    );
  });

  it('in a package without its build (dist/): says how to get one; exit 1', async () => {
    const unbuilt = join(dir, 'unbuilt');
    await cp(join(REPO, 'bin'), join(unbuilt, 'bin'), { recursive: true });
    await cp(join(REPO, 'package.json'), join(unbuilt, 'package.json'));
    const result = await runProgram(
      process.execPath,
      [join(unbuilt, 'bin', 'baton.js'), '--version'],
      {
        cwd: unbuilt,
        env: env(),
      },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `Baton has no build in ${unbuilt} (dist/cli/main.js is missing).\n` +
        '  Install it from a package made by `npm pack` (which builds dist/), or run `npm run build` there.\n',
    );
  });
});
