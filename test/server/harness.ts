/** A real Baton HTTP server on 127.0.0.1 over a SQLite store in a fresh temp directory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { FastifyInstance } from 'fastify';

import { Baton } from '../../src/runtime/baton.ts';
import { buildServer, type ServerOptions } from '../../src/server/server.ts';

export interface TestServer {
  baton: Baton;
  app: FastifyInstance;
  url: string;
  dir: string | null;
  /** `fetch` on the server, JSON in and out; `headers` are added to every request. */
  request(
    method: string,
    path: string,
    options?: {
      body?: unknown;
      raw?: string;
      contentType?: string;
      headers?: Record<string, string>;
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  ): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

const open = new Set<TestServer>();

export async function startServer(
  options: Partial<Omit<ServerOptions, 'baton'>> & {
    store?: string;
    namespace?: string;
    /** The store's clock (a ManualClock's `now`), so tests move time instead of sleeping. */
    clock?: () => number;
  } = {},
): Promise<TestServer> {
  const { store, namespace, clock, ...serverOptions } = options;
  const dir = store === undefined ? await mkdtemp(join(tmpdir(), 'baton-http-')) : null;
  const baton = await Baton.open(store ?? `sqlite:${join(dir!, 'baton.db')}`, {
    ...(namespace === undefined ? {} : { namespace }),
    ...(clock === undefined ? {} : { clock }),
  });
  const app = await buildServer({ baton, host: '127.0.0.1', env: {}, ...serverOptions });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const server: TestServer = {
    baton,
    app,
    url,
    dir,
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      let body: string | undefined;
      if (o.raw !== undefined) {
        body = o.raw;
        headers['content-type'] = o.contentType ?? 'application/json';
      } else if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] = o.contentType ?? 'application/json';
      }
      const response = await fetch(url + path, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    async close() {
      open.delete(server);
      await app.close();
      await baton.close();
      if (dir !== null) await rm(dir, { recursive: true, force: true });
    },
  };
  open.add(server);
  return server;
}

/** Close every server a test left open (call from afterEach). */
export async function closeAll(): Promise<void> {
  await Promise.all([...open].map((s) => s.close()));
}
