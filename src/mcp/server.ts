/**
 * The two transports of the one tool server (tools.ts): stdio, for an agent that launches
 * `baton mcp`, and Streamable HTTP, which `baton server` mounts at `/mcp` (src/server/mcp.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';

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
 * key), else the person who started it, with every scope.
 * @throws ToolError `BATON_UNAUTHORIZED` for a token that does not verify.
 */
export function callerFromEnv(env: NodeJS.ProcessEnv, backend: Backend): McpCaller {
  const token = env.BATON_MCP_TOKEN;
  if (token === undefined || token === '') return { kind: 'client', scopes: ALL_SCOPES };
  const grant = verifyAttemptToken(token, resolveMcpKey({ env }));
  checkGrantNamespace(grant, backend);
  return { kind: 'attempt', grant };
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

/**
 * Answer one Streamable HTTP request (stateless: a server per request, JSON responses) for a
 * caller already authenticated.
 */
export async function handleHttpRequest(
  context: ToolContext,
  request: IncomingMessage,
  response: ServerResponse,
  body: unknown,
): Promise<void> {
  const server = createMcpServer(context);
  // No session id generator: stateless, each request stands alone.
  const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
  response.once('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(request, response, body);
}
