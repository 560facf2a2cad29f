/**
 * Process-level behaviour: a stopped worker leaves nothing that keeps the process alive, and
 * SIGTERM stops a worker gracefully (a second one at once). Uses real child processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../src/core/types.ts';
import { useHarness } from './harness.ts';

const h = useHarness();
const fixture = fileURLToPath(new URL('./fixtures/worker-process.ts', import.meta.url));
// Node 24 from the project (the system node may be older); `process.execPath` is what runs vitest.
const node = process.execPath;

interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout message of this kind. */
  next(event: string): Promise<Record<string, unknown>>;
  /** Resolves when stderr has shown a line matching `pattern`. */
  stderrMatch(pattern: RegExp): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

function startChild(store: string, mode: string): Child {
  const child = spawn(node, [fixture, store, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages: Record<string, unknown>[] = [];
  const waiters: { event: string; resolve: (m: Record<string, unknown>) => void }[] = [];
  let stdoutBuffer = '';
  let stderr = '';
  const stderrWaiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdoutBuffer += chunk.toString('utf8');
    let newline: number;
    while ((newline = stdoutBuffer.indexOf('\n')) >= 0) {
      const line = stdoutBuffer.slice(0, newline);
      stdoutBuffer = stdoutBuffer.slice(newline + 1);
      const message = JSON.parse(line) as Record<string, unknown>;
      messages.push(message);
      for (const w of waiters.filter((w) => w.event === message.event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(message);
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    for (const w of stderrWaiters.filter((w) => w.pattern.test(stderr))) {
      stderrWaiters.splice(stderrWaiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    process: child,
    next(event) {
      const seen = messages.find((m) => m.event === event);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ event, resolve });
        void exit.then(({ code }) =>
          reject(new Error(`child exited (${code}) before "${event}"; stderr:\n${stderr}`)),
        );
      });
    },
    stderrMatch(pattern) {
      if (pattern.test(stderr)) return Promise.resolve();
      return new Promise((resolve) => stderrWaiters.push({ pattern, resolve }));
    },
    exit,
    stderr: () => stderr,
  };
}

/** Fail (rather than hang) if the child does not exit by itself. */
async function exitsOnItsOwn(child: Child): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    child.exit,
    new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), 20_000))),
  ]);
  clearTimeout(timer);
  if (outcome === 'stuck') {
    child.process.kill('SIGKILL');
    throw new Error(`the child process did not exit on its own; stderr:\n${child.stderr()}`);
  }
  return outcome.code;
}

describe('worker process', () => {
  it('exits on its own after the worker stops: no timer keeps it alive', async () => {
    const store = `sqlite:${join(h.dir, 'baton.db')}`;
    const child = startChild(store, 'run-one');
    expect(await child.next('done')).toMatchObject({ state: 'succeeded' });
    await child.next('stopped');
    expect(await exitsOnItsOwn(child)).toBe(0);
  });

  it('stays alive while its one slot runs a handler that awaits a promise with no handle', async () => {
    const baton = await h.baton();
    const child = startChild(`sqlite:${join(h.dir, 'baton.db')}`, 'one-slot');
    await child.next('started');
    const { id } = await baton.submit({ type: 'forever' });
    await child.next('handler-started');
    let exited: { code: number | null } | undefined;
    void child.exit.then((result) => (exited = result));
    // Several heartbeat intervals: an exit would have come within milliseconds.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(
      exited,
      `the worker process exited mid-task; stderr:\n${child.stderr()}`,
    ).toBeUndefined();
    expect((await baton.get(id))?.state).toBe('running');
    child.process.kill('SIGKILL');
    await child.exit;
  });

  it('SIGTERM stops gracefully; a second SIGTERM aborts and releases in-flight tasks', async () => {
    const baton = await h.baton();
    const child = startChild(`sqlite:${join(h.dir, 'baton.db')}`, 'until-signal');
    await child.next('started');
    const { id } = await baton.submit({ type: 'wait' });
    await child.next('handler-started');

    child.process.kill('SIGTERM');
    await child.stderrMatch(/stopping gracefully/);
    // Still within the 30 s grace: the task is running, then the second signal cuts it short.
    expect((await baton.get(id))?.state).toBe('running');
    child.process.kill('SIGTERM');
    await child.next('stopped');
    expect(await exitsOnItsOwn(child)).toBe(0);

    const task = (await baton.get(id)) as TaskRecord;
    expect(task.state).toBe('ready');
    expect((await baton.attempts(id)).map((a) => a.outcome)).toEqual(['released']);
  });
});
