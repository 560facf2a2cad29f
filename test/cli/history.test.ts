/**
 * Commands on a store with history read only what they show: `baton status` reads one page of
 * the newest runs, `baton run` follows the event stream from just before its own submit. The
 * commands run in-process on a real SQLite store, with the backend's calls recorded.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.ts';
import { openBackend } from '../../src/backends/open.ts';
import { runCommand } from '../../src/cli/commands/run.ts';
import { statusCommand } from '../../src/cli/commands/status.ts';
import { createContext, type CliContext } from '../../src/cli/context.ts';
import type { RunRecord } from '../../src/core/types.ts';
import { Baton } from '../../src/runtime/baton.ts';
import type { RunSummary } from '../../src/cli/render.ts';

interface Call {
  method: string;
  arg: unknown;
}

/** The backend, unchanged, with every call's method and first argument recorded. */
function observe(backend: Backend, calls: Call[]): Backend {
  return new Proxy(backend, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push({ method: String(property), arg: args[0] });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString('utf8');
      callback();
    },
  });
  return { stream, text: () => text };
}

let dir = '';
let store = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-cli-history-'));
  store = `sqlite:${join(dir, 'b.db')}`;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A `--json` command context whose store is the given (observed) client. */
async function observedContext(
  calls: Call[],
): Promise<{ ctx: CliContext; stdout: () => string; stderr: () => string }> {
  const out = sink();
  const err = sink();
  const base = createContext(
    { stdout: out.stream, stderr: err.stream, env: {} },
    { store, json: true },
    'warn',
  );
  const backend = observe(await openBackend(store), calls);
  const baton = Baton.fromBackend(backend, { logger: pino({ level: 'silent' }) });
  return {
    ctx: { ...base, open: () => Promise.resolve(baton) },
    stdout: out.text,
    stderr: err.text,
  };
}

describe('commands on a store with history', () => {
  it('status without a run id reads one page of the newest runs, not every run', async () => {
    const seed = await Baton.open(store, { logger: pino({ level: 'silent' }) });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      ids.push((await seed.submitRun({ name: `r${i}`, tasks: [{ type: 'x' }] })).runId);
    }
    await seed.close();

    const calls: Call[] = [];
    const { ctx, stdout } = await observedContext(calls);
    expect(await statusCommand(ctx, undefined, { limit: 5 })).toBe(0);
    const shown = (JSON.parse(stdout()) as { runs: RunRecord[] }).runs.map((r) => r.id);
    expect(shown, 'the five most recent runs, newest first').toEqual(ids.slice(-5).reverse());
    expect(
      calls.filter((c) => c.method === 'listRuns').map((c) => c.arg),
      'one newest-first page of exactly the runs shown',
    ).toEqual([{ order: 'desc', limit: 5 }]);
  });

  it('run follows the event stream from just before its submit, never the history', async () => {
    const seed = await Baton.open(store, { logger: pino({ level: 'silent' }) });
    const old = await seed.submitRun({
      tasks: Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, type: 'x' })),
    });
    await seed.cancel(old.runId);
    const mark = await seed.lastEventId();
    await seed.close();
    expect(mark, 'the store has history').not.toBeNull();

    const plan = join(dir, 'tiny.yaml');
    await writeFile(
      plan,
      [
        'name: tiny',
        'tasks:',
        '  - key: one',
        '    command: "true"',
        '  - key: two',
        '    command: "true"',
        '    dependsOn: [one]',
        '',
      ].join('\n'),
    );
    const calls: Call[] = [];
    const { ctx, stdout } = await observedContext(calls);
    expect(await runCommand(ctx, plan, { concurrency: 1 })).toBe(0);
    expect((JSON.parse(stdout()) as RunSummary).state).toBe('succeeded');

    const reads = calls.filter((c) => c.method === 'readEvents').map((c) => c.arg);
    expect(reads.length, 'run followed the stream').toBeGreaterThan(0);
    for (const read of reads) {
      const since = (read as { since?: string }).since;
      expect(since, 'every read starts after a known event').toBeDefined();
      expect(Number(since), 'no read starts inside the history').toBeGreaterThanOrEqual(
        Number(mark),
      );
    }
  });

  it('run says which task types its local agents will not run', async () => {
    const plan = join(dir, 'mixed.yaml');
    await writeFile(
      plan,
      [
        'name: mixed',
        'tasks:',
        '  - key: think',
        '    executor: think',
        '    payload: { prompt: hi }',
        '',
      ].join('\n'),
    );
    const calls: Call[] = [];
    const { ctx, stderr } = await observedContext(calls);
    // A worker elsewhere handles think tasks: the run ends when it has.
    const other = await Baton.open(store, { logger: pino({ level: 'silent' }) });
    const worker = other.worker({ handlers: { think: () => 'thought' } });
    await worker.start();
    try {
      expect(await runCommand(ctx, plan, { concurrency: 1 })).toBe(0);
    } finally {
      await other.close();
    }
    expect(stderr()).toContain('the tasks of type think (1) wait for a worker');
    const claims = calls.filter((c) => c.method === 'claim').map((c) => c.arg);
    expect(
      claims.every(
        (c) =>
          JSON.stringify((c as { types?: unknown }).types) ===
          '["shell","http","llm","plan","agent"]',
      ),
      'the local agents claim shell, http, llm, plan and agent tasks only',
    ).toBe(true);
  });
});
