/**
 * Node scripts run as child processes (on the Node that runs the tests), with their output so
 * far, a wait for a line of it, and a kill of everything still running for `afterAll`/`finally`.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface NodeProcess {
  readonly child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Whether the process is still running. */
  readonly alive: boolean;
  /** Resolves with the exit code and signal once the process has exited and its streams closed. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once stdout matches `pattern`; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<void>;
}

/** Processes started by {@link startNode} and not yet reaped by {@link killAll}. */
const started = new Set<NodeProcess>();

/** Start `node <script> …args`; the environment is the test's, without BATON_* settings. */
export function startNode(script: string, args: readonly string[]): NodeProcess {
  const env = { ...process.env };
  delete env['BATON_STORE'];
  delete env['BATON_LOG_LEVEL'];
  const child = spawn(process.execPath, [script, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of listeners) listener();
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    notify();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        notify();
        resolve({ code, signal });
      });
    },
  );
  const proc: NodeProcess = {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    exited,
    waitFor(pattern) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(stdout)) {
            listeners.delete(check);
            resolve();
          } else if (!proc.alive) {
            listeners.delete(check);
            reject(
              new Error(
                `${script} exited (${child.exitCode ?? child.signalCode}) before its stdout matched ${String(pattern)}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
              ),
            );
          }
        };
        listeners.add(check);
        check();
      });
    },
  };
  started.add(proc);
  return proc;
}

/** SIGKILL every process {@link startNode} started that is still running, and wait for them. */
export async function killAll(): Promise<void> {
  const all = [...started];
  started.clear();
  await Promise.all(
    all.map(async (proc) => {
      if (proc.alive) proc.child.kill('SIGKILL');
      await proc.exited.catch(() => undefined);
    }),
  );
}
