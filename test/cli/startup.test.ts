/**
 * Start-up: each command loads what it uses, no more. A real `baton` process runs with an
 * import hook (`fixtures/trace-imports.ts`) that lists every module it resolves; the time this
 * saves is measured by `npm run bench:startup` (docs/benchmarks.md), not here.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useCli } from '../helpers/cli.ts';

const cli = useCli();
const TRACE = fileURLToPath(new URL('fixtures/trace-imports.ts', import.meta.url));

/** Run `baton …` with the import trace; resolves with the result and the modules it resolved. */
async function traced(args: readonly string[]) {
  const file = join(cli.dir, `trace-${Math.random().toString(36).slice(2)}.txt`);
  const result = await cli.run(args, {
    nodeArgs: ['--import', TRACE],
    env: { BATON_TRACE_IMPORTS: file },
  });
  const modules = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  return { ...result, modules };
}

/** The modules of `modules` that match any of `patterns`. */
function loaded(modules: readonly string[], patterns: readonly RegExp[]): string[] {
  return modules.filter((m) => patterns.some((p) => p.test(m)));
}

const pkg = (name: string): RegExp => new RegExp(`/node_modules/${name}/`);
/** What no command that only reads needs. */
const SERVER_AND_RUN = [
  pkg('fastify'),
  pkg('@fastify/websocket'),
  pkg('prom-client'),
  pkg('ioredis'),
  pkg('log-update'),
  pkg('yaml'),
  /\/src\/server\//,
  /\/src\/executors\//,
  /\/src\/backends\/redis\//,
];

describe('start-up', () => {
  it('--version loads neither the store, the logger nor any command', async () => {
    const { code, stdout, modules } = await traced(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    // The trace works: it saw the CLI itself.
    expect(modules.some((m) => m.endsWith('/src/cli/main.ts'))).toBe(true);
    expect(
      loaded(modules, [
        ...SERVER_AND_RUN,
        pkg('pino'),
        pkg('zod'),
        pkg('ulidx'),
        /\/src\/runtime\//,
        /\/src\/backends\//,
        /\/src\/cli\/commands\//,
        /\/src\/cli\/context\.ts$/,
        // Widths (string-width) are for tables and the live display.
        pkg('string-width'),
      ]),
    ).toEqual([]);
  });

  it('a usage error is settled before any command module or store is loaded', async () => {
    const { code, stderr, modules } = await traced(['status', '--limit', '0']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--limit/);
    expect(loaded(modules, [/\/src\/backends\//, /\/src\/cli\/commands\//])).toEqual([]);
  });

  it('status loads the store it reads, and not the server, Redis, the executors or the live display', async () => {
    const { code, stdout, modules } = await traced(['status', '--store', cli.store]);
    expect(code).toBe(0);
    expect(stdout).toContain('no runs in this store');
    expect(modules.some((m) => m.includes('/src/backends/sqlite/'))).toBe(true);
    expect(loaded(modules, SERVER_AND_RUN)).toEqual([]);
  });
});
