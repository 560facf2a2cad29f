/**
 * The shell executor writes a program's output to the task's log, line by line and tagged with
 * its stream, through a real worker on a real SQLite store: a failed attempt keeps its output,
 * and a program that prints more than the result limit still succeeds, its output in the log and
 * its result small (issue 12).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_BOUNDS, type LogLine } from '../../src/core/logs.ts';
import { LIMITS } from '../../src/core/validate.ts';
import type { TaskRecord } from '../../src/core/types.ts';
import { shellHandler, type ShellResult } from '../../src/executors/shell.ts';
import { Baton } from '../../src/runtime/baton.ts';
import type { Worker } from '../../src/runtime/worker.ts';

let dir: string;
let baton: Baton;
let worker: Worker;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'baton-shell-logs-'));
  baton = await Baton.open(`sqlite:${join(dir, 'baton.db')}`, {
    logger: pino({ level: 'silent' }),
  });
  worker = baton.worker({ handlers: { shell: shellHandler() }, idleWaitMs: 200 });
  await worker.start();
});

afterEach(async () => {
  await worker.stop();
  await baton.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(command: string, maxAttempts = 1): Promise<TaskRecord> {
  const { id } = await baton.submit({
    type: 'shell',
    payload: { command, shell: true },
    maxAttempts,
    backoff: { baseMs: 1, maxMs: 1, jitter: 'none' },
  });
  return (await baton.wait(id, { timeoutMs: 20_000 })) as TaskRecord;
}

async function logOf(taskId: string): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const line of baton.logs(taskId)) lines.push(line);
  return lines;
}

describe('shell tasks write their output to the log', () => {
  it('each line of stdout and stderr, tagged with its stream, in the order of each stream', async () => {
    const task = await run(
      'echo one; echo oops >&2; printf "two\\nthree"; printf "é\\n" >&2; echo four',
    );
    expect(task.state).toBe('succeeded');
    const lines = await logOf(task.id);
    const of = (stream: string) => lines.filter((l) => l.stream === stream).map((l) => l.text);
    expect(of('stdout')).toEqual(['one', 'two', 'threefour']);
    expect(of('stderr')).toEqual(['oops', 'é']);
    expect(lines.filter((l) => l.stream === 'stderr').every((l) => l.level === 'error')).toBe(true);
    expect(lines.filter((l) => l.stream === 'stdout').every((l) => l.level === 'info')).toBe(true);
  });

  it('a failed attempt keeps its output, and so does each retry', async () => {
    const task = await run('echo "before the crash"; echo "Traceback: boom" >&2; exit 3', 2);
    expect(task.state).toBe('failed');
    expect(task.error?.message).toContain('exited with code 3');
    const lines = await logOf(task.id);
    expect(lines.map((l) => [l.attempt, l.stream, l.text])).toEqual([
      [1, 'stdout', 'before the crash'],
      [1, 'stderr', 'Traceback: boom'],
      [2, 'stdout', 'before the crash'],
      [2, 'stderr', 'Traceback: boom'],
    ]);
  });

  it('prints ~1.1 MiB and exits 0: succeeds with a small result, its output in the log (head and tail)', async () => {
    // 1,113,895 bytes: over the 1 MiB result limit that used to fail this task.
    const task = await run('seq 1 175000');
    expect(task.state, `error: ${JSON.stringify(task.error)}`).toBe('succeeded');
    const result = task.result as unknown as ShellResult;
    expect(result.exitCode).toBe(0);
    expect(result.stdoutBytes).toBe(1_113_895);
    expect(result.stdoutBytes).toBeGreaterThan(LIMITS.maxPayloadBytes);
    expect(result.stdoutTruncated).toBe(true);
    expect(result.stdout.endsWith('174999\n175000\n')).toBe(true);
    expect(JSON.stringify(result).length, 'the result is small').toBeLessThan(20_000);

    const lines = await logOf(task.id);
    const cut = lines.findIndex((l) => l.stream === 'cut');
    expect(cut, 'one cut marker').toBeGreaterThan(0);
    expect(lines.filter((l) => l.stream === 'cut').length).toBe(1);
    const head = lines.slice(0, cut).map((l) => Number(l.text));
    const tail = lines.slice(cut + 1).map((l) => Number(l.text));
    // The head: 1, 2, 3, … as printed, within the head's bytes.
    expect(head).toEqual(Array.from({ length: head.length }, (_, i) => i + 1));
    // Bytes of output: each line's text and its newline.
    const headBytes = lines.slice(0, cut).reduce((n, l) => n + l.text.length + 1, 0);
    expect(headBytes).toBeLessThanOrEqual(DEFAULT_LOG_BOUNDS.headBytes);
    expect(headBytes).toBeGreaterThan(DEFAULT_LOG_BOUNDS.headBytes - 8);
    // The tail: every line up to 175000, within the tail's bytes.
    expect(tail.at(-1)).toBe(175_000);
    expect(tail).toEqual(Array.from({ length: tail.length }, (_, i) => 175_001 - tail.length + i));
    const tailBytes = lines.slice(cut + 1).reduce((n, l) => n + l.text.length + 1, 0);
    expect(tailBytes).toBeLessThanOrEqual(DEFAULT_LOG_BOUNDS.tailBytes);
    expect(tailBytes).toBeGreaterThan(DEFAULT_LOG_BOUNDS.tailBytes - 8);
    // The marker names exactly the lines missing between them.
    expect(lines[cut]!.cut).toMatchObject({
      fromLine: head.length + 1,
      toLine: 175_000 - tail.length,
    });
  });
});
