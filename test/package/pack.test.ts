/**
 * The package as a user gets it: `npm pack` (which builds `dist/` first, `prepack`) produces a
 * tarball that installs into an empty project (its dependencies from the registry) and runs
 * there on Node 24: the `baton` command, a one-task `baton run`, the SDK imported by the
 * package's name from JavaScript and type-checked from TypeScript, on SQLite and on Redis.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.ts';
import { oldNode, runProgram, type ProgramResult } from '../helpers/node-versions.ts';
import { deleteNamespaces, redisAnswers, REDIS_URL } from '../helpers/redis.ts';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};
const NODE24_DIR = dirname(process.execPath);
const SLOW = 600_000;
const old = oldNode();
const available = await redisAnswers();
const ci = process.env['CI'] === 'true';

/**
 * An environment for npm and for the installed command: none of the settings the `npm test`
 * around us exports (they name this checkout as the project), no BATON_* settings, and the PATH
 * of a shell (without node_modules/.bin) after the directories given.
 */
function cleanEnv(pathFirst: readonly string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('BATON_') || name === 'INIT_CWD' || name === 'NODE') continue;
    if (
      /^npm_(package_|lifecycle_|command$|execpath$|node_execpath$|config_local_prefix$)/.test(name)
    )
      continue;
    env[name] = value;
  }
  const shellPath = (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && !dir.includes('node_modules'));
  env['PATH'] = [...pathFirst, ...shellPath].join(delimiter);
  return env;
}

function ok(result: ProgramResult): ProgramResult {
  expect(
    result.code,
    `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
  ).toBe(0);
  return result;
}

/** A script that imports the SDK by the package's name and runs one task on `store`. */
const SDK_SCRIPT = `
import { Baton, NonRetryableError } from '${pkg.name}';
const [store, namespace] = process.argv.slice(2);
const baton = await Baton.open(store, namespace ? { namespace } : {});
const { id } = await baton.submit({ type: 'upper', payload: { text: 'hi' } });
const worker = baton.worker({
  handlers: { upper: async ({ payload }) => ({ text: payload.text.toUpperCase() }) },
});
await worker.start();
const task = await baton.wait(id, { timeoutMs: 20000 });
await worker.stop();
await baton.close();
console.log(JSON.stringify({ state: task.state, result: task.result, named: typeof NonRetryableError }));
`;

let work = '';
let tarball = '';
let project = '';
let files: string[] = [];

/** Run `baton …` in the project, found on the PATH as a user's shell would, on Node 24. */
function baton(args: readonly string[], nodeDir = NODE24_DIR): Promise<ProgramResult> {
  return runProgram('baton', args, {
    cwd: project,
    env: cleanEnv([nodeDir, join(project, 'node_modules', '.bin')]),
  });
}

/** Run a script of the project on Node 24. */
function node(script: string, args: readonly string[] = []): Promise<ProgramResult> {
  return runProgram(process.execPath, [script, ...args], { cwd: project, env: cleanEnv() });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'baton-pack-'));
  // `npm pack` as a user runs it: `prepack` builds dist/ from scratch first.
  ok(
    await runProgram('npm', ['pack', '--pack-destination', work], {
      cwd: REPO,
      env: cleanEnv([NODE24_DIR]),
      timeoutMs: SLOW,
    }),
  );
  const packed = readdirSync(work).filter((name) => name.endsWith('.tgz'));
  expect(packed).toEqual([`${pkg.name}-${pkg.version}.tgz`]);
  tarball = join(work, packed[0]!);
  files = ok(await runProgram('tar', ['-tzf', tarball]))
    .stdout.trim()
    .split('\n');

  project = join(work, 'project');
  await mkdir(project);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true, type: 'module' }),
  );
  ok(
    await runProgram('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: project,
      env: cleanEnv([NODE24_DIR]),
      timeoutMs: SLOW,
    }),
  );
  await writeFile(join(project, 'sdk.mjs'), SDK_SCRIPT);
}, SLOW);

afterAll(async () => {
  if (work !== '') await rm(work, { recursive: true, force: true });
});

describe(`npm pack (${pkg.name})`, () => {
  it('packs the build, the command and the SQL and Lua files; no TypeScript sources, tests or maps into src', () => {
    const inPackage = files.map((f) => f.replace(/^package\//, ''));
    expect(inPackage).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'bin/baton.js',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/cli/main.js',
        'src/backends/sqlite/migrations/000001_init.sql',
        'src/backends/redis/lua/claim-10.lua',
        'web/dist/index.html',
      ]),
    );
    // The dashboard's build, which `baton server` serves at /.
    expect(inPackage.some((f) => /^web\/dist\/assets\/index-[\w-]+\.js$/.test(f))).toBe(true);
    expect(inPackage.filter((f) => f.startsWith('web/') && !f.startsWith('web/dist/'))).toEqual([]);
    // A .ts source in the package would be run by bin/baton.js, and Node refuses to strip types
    // under node_modules.
    expect(inPackage.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(inPackage.filter((f) => /^(test|bench|examples|docs)\//.test(f))).toEqual([]);
    expect(inPackage.filter((f) => f.startsWith('src/') && !/\.(sql|lua)$/.test(f))).toEqual([]);
  });

  it('keeps dist/ and tarballs out of git', async () => {
    expect(ok(await runProgram('git', ['ls-files', 'dist'], { cwd: REPO })).stdout).toBe('');
    const ignored = await runProgram(
      'git',
      ['check-ignore', 'dist/index.js', `${pkg.name}-${pkg.version}.tgz`],
      { cwd: REPO },
    );
    expect(ignored.stdout.trim().split('\n')).toEqual([
      'dist/index.js',
      `${pkg.name}-${pkg.version}.tgz`,
    ]);
  });
});

describe('the installed package, in an empty project, on Node 24', () => {
  it('puts the `baton` command in node_modules/.bin; `baton --version` prints the version', async () => {
    expect(existsSync(join(project, 'node_modules', '.bin', 'baton'))).toBe(true);
    const result = ok(await baton(['--version']));
    expect(result.stdout).toBe(`${pkg.version}\n`);
    expect(result.stderr).toBe('');
  });

  it('runs a one-task plan with `baton run` on the default store', async () => {
    await writeFile(
      join(project, 'plan.yaml'),
      'tasks:\n  - key: hello\n    command: echo\n    args: [hello from the package]\n',
    );
    const run = ok(await baton(['run', 'plan.yaml']));
    expect(run.stdout).toMatch(/run run_\w+ \(plan\) succeeded: 1 succeeded/);
    expect(existsSync(join(project, '.baton', 'baton.db'))).toBe(true);
    const tasks = ok(await baton(['tasks', '--json']));
    const listed = JSON.parse(tasks.stdout) as {
      tasks: { key: string; state: string; result: unknown }[];
    };
    expect(listed.tasks).toHaveLength(1);
    expect(listed.tasks[0]).toMatchObject({ key: 'hello', state: 'succeeded' });
  });

  it('serves the dashboard it ships at / with `baton server`', async () => {
    const child = spawn('baton', ['server', '--port', '0', '--store', 'sqlite:dash.db'], {
      cwd: project,
      env: cleanEnv([NODE24_DIR, join(project, 'node_modules', '.bin')]),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      let stderr = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
          const found = /API listening on (http:\/\/[^\s;]+)/.exec(stderr);
          if (found !== null && stderr.includes('dashboard:')) resolve(found[1]!);
        });
        child.once('exit', () => reject(new Error(`baton server exited:\n${stderr}`)));
      });
      expect(stderr).toContain(`dashboard: open ${url}/ in a browser`);
      const index = await fetch(`${url}/`);
      expect(index.status).toBe(200);
      const html = await index.text();
      expect(html).toContain('<div id="root">');
      const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
      const js = await fetch(`${url}/${asset ?? 'missing'}`);
      expect(js.status).toBe(200);
      // Read it all: a response left unread holds its connection, and the server's close waits.
      expect((await js.arrayBuffer()).byteLength).toBeGreaterThan(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const closed = once(child, 'close');
        child.kill('SIGTERM');
        await closed;
      }
    }
  });

  it(`imports the SDK from '${pkg.name}' and runs a task on SQLite`, async () => {
    const result = ok(await node('sdk.mjs', [`sqlite:${join(project, 'sdk.db')}`]));
    expect(JSON.parse(result.stdout)).toEqual({
      state: 'succeeded',
      result: { text: 'HI' },
      named: 'function',
    });
  });

  it('type-checks a TypeScript consumer against the declarations it ships', async () => {
    await writeFile(
      join(project, 'consumer.ts'),
      `import { Baton, type TaskHandler } from '${pkg.name}';
const upper: TaskHandler = async ({ payload }) => payload;
const baton: Baton = await Baton.open('sqlite::memory:');
baton.worker({ handlers: { upper } });
await baton.close();
`,
    );
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2024',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          // The consumer's own @types/node: this checkout's, rather than another download.
          typeRoots: [join(REPO, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    ok(
      await runProgram(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc')], {
        cwd: project,
        env: cleanEnv(),
      }),
    );
  });

  describe('on Redis', () => {
    const namespace = `test-${randomUUID()}`;
    afterAll(async () => {
      if (available) await deleteNamespaces([namespace]);
    });

    it.skipIf(!available && !ci)(
      'finds its Lua scripts in the package and runs a task (needs Redis on 127.0.0.1:6379; fails under CI without it)',
      async () => {
        if (!available)
          throw new Error(
            'CI=true and no Redis answers on 127.0.0.1:6379: the package cannot be tested on Redis',
          );
        const result = ok(await node('sdk.mjs', [REDIS_URL, namespace]));
        expect(JSON.parse(result.stdout)).toMatchObject({
          state: 'succeeded',
          result: { text: 'HI' },
        });
      },
    );
  });
});

describe.skipIf(old === undefined)('the installed package on an older Node', () => {
  it(`says it needs Node 24 and how to get it, exit 1 (Node ${old?.version ?? '-'})`, async () => {
    const result = await baton(['--version'], dirname(old!.path));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      [
        `Baton needs Node.js 24 or newer; you have ${old!.version} (${old!.path}).`,
        '  Install Node.js 24 or newer (https://nodejs.org/en/download, or `nvm install 24`)',
        '  and run baton with it, e.g. `nvm exec 24 npx baton --version`.',
        '',
      ].join('\n'),
    );
  });
});
