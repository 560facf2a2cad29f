/**
 * The deployment files: Dockerfile, docker-compose.yml, .dockerignore and .env.example. No
 * Docker daemon runs where the tests run, so they are checked as far as this machine allows:
 * their structure (and `docker compose config`, when the compose plugin is installed), and the
 * very command lines the image and the compose services start, run here outside Docker against a
 * temp SQLite store and the local Redis (a unique namespace), answering /health and running a
 * task.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { Baton } from '../../src/runtime/baton.ts';
import { REPO, useCli, type CliProcess } from '../helpers/cli.ts';
import { runProgram } from '../helpers/node-versions.ts';
import { deleteNamespaces, redisAnswers } from '../helpers/redis.ts';

const cli = useCli();

const read = (file: string): string => readFileSync(join(REPO, file), 'utf8');

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function dockerfile(): Instruction[] {
  const out: Instruction[] = [];
  let pending: Instruction | undefined;
  read('Dockerfile')
    .split('\n')
    .forEach((raw, index) => {
      const line = raw.trim();
      if (pending === undefined && (line === '' || line.startsWith('#'))) return;
      if (pending !== undefined) {
        if (line.startsWith('#')) return;
        pending.args += ' ' + line.replace(/\\$/, '').trim();
      } else {
        const [keyword = '', ...rest] = line.split(/\s+/);
        pending = {
          keyword: keyword.toUpperCase(),
          args: rest.join(' ').replace(/\\$/, '').trim(),
          line: index + 1,
        };
      }
      if (!line.endsWith('\\')) {
        out.push(pending);
        pending = undefined;
      }
    });
  return out;
}

/** The instructions of the last stage (the image that runs). */
function finalStage(): Instruction[] {
  const all = dockerfile();
  const lastFrom = all.map((i) => i.keyword).lastIndexOf('FROM');
  return all.slice(lastFrom);
}

function execForm(instruction: Instruction | undefined): string[] {
  expect(instruction, 'instruction present').toBeDefined();
  const parsed = JSON.parse(instruction!.args) as unknown;
  expect(Array.isArray(parsed), `${instruction!.keyword} in exec (JSON) form`).toBe(true);
  return parsed as string[];
}

/** The image's ENV settings (`ENV NAME=value`). */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of finalStage().filter((i) => i.keyword === 'ENV')) {
    for (const match of i.args.matchAll(/(\w+)=(\S+)/g)) env[match[1]!] = match[2]!;
  }
  return env;
}

describe('Dockerfile', () => {
  it('is multi-stage: a build stage with the compiler, a runtime stage with the packed package', () => {
    const froms = dockerfile().filter((i) => i.keyword === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms[0]!.args).toMatch(/ AS build$/i);
    const runtime = finalStage();
    // The runtime stage takes the build stage's packed package, not the sources.
    expect(runtime.some((i) => i.keyword === 'COPY' && i.args.startsWith('--from=build '))).toBe(
      true,
    );
    expect(runtime.filter((i) => i.keyword === 'COPY' && /(^|\s)src\b/.test(i.args))).toEqual([]);
    expect(runtime.find((i) => i.keyword === 'RUN')?.args).toMatch(/npm ci --omit=dev/);
  });

  it('runs as a non-root user', () => {
    const users = finalStage().filter((i) => i.keyword === 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args;
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    // Nothing after it switches back.
    const last = finalStage().at(-1)!;
    expect(['CMD', 'ENTRYPOINT', 'EXPOSE', 'ENV', 'VOLUME', 'WORKDIR', 'USER']).toContain(
      last.keyword,
    );
  });

  it('starts `baton server` on all interfaces by default, with the store on its volume', () => {
    const stage = finalStage();
    expect(execForm(stage.find((i) => i.keyword === 'ENTRYPOINT'))).toEqual(['baton']);
    expect(execForm(stage.find((i) => i.keyword === 'CMD'))).toEqual([
      'server',
      '--host',
      '0.0.0.0',
      '--port',
      '7400',
    ]);
    expect(imageEnv()['BATON_STORE']).toBe('sqlite:/data/baton.db');
    expect(stage.find((i) => i.keyword === 'VOLUME')?.args).toContain('/data');
    expect(stage.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args).toBe('/data');
  });

  it('leaves local state, secrets and build outputs out of the build context (.dockerignore)', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(ignored).toEqual(
      expect.arrayContaining(['.git', 'node_modules', 'dist', '.baton', '.env', '*.tgz']),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  init?: boolean;
  stop_grace_period?: string;
}

interface Compose {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

const composeText = read('docker-compose.yml');
const compose = parseYaml(composeText) as Compose;

describe('docker-compose.yml', () => {
  it('runs Redis with an append-only file on a named volume, healthchecked', () => {
    const redis = compose.services['redis']!;
    const command = redis.command!.join(' ');
    expect(command).toMatch(/^redis-server\b/);
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--appendfsync always'); // docs/operations.md: no task lost
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(redis.volumes).toContain('redis-data:/data');
    expect(compose.volumes).toHaveProperty('redis-data');
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('runs `baton server` and a `baton pool` from the image the Dockerfile builds, on that Redis', () => {
    const { server, pool } = compose.services;
    expect(server!.command![0]).toBe('server');
    expect(pool!.command![0]).toBe('pool');
    for (const service of [server!, pool!]) {
      expect(service.build).toBe('.');
      expect(service.image).toBe(server!.image);
      expect(service.environment!['BATON_STORE']).toBe('redis://redis:6379');
      expect(service.depends_on!['redis']).toEqual({ condition: 'service_healthy' });
      expect(service.init).toBe(true); // an init reaps what tasks leave behind
    }
    expect(server!.environment!['BATON_API_TOKENS']).toMatch(/^\$\{BATON_API_TOKENS:\?/);
    expect(server!.ports).toEqual(['127.0.0.1:7400:7400']);
    // The pool's grace outlasts its workers' drain (pool --stop-grace, 30 s by default).
    expect(Number.parseInt(pool!.stop_grace_period!, 10)).toBeGreaterThan(30);
  });

  it('declares every named volume it mounts, and mounts every one it declares', () => {
    const mounted = new Set(
      Object.values(compose.services)
        .flatMap((s) => s.volumes ?? [])
        .map((v) => v.split(':')[0]!)
        .filter((name) => !name.startsWith('.') && !name.startsWith('/')),
    );
    expect([...mounted].sort()).toEqual(Object.keys(compose.volumes).sort());
  });

  it('depends only on services that exist and have a healthcheck when it waits for one', () => {
    for (const service of Object.values(compose.services)) {
      for (const [name, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(compose.services).toHaveProperty(name);
        if (condition === 'service_healthy')
          expect(compose.services[name]!.healthcheck).toBeDefined();
      }
    }
  });

  const composeVersion = (() => {
    try {
      return execFileSync('docker', ['compose', 'version'], { encoding: 'utf8', stdio: 'pipe' });
    } catch {
      return undefined;
    }
  })();
  it.skipIf(composeVersion === undefined)(
    `passes \`docker compose config\` (${composeVersion === undefined ? 'skipped: no docker compose plugin on this machine' : composeVersion.trim()})`,
    async () => {
      const result = await runProgram(
        'docker',
        ['compose', '-f', 'docker-compose.yml', 'config', '-q'],
        {
          cwd: REPO,
          env: { ...process.env, BATON_API_TOKENS: `${'a'.repeat(32)}:admin` },
        },
      );
      expect(result.code, result.stderr).toBe(0);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// .env.example

/** Files whose code reads environment variables. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|js|py)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** Every BATON_* variable read by src/, bin/, examples/ or docker-compose.yml. */
function variablesRead(): Map<string, string[]> {
  const read = new Map<string, string[]>();
  const add = (name: string, where: string): void => {
    read.set(name, [...(read.get(name) ?? []), where]);
  };
  for (const file of ['src', 'bin', 'examples'].flatMap(sourceFiles)) {
    const text = readFileSync(file, 'utf8');
    const where = file.slice(REPO.length);
    // env.X, env['X'], process.env.X, os.environ.get("X"), os.environ["X"], os.getenv("X")
    const patterns = [
      /\benv(?:\.|\[\s*['"])(BATON_[A-Z0-9_]+)/g,
      /\benviron(?:\.get\(\s*|\[\s*)['"](BATON_[A-Z0-9_]+)/g,
      /\bgetenv\(\s*['"](BATON_[A-Z0-9_]+)/g,
    ];
    for (const pattern of patterns) for (const m of text.matchAll(pattern)) add(m[1]!, where);
  }
  for (const m of composeText.matchAll(/\$\{(BATON_[A-Z0-9_]+)/g)) add(m[1]!, 'docker-compose.yml');
  for (const name of Object.keys(imageEnv()))
    if (name.startsWith('BATON_')) add(name, 'Dockerfile');
  return read;
}

describe('.env.example', () => {
  const listed = read('.env.example')
    .split('\n')
    .map((line) => /^(BATON_[A-Z0-9_]+)=/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);

  it('names every BATON_* variable Baton, its examples and the deployment files read, and no other', () => {
    const readBy = variablesRead();
    // The ones the CLI and server are known to read, so the scan cannot silently find nothing.
    expect([...readBy.keys()]).toEqual(
      expect.arrayContaining(['BATON_STORE', 'BATON_LOG_LEVEL', 'BATON_API_TOKENS']),
    );
    expect([...new Set(listed)].sort()).toEqual([...readBy.keys()].sort());
    expect(listed).toHaveLength(new Set(listed).size);
  });

  it('says what each variable does, in a comment above it', () => {
    const lines = read('.env.example').split('\n');
    for (const name of listed) {
      const index = lines.findIndex((l) => l.startsWith(`${name}=`));
      // The variable's block of lines back to the blank line before it holds a comment.
      let i = index - 1;
      while (i >= 0 && /^BATON_/.test(lines[i]!)) i--;
      expect(lines[i], `${name} has a comment`).toMatch(/^#/);
    }
  });

  it('leaves the secret empty: a copied .env never carries a real token', () => {
    expect(read('.env.example')).toMatch(/^BATON_API_TOKENS=$/m);
    expect(read('.env.example')).toMatch(/^BATON_TOKEN=$/m);
  });
});

// ---------------------------------------------------------------------------------------------
// The start commands, outside Docker

/** A TCP port free right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** The command with `--port`'s value replaced (7400 may be taken on a machine running tests). */
function onPort(command: readonly string[], port: number): string[] {
  const out = [...command];
  const at = out.indexOf('--port');
  expect(at, '--port in the command').toBeGreaterThanOrEqual(0);
  out[at + 1] = String(port);
  return out;
}

async function health(port: number, proc: CliProcess): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      if (response.ok) return (await response.json()) as Record<string, unknown>;
    } catch {
      // not listening yet
    }
    if (proc.child.exitCode !== null) {
      throw new Error(`exited ${proc.child.exitCode} before /health answered:\n${proc.stderr}`);
    }
    if (Date.now() > deadline) throw new Error(`no /health in 20 s:\n${proc.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The server's healthcheck command from docker-compose.yml, run here against `port`. */
async function composeHealthcheck(port: number): Promise<number | null> {
  const [kind, program, ...args] = compose.services['server']!.healthcheck!.test;
  expect(kind).toBe('CMD');
  expect(program).toBe('node');
  const result = await runProgram(
    process.execPath,
    args.map((a) => a.replaceAll(':7400/', `:${port}/`)),
  );
  return result.code;
}

async function stop(proc: CliProcess): Promise<number | null> {
  proc.child.kill('SIGTERM');
  return (await proc.exited).code;
}

const token = (): string => randomBytes(32).toString('hex');

describe("the image's start command, outside Docker", () => {
  it('ENTRYPOINT + CMD with the image ENV serves the API on the SQLite store in /data', async () => {
    const stage = finalStage();
    const [entry] = execForm(stage.find((i) => i.keyword === 'ENTRYPOINT'));
    expect(entry).toBe('baton'); // bin/baton.js, linked into the image's PATH
    const port = await freePort();
    const command = onPort(execForm(stage.find((i) => i.keyword === 'CMD')), port);
    // /data (the WORKDIR and volume) is the test's temp directory here.
    const data = join(cli.dir, 'data');
    await mkdir(data);
    const env = Object.fromEntries(
      Object.entries(imageEnv()).map(([k, v]) => [k, v.replaceAll('/data', data)]),
    );
    const server = cli.start(command, { env: { ...env, BATON_API_TOKENS: `${token()}:admin` } });
    const answer = await health(port, server);
    expect(answer).toMatchObject({ status: 'ok', backend: { name: 'sqlite', reachable: true } });
    expect(readdirSync(data)).toContain('baton.db');
    expect(await composeHealthcheck(port)).toBe(0);
    expect(await stop(server)).toBe(0);
  });

  it('refuses to serve on 0.0.0.0 without BATON_API_TOKENS, as compose would have it', async () => {
    const port = await freePort();
    const command = onPort(compose.services['server']!.command!, port);
    const result = await cli.run([...command, '--store', cli.store]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('BATON_API_TOKENS');
  });
});

const redisUp = await redisAnswers();
const ci = process.env['CI'] === 'true';

describe.skipIf(!redisUp && !ci)(
  'the compose services, outside Docker, on the local Redis (a unique namespace)',
  () => {
    const namespace = `test-${randomUUID()}`;
    afterAll(async () => {
      if (redisUp) await deleteNamespaces([namespace]);
    });

    /** A service's command and environment as compose gives them, pointed at the local Redis. */
    function service(name: string): { command: string[]; env: NodeJS.ProcessEnv } {
      const s = compose.services[name]!;
      const env: NodeJS.ProcessEnv = {};
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        env[key] = value
          .replace('redis://redis:6379', 'redis://127.0.0.1:6379')
          .replace(/^\$\{BATON_LOG_LEVEL:-(\w+)\}$/, '$1');
      }
      return { command: [...s.command!, '--namespace', namespace], env };
    }

    it('`baton server` answers /health and the healthcheck; a plan posted to it runs on the pool; both stop on SIGTERM', async () => {
      if (!redisUp) throw new Error('CI=true and no Redis answers on 127.0.0.1:6379');
      const port = await freePort();
      const apiToken = token();
      const s = service('server');
      const server = cli.start(onPort(s.command, port), {
        env: { ...s.env, BATON_API_TOKENS: `${apiToken}:admin` },
      });
      expect(await health(port, server)).toMatchObject({
        status: 'ok',
        backend: { name: 'redis', reachable: true },
      });
      expect(await composeHealthcheck(port)).toBe(0);

      const p = service('pool');
      const pool = cli.start(p.command, { env: p.env });
      // As the README does it: the quickstart plan, posted as YAML with the token.
      const response = await fetch(`http://127.0.0.1:${port}/v1/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/yaml' },
        body: read('examples/quickstart.yaml'),
      });
      expect(response.status).toBe(201);
      const { runId } = (await response.json()) as { runId: string };
      const baton = await Baton.open('redis://127.0.0.1:6379', {
        namespace,
        logger: pino({ level: 'silent' }),
      });
      try {
        const run = await baton.wait(runId, { timeoutMs: 60_000 });
        expect(run.state).toBe('succeeded');
        expect((await baton.agents()).some((a) => a.state === 'active')).toBe(true);
      } finally {
        await baton.close();
      }
      // `docker compose run --rm server status`: the image's command with the server's settings.
      const status = await cli.run(['status', '--namespace', namespace], { env: s.env });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(runId);

      expect(await stop(pool)).toBe(0);
      expect(await stop(server)).toBe(0);
    });
  },
);
