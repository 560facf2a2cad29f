/**
 * Run the real `baton` command as a child process (`node bin/baton.js …`, on the Node that runs
 * the tests), with a fresh temp directory per test and an `afterEach` that kills whatever a test
 * left running, so no process outlives its test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, beforeEach } from 'vitest';
import { Baton } from '../../src/runtime/baton.ts';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(REPO, 'bin', 'baton.js');
export const EXAMPLES = join(REPO, 'examples');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A `baton` process started in the background, with its output so far. */
export interface CliProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when the process has exited and its streams are closed. */
  exited: Promise<CliResult>;
  /** Resolves once stdout or stderr matches `pattern`; rejects if the process exits first. */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr'): Promise<void>;
}

export interface CliHarness {
  /** The temp directory of the current test (the working directory of every process). */
  readonly dir: string;
  /** `sqlite:<dir>/b.db`: the test's store. */
  readonly store: string;
  /** Run `baton …` to completion. */
  run(args: readonly string[], options?: StartOptions): Promise<CliResult>;
  /** Start `baton …` in the background; it is killed after the test if still running. */
  start(args: readonly string[], options?: StartOptions): CliProcess;
  /**
   * Start `baton …` on a pseudo-terminal (util-linux `script`) of the given size: its stdout and
   * stderr are the terminal, whose output (both, as a person would see them, escape sequences
   * included) is the process's `stdout`. `type` writes to the terminal: `'\x03'` is Ctrl-C,
   * which the terminal turns into a SIGINT for the command, as it does for a person.
   */
  startTty(args: readonly string[], options?: TtyOptions): TtyProcess;
  /** A client on the test's store (closed after the test), quiet logs. */
  open(): Promise<Baton>;
}

export interface TtyOptions {
  env?: NodeJS.ProcessEnv;
  /** @default 100 */
  columns?: number;
  /** @default 30 */
  rows?: number;
}

export interface TtyProcess extends CliProcess {
  /** Type `text` on the terminal (`'\x03'`: Ctrl-C). */
  type(text: string): void;
}

/** `text` quoted for `/bin/sh`. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

export interface StartOptions {
  /** Added to (and overriding) the test's environment. */
  env?: NodeJS.ProcessEnv;
  /** Flags for Node itself, before the script (`--import …`). @default [] */
  nodeArgs?: readonly string[];
}

/** The environment without anything that would change the store, the log level or colour. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['BATON_STORE'];
  delete env['BATON_LOG_LEVEL'];
  // Colour follows the terminal unless a test says otherwise (vitest may set these).
  delete env['NO_COLOR'];
  delete env['FORCE_COLOR'];
  return { ...env, ...extra };
}

export function useCli(): CliHarness {
  let dir = '';
  let children: ChildProcess[] = [];
  let clients: Baton[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'baton-cli-'));
  });

  afterEach(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await Promise.all(
      children
        .filter((child) => child.exitCode === null && child.signalCode === null)
        .map((child) => new Promise((resolve) => child.once('close', resolve))),
    );
    children = [];
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await rm(dir, { recursive: true, force: true });
  });

  const start = (
    args: readonly string[],
    options: StartOptions = {},
    tty?: { columns: number; rows: number },
  ): CliProcess => {
    const argv = [process.execPath, ...(options.nodeArgs ?? []), BIN, ...args];
    const child =
      tty === undefined
        ? spawn(argv[0]!, argv.slice(1), {
            cwd: dir,
            env: cleanEnv(options.env),
            stdio: ['ignore', 'pipe', 'pipe'],
          })
        : spawn(
            'script',
            [
              '--quiet',
              '--return',
              '--command',
              `stty cols ${tty.columns} rows ${tty.rows}; exec ${argv.map(shellQuote).join(' ')}`,
              '/dev/null',
            ],
            // TERM: a terminal that takes colour, whatever the tests' own environment says.
            { cwd: dir, env: cleanEnv({ TERM: 'xterm-256color', ...options.env }), stdio: 'pipe' },
          );
    children.push(child);
    let stdout = '';
    let stderr = '';
    const listeners = new Set<() => void>();
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      for (const l of listeners) l();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      for (const l of listeners) l();
    });
    const exited = new Promise<CliResult>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        for (const l of listeners) l();
        resolve({ code, signal, stdout, stderr });
      });
    });
    return {
      child,
      get stdout() {
        return stdout;
      },
      get stderr() {
        return stderr;
      },
      exited,
      waitFor(pattern, stream = 'stdout') {
        return new Promise<void>((resolve, reject) => {
          const check = (): void => {
            if (pattern.test(stream === 'stdout' ? stdout : stderr)) {
              listeners.delete(check);
              resolve();
            } else if (child.exitCode !== null || child.signalCode !== null) {
              listeners.delete(check);
              reject(
                new Error(
                  `baton ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before its ${stream} matched ${String(pattern)}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
                ),
              );
            }
          };
          listeners.add(check);
          check();
        });
      },
    };
  };

  return {
    get dir() {
      return dir;
    },
    get store() {
      return `sqlite:${join(dir, 'b.db')}`;
    },
    start: (args, options) => start(args, options),
    startTty(args, options = {}) {
      const proc = start(args, options, {
        columns: options.columns ?? 100,
        rows: options.rows ?? 30,
      });
      return Object.assign(proc, {
        type(text: string) {
          proc.child.stdin?.write(text);
        },
      });
    },
    run: (args, options) => start(args, options).exited,
    async open() {
      const baton = await Baton.open(`sqlite:${join(dir, 'b.db')}`, {
        logger: pino({ level: 'silent' }),
      });
      clients.push(baton);
      return baton;
    },
  };
}
