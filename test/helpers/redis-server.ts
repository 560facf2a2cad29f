/**
 * Throwaway redis-server processes for tests that must not touch the shared Redis: a fault (the
 * server dies), a configuration (an eviction policy), a cluster. Each server gets a free loopback
 * port and its own temp directory; `stop()` kills it and deletes the directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface TestServer {
  port: number;
  url: string;
  /** Kill the server (SIGKILL) and delete its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Whether `redis-server` and `redis-cli` are on the PATH. */
export function redisToolsAvailable(): boolean {
  const ok = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
  return ok('redis-server') && ok('redis-cli');
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A free TCP port on loopback. With `withBus`, its cluster bus port (+10000) is free too.
 * `taken` keeps ports handed out but not bound yet from being handed out twice.
 */
export async function freePort(taken: Set<number> = new Set(), withBus = false): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await listenOnce(0);
    if (taken.has(port) || (withBus && port > 55_000)) continue;
    if (withBus) {
      try {
        await listenOnce(port + 10_000);
      } catch {
        continue;
      }
    }
    taken.add(port);
    return port;
  }
  throw new Error('no free port found on 127.0.0.1');
}

/** Poll `probe` every 50 ms until it returns non-null, or fail after `timeoutMs`. */
export async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | null = null;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== null) return value;
    } catch (error) {
      last = error instanceof Error ? error : new Error(String(error));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `${what} did not happen within ${timeoutMs} ms${last ? ` (last error: ${last.message})` : ''}`,
  );
}

/** Run `fn` on a short-lived connection to 127.0.0.1:port. */
export async function withConnection<T>(
  port: number,
  fn: (client: Redis) => Promise<T>,
): Promise<T> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/**
 * Start a redis-server on `port` (a free one by default) with extra arguments (given its temp
 * directory), and wait until it answers PING.
 */
export async function startServer(
  options: { port?: number; args?: (dir: string) => string[]; withBus?: boolean } = {},
): Promise<TestServer> {
  const port = options.port ?? (await freePort(new Set(), options.withBus));
  const dir = mkdtempSync(join(tmpdir(), `baton-redis-${port}-`));
  const server: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...(options.args?.(dir) ?? []),
    ],
    { stdio: 'ignore' },
  );
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      await new Promise<void>((resolve) => {
        if (server.exitCode !== null || server.signalCode !== null) return resolve();
        server.once('exit', () => resolve());
        server.kill('SIGKILL');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(`redis-server on port ${port} answering`, 10_000, () =>
      withConnection(port, async (c) => ((await c.ping()) === 'PONG' ? true : null)),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, url: `redis://127.0.0.1:${port}`, stop };
}
