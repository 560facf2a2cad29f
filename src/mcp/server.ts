/**
 * The two transports of the one tool server (tools.ts): stdio, for an agent that launches
 * `baton mcp`, and Streamable HTTP, which `baton server` mounts at `/mcp` (src/server/mcp.ts).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';

import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

import type { Backend } from '../backends/backend.ts';
import { parseStoreUrl } from '../backends/open.ts';
import { ToolError } from './errors.ts';
import {
  ALL_SCOPES,
  resolveMcpKey,
  verifyAttemptToken,
  type AttemptGrant,
  type McpCaller,
} from './identity.ts';
import { QueryRunner } from './query.ts';
import { createMcpServer, type ToolContext } from './tools.ts';

/**
 * The read-only SQL runner of a store, or null when `query` cannot run on it: a Redis store, an
 * in-memory one, or one on an injected clock (no `location`).
 */
export function openQueryRunner(backend: Backend): QueryRunner | null {
  const location = backend.location;
  if (location === null) return null;
  const target = parseStoreUrl(location.url);
  if (target.kind !== 'sqlite' || target.path === ':memory:') return null;
  return new QueryRunner(target.path);
}

/**
 * Check that an attempt's grant is for this store's namespace.
 * @throws ToolError `BATON_UNAUTHORIZED` when it is another's.
 */
export function checkGrantNamespace(grant: AttemptGrant, backend: Backend): void {
  const namespace = backend.location?.namespace;
  if (namespace !== undefined && grant.namespace !== namespace)
    throw new ToolError(
      'BATON_UNAUTHORIZED',
      `the attempt token is for namespace '${grant.namespace}', but this MCP server serves '${namespace}'`,
    );
}

/**
 * Who `baton mcp` serves: the attempt of `BATON_MCP_TOKEN` when set (verified with the MCP
 * key), else the person who started it, with every scope. Check the namespace of an attempt's
 * grant with {@link checkGrantNamespace} once the store is open.
 * @throws ToolError `BATON_UNAUTHORIZED` for a token that does not verify.
 */
export function callerFromEnv(env: NodeJS.ProcessEnv): McpCaller {
  const token = env.BATON_MCP_TOKEN;
  if (token === undefined || token === '') return { kind: 'client', scopes: ALL_SCOPES };
  return { kind: 'attempt', grant: verifyAttemptToken(token, resolveMcpKey({ env })) };
}

export interface StdioOptions extends ToolContext {
  /** @default process.stdin */
  stdin?: Readable;
  /** @default process.stdout */
  stdout?: Writable;
}

/** Serve the tools over stdio until the client closes the stream. */
export async function serveStdio(options: StdioOptions): Promise<void> {
  const server = createMcpServer(options);
  const transport = new StdioServerTransport(options.stdin, options.stdout);
  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve;
  });
  await server.connect(transport);
  const input = options.stdin ?? process.stdin;
  // The client closing our stdin is the end of the session.
  input.once('end', () => void server.close());
  await closed;
}

/** How long an HTTP session may stay unused before it is closed. */
export const SESSION_IDLE_MS = 10 * 60 * 1000;
/** Most HTTP sessions kept open at once; the longest unused one is closed to make room. */
export const MAX_SESSIONS = 1000;

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  /** Who opened it: every later request of the session must come with the same credential. */
  credential: string;
  usedAt: number;
}

/**
 * The Streamable HTTP sessions of `/mcp`: a session (its tool server, bound to the caller) is
 * made by the client's `initialize` and reused by its later calls, which is what keeps a tool
 * call cheap (building a server per request costs more than the call). A session answers only
 * the credential that opened it; unused sessions are closed after {@link SESSION_IDLE_MS}.
 */
export class HttpSessions {
  readonly #sessions = new Map<string, Session>();
  #timer: NodeJS.Timeout | null = null;

  /**
   * Answer one request of an authenticated caller. `credential` identifies the caller (a digest
   * of its token); `context` is called to build the tools of a new session.
   */
  async handle(
    request: IncomingMessage,
    response: ServerResponse,
    body: unknown,
    credential: string,
    context: () => ToolContext,
  ): Promise<void> {
    const header = request.headers['mcp-session-id'];
    const id = Array.isArray(header) ? header[0] : header;
    if (id !== undefined) {
      const session = this.#sessions.get(id);
      if (session === undefined || session.credential !== credential) {
        // Not found, or not this caller's: the same answer, so ids cannot be probed.
        jsonRpcError(response, 404, 'Session not found: initialize a new session');
        return;
      }
      session.usedAt = Date.now();
      await session.transport.handleRequest(request, response, body);
      return;
    }
    if (request.method !== 'POST') {
      jsonRpcError(response, 400, 'Bad Request: name the session (mcp-session-id) to end');
      return;
    }
    const server = createMcpServer(context());
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (sessionId) => {
        this.#evict();
        this.#sessions.set(sessionId, { transport, server, credential, usedAt: Date.now() });
        this.#timer ??= setInterval(() => this.#sweep(), 60_000).unref();
      },
      onsessionclosed: (sessionId) => {
        this.#sessions.delete(sessionId);
      },
    });
    await server.connect(transport);
    await transport.handleRequest(request, response, body);
    // A request that did not initialize a session leaves nothing behind.
    if (transport.sessionId === undefined) await server.close();
  }

  /** Sessions open now. */
  get size(): number {
    return this.#sessions.size;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, session] of this.#sessions) {
      if (now - session.usedAt > SESSION_IDLE_MS) this.#close(id, session);
    }
  }

  #evict(): void {
    if (this.#sessions.size < MAX_SESSIONS) return;
    let oldest: [string, Session] | null = null;
    for (const entry of this.#sessions)
      if (oldest === null || entry[1].usedAt < oldest[1].usedAt) oldest = entry;
    if (oldest !== null) this.#close(oldest[0], oldest[1]);
  }

  #close(id: string, session: Session): void {
    this.#sessions.delete(id);
    void session.server.close();
  }

  /** Close every session. */
  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => s.server.close()));
  }
}

function jsonRpcError(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message }, id: null }));
}
