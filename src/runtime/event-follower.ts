/**
 * One shared reader of the event stream per client, for `wait`: however many waits are open,
 * there is one blocking `readEvents` at a time, and it only runs while someone listens.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Backend } from '../backends/backend.ts';
import type { BatonEvent } from '../core/types.ts';

const PAGE = 1_000;
/** Longest single blocking read; bounded so an unsubscribed follower notices soon. */
const BLOCK_MS = 1_000;
const ERROR_BACKOFF_MS = 500;

export type EventListener = (event: BatonEvent) => void;

export class EventFollower {
  readonly #backend: Backend;
  readonly #log: Logger;
  readonly #listeners = new Set<EventListener>();
  /**
   * Where the stream was last read up to. Kept across idle periods so that the next reader
   * resumes here instead of replaying the stream from the start.
   */
  #cursor: string | undefined;
  #pump: Promise<void> | undefined;
  #read: AbortController | undefined;
  #closed = false;

  constructor(backend: Backend, log: Logger) {
    this.#backend = backend;
    this.#log = log;
  }

  /**
   * Call `listener` for every event read from now on. Every event written after this call is
   * delivered (older ones may be too, while the follower catches up): check the state you wait
   * for *after* subscribing and you cannot miss its change. Returns the unsubscribe function.
   */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    this.#pump ??= this.#run().finally(() => {
      this.#pump = undefined;
    });
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#read?.abort();
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#read?.abort();
    await this.#pump;
  }

  async #run(): Promise<void> {
    let caughtUp = false;
    while (this.#listeners.size > 0 && !this.#closed) {
      const read = new AbortController();
      this.#read = read;
      try {
        const page = await this.#backend.readEvents({
          ...(this.#cursor === undefined ? {} : { since: this.#cursor }),
          limit: PAGE,
          blockMs: caughtUp ? BLOCK_MS : 0,
          signal: read.signal,
        });
        for (const event of page) {
          this.#cursor = event.id;
          for (const listener of this.#listeners) listener(event);
        }
        caughtUp = page.length < PAGE;
      } catch (error) {
        if (read.signal.aborted) continue;
        this.#log.warn({ err: error }, 'reading the event stream failed; retrying');
        await sleep(ERROR_BACKOFF_MS);
      } finally {
        if (this.#read === read) this.#read = undefined;
      }
    }
  }
}
