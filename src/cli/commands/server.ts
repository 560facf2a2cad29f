/**
 * `baton server`: the HTTP API (docs/http-api.md) over the store, until SIGINT/SIGTERM, which
 * close it gracefully: no new connections, open event streams ended, in-flight requests
 * answered, then the store closed.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { parseTokens } from '../../server/auth.ts';
import { DASHBOARD_DIR } from '../../server/dashboard.ts';
import { buildServer } from '../../server/server.ts';
import type { CliContext } from '../context.ts';

export interface ServerCommandOptions {
  /** Address to bind. @default '127.0.0.1' */
  host: string;
  /** Port to listen on; 0 picks a free one. @default 7400 */
  port: number;
  /** Browser origins allowed (CORS), comma-separated, or `*`. @default CORS off */
  cors?: string[];
  /** The sweep the server runs (`false`: none). @default the sweeper's defaults */
  sweep?: { agentTtlMs?: number } | false;
  /**
   * Host names the API answers to besides the loopback ones (see `ServerOptions.allowedHosts`).
   * @default none
   */
  allowedHosts?: string[];
  /** Serve the web dashboard at `/`. @default true */
  dashboard?: boolean;
}

export async function serverCommand(
  ctx: CliContext,
  options: ServerCommandOptions,
): Promise<number> {
  // Tokens are checked before the store is opened, so a typo touches nothing.
  const spec = ctx.io.env.BATON_API_TOKENS;
  const tokens = spec === undefined ? [] : parseTokens(spec);
  const baton = await ctx.open();
  try {
    const cors = options.cors;
    const app = await buildServer({
      baton,
      tokens,
      host: options.host,
      logger: ctx.logger,
      expertiseMaxLines: ctx.config.config.learning.expertiseMaxLines,
      ...(cors === undefined ? {} : { cors: cors.includes('*') ? '*' : cors }),
      ...(options.sweep === undefined ? {} : { sweep: options.sweep }),
      ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
      dashboard: options.dashboard ?? true,
    });
    let address: string;
    try {
      address = await app.listen({ host: options.host, port: options.port });
    } catch (error) {
      // The app already runs its sweep and event follower: close it, or they outlive the error.
      await app.close();
      const why = listenFailure(error, options);
      if (why === undefined) throw error;
      ctx.io.stderr.write(`error: ${why}\n`);
      return 1;
    }
    ctx.note(
      `baton API listening on ${address}${tokens.length === 0 ? ' (no auth: loopback only)' : ''}; stop with Ctrl-C (SIGINT) or SIGTERM`,
    );
    if (options.dashboard ?? true) {
      ctx.note(
        existsSync(join(DASHBOARD_DIR, 'index.html'))
          ? `dashboard: open ${address}/ in a browser`
          : `dashboard: not built (no ${DASHBOARD_DIR}); build it with npm run build:web`,
      );
    }
    const stop = new AbortController();
    const signals = ['SIGINT', 'SIGTERM'] as const;
    const onSignal = (): void => stop.abort();
    for (const s of signals) process.once(s, onSignal);
    try {
      await once(stop.signal, 'abort');
    } finally {
      for (const s of signals) process.off(s, onSignal);
    }
    ctx.note('stopping the API server');
    await app.close();
    return 0;
  } finally {
    await baton.close();
  }
}

/** What to say when the API cannot listen, for the errors a person can fix; else undefined. */
function listenFailure(error: unknown, options: ServerCommandOptions): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = `${options.host}:${options.port}`;
  switch (code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the port is already in use (EADDRINUSE), by another baton server or another program; stop it, or choose another port with --port (0 picks a free one)`;
    case 'EACCES':
      return `cannot listen on ${where}: permission denied (EACCES); ports below 1024 need privileges, so choose --port 1024 or above (the default is 7400)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: no network interface of this machine has the address ${options.host} (EADDRNOTAVAIL); use 127.0.0.1, 0.0.0.0 (with BATON_API_TOKENS) or one of this machine's addresses`;
    default:
      return undefined;
  }
}
