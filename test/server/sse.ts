/** A minimal Server-Sent Events reader over fetch, for tests. */
export interface SseMessage {
  id: string | null;
  event: string | null;
  data: string;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** The next message (comments skipped); null when the stream ended. */
  next(): Promise<SseMessage | null>;
  close(): void;
}

export async function openSse(
  url: string,
  headers: Record<string, string> = {},
): Promise<SseStream> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  return {
    status: response.status,
    headers: response.headers,
    async next() {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message: SseMessage = { id: null, event: null, data: '' };
          let any = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon === -1 ? line : line.slice(0, colon);
            const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
            any = true;
            if (field === 'id') message.id = value;
            else if (field === 'event') message.event = value;
            else if (field === 'data') message.data += (message.data ? '\n' : '') + value;
          }
          if (any) return message;
          continue;
        }
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch {
          return null;
        }
        if (chunk.done) return null;
        buffer += chunk.value;
      }
    },
    close() {
      controller.abort();
    },
  };
}
