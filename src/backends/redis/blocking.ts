/**
 * Connections for blocking commands (BZPOPMIN of `waitForWork`, XREAD BLOCK of `readEvents`).
 * A blocked connection serves nobody else, so each concurrent wait takes one from a small pool
 * of duplicates of the main client. Aborting a wait disconnects its connection: the blocked
 * command ends at once, and the connection is not reused.
 */
import type { RedisClient } from './connection.ts';

export class BlockingPool {
  readonly #main: RedisClient;
  readonly #idle: RedisClient[] = [];
  readonly #busy = new Set<RedisClient>();
  /** Idle connections kept for reuse; more are closed when released. */
  readonly #keep: number;
  #closed = false;

  constructor(main: RedisClient, keep = 4) {
    this.#main = main;
    this.#keep = keep;
  }

  /**
   * Run `fn` on a blocking connection. Resolves `null` instead of rejecting when the wait was
   * aborted by `signal` or the pool closed meanwhile.
   */
  async run<T>(
    signal: AbortSignal | undefined,
    fn: (conn: RedisClient) => Promise<T>,
  ): Promise<T | null> {
    if (signal?.aborted || this.#closed) return null;
    const conn = await this.#acquire();
    let dropped = false;
    const onAbort = (): void => {
      dropped = true;
      this.#busy.delete(conn);
      conn.disconnect();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) return null;
      return await fn(conn);
    } catch (error) {
      if (dropped || this.#closed) return null;
      // A connection that failed is not trusted again.
      dropped = true;
      this.#busy.delete(conn);
      conn.disconnect();
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!dropped) this.#release(conn);
    }
  }

  async #acquire(): Promise<RedisClient> {
    const idle = this.#idle.pop();
    if (idle) {
      this.#busy.add(idle);
      return idle;
    }
    // Redis and Cluster both have duplicate(); their signatures differ only in options.
    const conn = (this.#main as { duplicate(): RedisClient }).duplicate();
    conn.on('error', () => undefined);
    try {
      await conn.connect();
    } catch (error) {
      conn.disconnect();
      throw error;
    }
    this.#busy.add(conn);
    return conn;
  }

  #release(conn: RedisClient): void {
    this.#busy.delete(conn);
    if (this.#closed || this.#idle.length >= this.#keep || conn.status !== 'ready')
      conn.disconnect();
    else this.#idle.push(conn);
  }

  /** Disconnect every connection; blocked waits end (they resolve `null`). */
  close(): void {
    this.#closed = true;
    for (const conn of [...this.#idle, ...this.#busy]) conn.disconnect();
    this.#idle.length = 0;
    this.#busy.clear();
  }
}
