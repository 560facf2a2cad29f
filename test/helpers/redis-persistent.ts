/**
 * A private redis-server that keeps its data across restarts, for fault tests: it persists to an
 * append-only file in its own temp directory (`appendfsync always` by default), can be stopped
 * gracefully (SIGTERM: Redis shuts down cleanly) or crashed (SIGKILL), and started again on the
 * same port and directory, where it reloads what it had acknowledged. `destroy()` kills it and
 * deletes the directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, until, withConnection } from './redis-server.ts';

export interface PersistentServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The directory holding the append-only file. */
  readonly dir: string;
  /** Whether the server process is running. */
  readonly running: boolean;
  /**
   * Stop the server and wait for the process to exit. `SIGTERM` is a clean shutdown (Redis
   * flushes and fsyncs its AOF); `SIGKILL` is a crash.
   */
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Start the server again on the same port and directory; resolves once its data is loaded. */
  start(): Promise<void>;
  /** Kill the server (if running) and delete its directory. Safe to call twice. */
  destroy(): Promise<void>;
}

export interface PersistentServerOptions {
  /**
   * The `appendfsync` policy.
   * @default 'always'
   */
  appendfsync?: 'always' | 'everysec' | 'no';
  /**
   * More `redis-server` arguments.
   * @default []
   */
  args?: string[];
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Start a redis-server with AOF persistence on a free port; resolves once it serves. */
export async function startPersistentServer(
  options: PersistentServerOptions = {},
): Promise<PersistentServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `baton-redis-aof-${port}-`));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    options.appendfsync ?? 'always',
    '--dir',
    dir,
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;
  let destroyed = false;

  const stop = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    const current = child;
    if (current === undefined || exited(current)) return;
    await new Promise<void>((resolve) => {
      current.once('exit', () => resolve());
      current.kill(signal);
    });
  };

  const start = async (): Promise<void> => {
    if (destroyed) throw new Error(`the redis-server on port ${port} was destroyed`);
    if (child !== undefined && !exited(child)) {
      throw new Error(`the redis-server on port ${port} is still running; stop it first`);
    }
    const spawned = spawn('redis-server', args, { stdio: 'ignore' });
    child = spawned;
    // A server that cannot start (port taken, bad argument) exits at once: fail fast then.
    await until(`redis-server on port ${port} loading its data and answering`, 15_000, () => {
      if (exited(spawned)) {
        throw new Error(`redis-server exited (${spawned.exitCode ?? spawned.signalCode})`);
      }
      return withConnection(port, async (c) => {
        const info = await c.info('persistence');
        return /loading:0/.test(info) ? true : null;
      });
    });
  };

  const destroy = async (): Promise<void> => {
    destroyed = true;
    await stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await start();
  } catch (error) {
    await destroy();
    throw error;
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return child !== undefined && !exited(child);
    },
    stop,
    start,
    destroy,
  };
}
