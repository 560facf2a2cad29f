/**
 * `/mcp`: Baton's MCP tools (src/mcp) over Streamable HTTP, in sessions (a client's initialize
 * opens one, its calls reuse it; answers are JSON). The caller is an agent with an attempt-scoped token (`Bearer bma1.…`,
 * verified with the MCP key: it reaches only its run), or a client with an API token, whose
 * scopes each tool checks (`read`, `submit`, `work`; `admin` has all). Without API tokens the
 * server is loopback only and a client has every scope, as on the other routes.
 */
import { createHash } from 'node:crypto';

import type { FastifyInstance } from 'fastify';

import { ToolError } from '../mcp/errors.ts';
import {
  isAttemptToken,
  resolveMcpKey,
  verifyAttemptToken,
  type McpCaller,
} from '../mcp/identity.ts';
import { HttpSessions, checkGrantNamespace, openQueryRunner } from '../mcp/server.ts';
import type { Baton } from '../runtime/baton.ts';
import type { Authenticator } from './auth.ts';
import { HttpError } from './errors.ts';

export function registerMcpRoute(
  app: FastifyInstance,
  baton: Baton,
  auth: Authenticator,
  env: NodeJS.ProcessEnv,
  expertise: { dir?: string; maxLines?: number } = {},
): void {
  const query = openQueryRunner(baton.backend);
  const sessions = new HttpSessions();
  app.addHook('onClose', async () => {
    await sessions.close();
    query?.close();
  });
  let key: Buffer | undefined;

  const callerOf = (header: string | undefined): McpCaller => {
    const bearer = header === undefined ? undefined : /^Bearer[ ]+(\S+)\s*$/i.exec(header)?.[1];
    if (bearer === undefined || !isAttemptToken(bearer))
      return { kind: 'client', scopes: auth.scopesOf(header) };
    try {
      key ??= resolveMcpKey({ env });
      const grant = verifyAttemptToken(bearer, key);
      checkGrantNamespace(grant, baton.backend);
      return { kind: 'attempt', grant };
    } catch (error) {
      if (error instanceof ToolError) throw new HttpError(401, 'BATON_UNAUTHORIZED', error.message);
      throw error;
    }
  };

  app.post('/mcp', async (request, reply) => {
    const header = request.headers.authorization;
    const caller = callerOf(header);
    // The session answers only this credential (a digest: the token itself is not kept).
    const credential = createHash('sha256')
      .update(header ?? '')
      .digest('base64url');
    reply.hijack();
    await sessions.handle(request.raw, reply.raw, request.body, credential, () => ({
      backend: baton.backend,
      caller,
      query,
      ...(expertise.dir === undefined ? {} : { expertiseDir: expertise.dir }),
      ...(expertise.maxLines === undefined ? {} : { expertiseMaxLines: expertise.maxLines }),
    }));
  });

  // The tools send no notifications: no server-initiated stream to open.
  const notAllowed = {
    jsonrpc: '2.0',
    error: { code: -32000, message: 'Method not allowed: POST JSON-RPC messages to /mcp' },
    id: null,
  };
  app.get('/mcp', (_request, reply) => reply.status(405).header('allow', 'POST').send(notAllowed));
  app.delete('/mcp', (_request, reply) =>
    reply.status(405).header('allow', 'POST').send(notAllowed),
  );
}
