/**
 * Server-Sent Events over `fetch`, not `EventSource`: an EventSource cannot send the
 * `Authorization` header a server with tokens needs. It resumes as EventSource does: after a
 * dropped connection it reconnects with `Last-Event-ID` set to the last id it received, so the
 * server replays whatever happened in between and no event is missed.
 */
import { authHeaders } from './api.ts';

export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

export interface SseOptions {
  /** The stream's URL (with its query). */
  url: string;
  /** Called for every message, in order. */
  onMessage: (message: SseMessage) => void;
  /** Called when the connection opens (`true`) or drops (`false`). */
  onStatus?: (connected: boolean) => void;
  /** Resume after this id from the start. */
  lastEventId?: string | null;
  /** Stop instead of reconnecting when the stream ends by itself (a finished task's log). */
  once?: boolean;
}

/** How long to wait before reconnecting: 0.5 s, doubling up to 5 s. */
const RETRY_MS = [500, 1000, 2000, 5000];

/** Follow `url` until the returned function is called. */
export function followSse(options: SseOptions): () => void {
  const controller = new AbortController();
  let lastEventId = options.lastEventId ?? null;
  let failures = 0;

  const connect = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      let ended = false;
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() };
        if (lastEventId !== null) headers['last-event-id'] = lastEventId;
        const response = await fetch(options.url, { headers, signal: controller.signal });
        if (!response.ok || response.body === null) throw new Error(`status ${response.status}`);
        failures = 0;
        options.onStatus?.(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end = buffer.indexOf('\n\n');
          while (end !== -1) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const message = parseBlock(block);
            if (message !== null) {
              if (message.id !== null) lastEventId = message.id;
              if (message.event === 'end') ended = true;
              options.onMessage(message);
            }
            end = buffer.indexOf('\n\n');
          }
        }
      } catch {
        // A dropped connection or a refusal: try again below, unless stopped.
      }
      if (controller.signal.aborted || (ended && options.once === true)) return;
      options.onStatus?.(false);
      const wait = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)] ?? 5000;
      failures++;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };
  void connect();
  return () => controller.abort();
}

function parseBlock(block: string): SseMessage | null {
  let id: string | null = null;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0 && id === null) return null;
  return { id, event, data: data.join('\n') };
}
