/**
 * Requests on a real socket with node:http, for what `fetch` will not send (a `Host` header of
 * our choosing, a WebSocket upgrade with chosen headers, a chunked body): every request on a
 * connection of its own, so nothing is reused between tests.
 */
import { request as httpRequest } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, or null when it is not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  json: any;
  /** True when the server switched protocols (a WebSocket upgrade was accepted). */
  upgraded: boolean;
}

export async function rawRequest(
  url: string,
  options: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    /** Sent whole (with Content-Length), or chunk by chunk (chunked) when an array. */
    body?: string | Buffer | Buffer[];
    /** Answer once the status line arrives unless it is an error (for streams that never end). */
    headOnlyOnSuccess?: boolean;
  },
): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const body = options.body;
  return await new Promise<RawResponse>((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers ?? {},
        agent: false,
      },
      (res) => {
        if (options.headOnlyOnSuccess === true && (res.statusCode ?? 0) < 400) {
          res.destroy();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: '',
            json: null,
            upgraded: false,
          });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          try {
            json = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json,
            upgraded: false,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        text: '',
        json: null,
        upgraded: true,
      });
    });
    req.on('error', reject);
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk);
      req.end();
    } else {
      req.end(body);
    }
  });
}

/** The headers of a WebSocket upgrade request. */
export function upgradeHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': Buffer.from('0123456789abcdef').toString('base64'),
    ...extra,
  };
}
