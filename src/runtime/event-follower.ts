/**
 * One shared reader of the event stream per client, for `wait`: however many waits are open,
 * there is one blocking `readEvents` at a time, and it only runs while someone listens. It starts
 * at the end of the stream (`lastEventId`), so a wait never replays the store's history.
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
   * Where the stream was read up to while someone listens: an event id, null for the start of a
   * stream that was empty when the follower looked, undefined while nobody listens (the next
   * subscriber starts at the end of the stream, not where an earlier one stopped).
   */
  #cursor: string | null | undefined;
  /** The `lastEventId` lookup that positions the cursor, shared by concurrent subscribers. */
  #positioning: Promise<void> | undefined;
  #pump: Promise<void> | undefined;
  #read: AbortController | undefined;
  #closed = false;

  constructor(backend: Backend, log: Logger) {
    this.#backend = backend;
    this.#log = log;
  }

  /**
   * Call `listener` for every event read from now on. Every event written after the returned
   * promise resolves is delivered (a few older ones may be too): check the state you wait for
   * *after* awaiting it and you cannot miss its change. Resolves to the unsubscribe function.
   */
  async subscribe(listener: EventListener): Promise<() => void> {
    if (this.#cursor === undefined) {
      this.#positioning ??= this.#backend
        .lastEventId()
        .then((id) => {
          if (this.#cursor === undefined) this.#cursor = id;
        })
        .finally(() => {
          this.#positioning = undefined;
        });
      await this.#positioning;
    }
    this.#listeners.add(listener);
    this.#pump ??= this.#run();
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
          ...(this.#cursor == null ? {} : { since: this.#cursor }),
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
    // Nobody listens: forget the position, so the next subscriber starts at the end of the
    // stream. (Synchronous with the loop's last check: no subscriber can slip in between.)
    this.#pump = undefined;
    if (this.#listeners.size === 0) this.#cursor = undefined;
  }
}
