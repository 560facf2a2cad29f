/**
 * The `shell` executor: runs a program as a child process, never through a shell unless asked.
 *
 * The program runs in its own process group (see `process-group.ts`), so that stopping a task
 * stops everything it started — `sh -c 'a & b'`, `make -j`, a test runner's workers — not just
 * the process we spawned. The same group is cleaned up when the main process exits on its own,
 * so a finished task leaves nothing running behind it, and when the worker process dies, even
 * by SIGKILL, so a task run again elsewhere never runs twice at once.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

import { CancelledError, NonRetryableError } from '../core/errors.ts';
import type { Json } from '../core/types.ts';
import { spawnProcessGroup, type ProcessGroup } from './process-group.ts';

/** The payload of a task of type `shell`. */
export interface ShellPayload {
  /**
   * The program to run (looked up on `PATH`), or with `shell: true` a script line for
   * `/bin/sh -c`. An array is argv form: the program followed by its first arguments.
   * @example 'sleep'
   * @example ['git', 'status']
   */
  command: string | string[];
  /**
   * Arguments, passed to the program literally (no globbing, no `$VAR`, no `;`). With
   * `shell: true` they are the script's positional parameters `"$1"`, `"$2"`…
   * @default []
   */
  args?: string[];
  /** Run `command` as a script line through `/bin/sh -c`. @default false */
  shell?: boolean;
  /** Working directory. @default the worker's working directory */
  cwd?: string;
  /** Variables added to (and overriding) the worker's environment. @default {} */
  env?: Record<string, string>;
}

/**
 * How a shell task ended, as stored for a successful task: small whatever the program printed.
 * Its whole output, line by line, is in the task's log (docs/logs.md: `baton logs <task>`).
 */
export interface ShellResult {
  /** The exit code, or `null` when the process was ended by a signal. */
  exitCode: number | null;
  /** The signal that ended the process (e.g. `SIGKILL`), or `null`. */
  signal: string | null;
  /**
   * The last `maxOutputBytes` of standard output, decoded as UTF-8: all of it when it was no
   * longer (a cut never splits a character).
   */
  stdout: string;
  /** The last `maxOutputBytes` of standard error, the same way. */
  stderr: string;
  /** More output was written than `stdout` holds (the rest is in the log). */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Bytes the program wrote to standard output, and to standard error, in all. */
  stdoutBytes: number;
  stderrBytes: number;
  durationMs: number;
}

export interface RunShellOptions {
  /** Aborting kills the whole process group; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Bytes of the end of each stream (stdout, stderr) kept in the result; the rest is read (into
   * the log, when there is one) so the child never blocks on a full pipe. Small by default, so
   * a program that prints a lot still has a result far below the backend's size limit.
   * @default 16384 (16 KiB)
   */
  maxOutputBytes?: number;
  /**
   * Where each line of output goes as it is printed, tagged with its stream: the task's log
   * (`ctx.log` of the worker's handler context).
   * @default nowhere
   */
  log?: OutputLog;
  /**
   * After SIGTERM, wait this long for the process group to exit before sending SIGKILL: on
   * abort, after the program exited, and when the worker process dies.
   * @default 2000
   */
  killGraceMs?: number;
  /** The environment the payload's `env` is layered on. @default process.env */
  env?: NodeJS.ProcessEnv;
}

export type ShellHandlerOptions = Omit<RunShellOptions, 'signal' | 'log'>;

/** What the executor writes a program's output to: a worker's `ctx.log` (TaskLog) is one. */
export interface OutputLog {
  /** A chunk of output as it arrives; the log splits it into lines. */
  write(stream: 'stdout' | 'stderr', chunk: Uint8Array): void;
}

/** The context a worker gives a handler. */
export interface ShellHandlerContext {
  payload: Json;
  signal: AbortSignal;
  /** The attempt's log: the program's stdout and stderr go there, line by line. */
  log?: OutputLog;
}

const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024;
/** Lines of stderr quoted in the message of a failed task. */
const STDERR_TAIL_LINES = 20;
/** Bytes of the end of stderr kept aside for that message, even when the result is truncated. */
const STDERR_TAIL_BYTES = 8 * 1024;

/** A shell task exited with a non-zero code or was killed by a signal it was not sent by us. */
export class ExitCodeError extends Error {
  readonly code = 'EXIT_CODE';
  /** Another attempt may well succeed (flaky network, busy machine). */
  readonly retryable = true;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly result: ShellResult;

  constructor(command: string, result: ShellResult, stderrTail: string) {
    const how =
      result.exitCode === null
        ? `was killed by signal ${result.signal ?? 'unknown'}`
        : `exited with code ${result.exitCode}`;
    const tail = lastLines(stderrTail, STDERR_TAIL_LINES);
    super(
      tail
        ? `${command} ${how}; last lines of stderr:\n${tail}`
        : `${command} ${how} (stderr was empty)`,
    );
    this.name = 'ExitCodeError';
    this.exitCode = result.exitCode;
    this.signal = result.signal;
    this.result = result;
  }
}

const payloadSchema = z.strictObject({
  command: z.union([z.string().min(1), z.array(z.string()).min(1)]),
  args: z.array(z.string()).optional(),
  shell: z.boolean().optional(),
  cwd: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).optional(),
});

/**
 * Check that a task payload is a {@link ShellPayload}.
 * @throws NonRetryableError naming each malformed field — no attempt could fix the payload.
 */
export function parseShellPayload(payload: unknown): ShellPayload {
  const parsed = payloadSchema.safeParse(payload);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map(
        (issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'payload'}: ${issue.message}`,
      )
      .join('; ');
    throw new NonRetryableError(
      `malformed shell payload (${problems}); expected { command: string | string[], args?: string[], shell?: boolean, cwd?: string, env?: { [name]: string } }`,
    );
  }
  const value = parsed.data;
  if (value.shell === true && Array.isArray(value.command)) {
    throw new NonRetryableError(
      'malformed shell payload: with shell: true, command must be one script line (a string), not an argv array',
    );
  }
  // Rebuild without absent keys so the result honours exactOptionalPropertyTypes.
  const out: ShellPayload = { command: value.command };
  if (value.args !== undefined) out.args = value.args;
  if (value.shell !== undefined) out.shell = value.shell;
  if (value.cwd !== undefined) out.cwd = value.cwd;
  if (value.env !== undefined) out.env = value.env;
  return out;
}

/** The program and argv actually spawned for a payload. */
function argvOf(payload: ShellPayload): { file: string; args: string[]; display: string } {
  const extra = payload.args ?? [];
  if (payload.shell === true) {
    const script = Array.isArray(payload.command) ? payload.command.join(' ') : payload.command;
    // `sh -c script sh a b` makes a, b the script's "$1", "$2": arguments stay data, never code.
    return {
      file: '/bin/sh',
      args: ['-c', script, 'sh', ...extra],
      display: `sh -c ${JSON.stringify(script)}`,
    };
  }
  const [file, ...head] = Array.isArray(payload.command) ? payload.command : [payload.command];
  const program = file ?? '';
  return { file: program, args: [...head, ...extra], display: program };
}

/**
 * Run a shell payload to completion and report how it ended. A non-zero exit is a normal
 * result here; {@link shellHandler} turns it into a task failure.
 *
 * Settles only after the child has exited. On abort the whole process group gets SIGTERM, then
 * SIGKILL after `killGraceMs`, and the promise rejects with `signal.reason`.
 *
 * @throws NonRetryableError when the program cannot be started (not found, not executable,
 *   missing working directory).
 */
export async function runShell(
  payload: ShellPayload,
  options: RunShellOptions = {},
): Promise<ShellResult> {
  return (await execute(payload, options)).result;
}

interface Execution {
  result: ShellResult;
  stderrTail: string;
  display: string;
}

/** Keeps the last `limit` bytes of a stream, and counts them all. */
class Capture {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #kept = 0;
  bytes = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.#chunks.push(chunk);
    this.#kept += chunk.length;
    // Drop whole chunks that lie before the last `limit` bytes (the first one kept is cut later).
    while (this.#chunks.length > 1 && this.#kept - this.#chunks[0]!.length >= this.#limit) {
      this.#kept -= this.#chunks.shift()!.length;
    }
  }

  get truncated(): boolean {
    return this.bytes > this.#limit;
  }

  /** The last `limit` bytes (or fewer), from the start of a character. */
  text(limit = this.#limit): string {
    const all = Buffer.concat(this.#chunks);
    let start = Math.max(0, all.length - limit);
    while (start < all.length && (all[start]! & 0xc0) === 0x80) start++;
    return all.subarray(start).toString('utf8');
  }
}

async function execute(payload: ShellPayload, options: RunShellOptions): Promise<Execution> {
  const { signal } = options;
  const { file, args, display } = argvOf(payload);
  const cwd = payload.cwd === undefined ? process.cwd() : resolve(payload.cwd);

  if (signal?.aborted) throw abortReason(signal);

  const startedAt = performance.now();
  let group: ProcessGroup;
  try {
    group = await spawnProcessGroup(file, args, {
      cwd,
      env: { ...(options.env ?? process.env), ...payload.env },
      ...(options.killGraceMs === undefined ? {} : { killGraceMs: options.killGraceMs }),
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    if (!isSpawnFailure(error)) throw error; // SupervisorError, or invalid arguments
    throw spawnError(error, display, cwd, payload);
  }

  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const stdout = new Capture(maxOutputBytes);
  // The message of a failure quotes stderr's last lines, whatever the result keeps of it.
  const stderr = new Capture(Math.max(maxOutputBytes, STDERR_TAIL_BYTES));
  const { log } = options;
  group.stdout.on('data', (chunk: Buffer) => {
    stdout.push(chunk);
    log?.write('stdout', chunk);
  });
  group.stderr.on('data', (chunk: Buffer) => {
    stderr.push(chunk);
    log?.write('stderr', chunk);
  });

  const exit = await group.exited;
  if (signal?.aborted) throw abortReason(signal);
  return {
    result: {
      exitCode: exit.code,
      signal: exit.signal,
      stdout: stdout.text(),
      stderr: stderr.text(maxOutputBytes),
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.bytes > maxOutputBytes,
      stdoutBytes: stdout.bytes,
      stderrBytes: stderr.bytes,
      durationMs: Math.round(performance.now() - startedAt),
    },
    stderrTail: stderr.text(STDERR_TAIL_BYTES),
    display,
  };
}

/** The signal's reason, which a worker sets to a TimeoutError or CancelledError. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new CancelledError(typeof reason === 'string' ? reason : 'aborted');
}

function spawnError(
  error: NodeJS.ErrnoException,
  display: string,
  cwd: string,
  payload: ShellPayload,
): NonRetryableError {
  if (error.code === 'ENOENT' || error.code === 'ENOTDIR') {
    if (!isDirectory(cwd)) {
      return new NonRetryableError(
        `working directory does not exist: ${cwd} (running ${display}); create it or fix the task's cwd`,
        { cause: error },
      );
    }
    const hint =
      payload.shell !== true && typeof payload.command === 'string' && /\s/.test(payload.command)
        ? ` — the whole string is taken as the program name; give arguments as an array (command: ${JSON.stringify(payload.command.split(/\s+/)[0])}, args: [...]) or set shell: true`
        : '; check the spelling and that it is installed and on PATH';
    return new NonRetryableError(`command not found: ${display} (cwd ${cwd})${hint}`, {
      cause: error,
    });
  }
  if (error.code === 'EACCES') {
    return new NonRetryableError(
      `permission denied running ${display} (cwd ${cwd}); make it executable (chmod +x) or run it through its interpreter`,
      { cause: error },
    );
  }
  return new NonRetryableError(`could not start ${display} (cwd ${cwd}): ${error.message}`, {
    cause: error,
  });
}

/** The program (or its working directory) could not be found or run: `spawn`'s own error. */
function isSpawnFailure(error: unknown): error is NodeJS.ErrnoException {
  const syscall = (error as Partial<NodeJS.ErrnoException> | null)?.syscall;
  return error instanceof Error && typeof syscall === 'string' && syscall.startsWith('spawn');
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function lastLines(text: string, count: number): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(-count).join('\n');
}

/**
 * The handler a worker registers for tasks of type `shell`.
 *
 * Each line the program prints goes to the attempt's log (`ctx.log`) as it is printed, tagged
 * `stdout` or `stderr`, so a failed attempt keeps its output and a running one can be followed.
 * Resolves with the {@link ShellResult} on exit code 0: the exit code and the end of each
 * stream, small however much the program printed. Rejects with a retryable
 * {@link ExitCodeError} (code `EXIT_CODE`, quoting the last lines of stderr) on any other exit,
 * with a `NonRetryableError` for a malformed payload or a program that cannot start, and with
 * the signal's reason when the attempt is aborted (timeout or cancel) — after the process group
 * has been killed.
 */
export function shellHandler(
  options: ShellHandlerOptions = {},
): (ctx: ShellHandlerContext) => Promise<Json> {
  return async ({ payload, signal, log }) => {
    const parsed = parseShellPayload(payload);
    const run = await execute(parsed, {
      ...options,
      signal,
      ...(log === undefined ? {} : { log }),
    });
    if (run.result.exitCode !== 0) throw new ExitCodeError(run.display, run.result, run.stderrTail);
    return { ...run.result };
  };
}
