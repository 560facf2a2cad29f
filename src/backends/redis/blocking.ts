/**
 * Connections for blocking commands (BZPOPMIN of `waitForWork`, XREAD BLOCK of `readEvents`).
 * A blocked connection serves nobody else, so each concurrent wait takes one from a small pool
 * of duplicates of the main client. Aborting a wait (a worker whose task just finished claims
 * again at once) ends the blocked command with CLIENT UNBLOCK from the main connection and keeps
 * the connection: opening a new one costs a connect and a ready check each time. A connection
 * whose command had not reached Redis yet (nothing to unblock), or one on a Cluster (its node is
 * not the main connection's), is disconnected instead, which ends the command at once too.
 */
import type { Redis } from 'ioredis';
import type { RedisClient } from './connection.ts';

export class BlockingPool {
  readonly #main: RedisClient;
  readonly #idle: RedisClient[] = [];
  readonly #busy = new Set<RedisClient>();
  /** Idle connections kept for reuse; more are closed when released. */
  readonly #keep: number;
  /** Redis's id of each standalone connection, for CLIENT UNBLOCK. */
  readonly #ids = new WeakMap<RedisClient, number>();
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
    let settled = false;
    const drop = (): void => {
      if (dropped || settled) return;
      dropped = true;
      this.#busy.delete(conn);
      conn.disconnect();
    };
    const onAbort = (): void => {
      const id = this.#ids.get(conn);
      if (id === undefined) return drop();
      // 1: the command ends now with an empty reply and the connection is released as usual.
      // Should the command have ended on its own meanwhile and the connection already block for
      // the next wait, that wait ends early instead: a spurious wake-up, which every waiter
      // handles like a timeout (it claims and finds nothing).
      (this.#main as Redis).client('UNBLOCK', id).then((unblocked) => {
        if (unblocked !== 1) drop();
      }, drop);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) return null;
      const result = await fn(conn);
      return signal?.aborted ? null : result;
    } catch (error) {
      if (dropped || this.#closed) return null;
      // A connection that failed is not trusted again.
      dropped = true;
      this.#busy.delete(conn);
      conn.disconnect();
      throw error;
    } finally {
      settled = true;
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
    if (!(conn as Redis).isCluster) {
      try {
        this.#ids.set(conn, await (conn as Redis).client('ID'));
      } catch {
        // An ACL without CLIENT ID: its aborted waits close the connection. A connection that
        // broke fails its blocking command next, which reports it.
      }
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
