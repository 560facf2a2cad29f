/**
 * One live connection to the event stream (`GET /v1/events`) for the whole page, shared by every
 * view: each subscribes to the events it shows. The stream starts at the events after the page
 * opened (`since=now`) and resumes with `Last-Event-ID` after a drop (sse.ts).
 */
import { useEffect, useRef, useSyncExternalStore } from 'react';

import { apiUrl, type BatonEvent } from './api.ts';
import { followSse } from './sse.ts';

type Listener = (event: BatonEvent) => void;

const listeners = new Set<Listener>();
const statusListeners = new Set<() => void>();
let status: { connected: boolean; received: number; lastId: string | null } = {
  connected: false,
  received: 0,
  lastId: null,
};
let stop: (() => void) | null = null;

function setStatus(next: Partial<typeof status>): void {
  status = { ...status, ...next };
  for (const l of statusListeners) l();
}

/** Open the page's event stream (once; again after {@link stopEvents}). */
export function startEvents(): void {
  if (stop !== null) return;
  stop = followSse({
    url: apiUrl('/v1/events', { since: 'now' }),
    onStatus: (connected) => setStatus({ connected }),
    onMessage: (message) => {
      if (message.id === null || message.event === 'error') return;
      let event: BatonEvent;
      try {
        event = JSON.parse(message.data) as BatonEvent;
      } catch {
        return;
      }
      setStatus({ received: status.received + 1, lastId: event.id });
      for (const l of listeners) l(event);
    },
  });
}

export function stopEvents(): void {
  stop?.();
  stop = null;
  setStatus({ connected: false });
}

/** Call `listener` for every event while the component is mounted. */
export function useEvents(listener: Listener): void {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => {
    const l: Listener = (event) => ref.current(event);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
}

/** Whether the stream is connected, and how many events it brought. */
export function useEventStatus(): typeof status {
  return useSyncExternalStore(
    (onChange) => {
      statusListeners.add(onChange);
      return () => statusListeners.delete(onChange);
    },
    () => status,
  );
}

/**
 * Run `fn` at most once per `ms` when {@link Throttled.request} is called, the last request
 * served (trailing): many events, one refetch.
 */
export class Throttled {
  readonly #fn: () => void;
  readonly #ms: number;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #last = 0;
  constructor(fn: () => void, ms: number) {
    this.#fn = fn;
    this.#ms = ms;
  }
  request(): void {
    if (this.#timer !== null) return;
    const wait = Math.max(0, this.#last + this.#ms - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#last = Date.now();
      this.#fn();
    }, wait);
  }
  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
