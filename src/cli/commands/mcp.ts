/**
 * `baton mcp`: Baton's MCP tools over stdio (docs/mcp.md), for an agent that launches it. With
 * `BATON_MCP_TOKEN` (an attempt-scoped token, from the configuration the agent executor wrote)
 * the tools reach only that attempt's run; without it, everything the store holds, as the other
 * commands do. stdout carries the protocol: notes and logs go to stderr.
 */
import { ToolError } from '../../mcp/errors.ts';
import {
  callerFromEnv,
  checkGrantNamespace,
  openQueryRunner,
  serveStdio,
} from '../../mcp/server.ts';
import type { CliContext } from '../context.ts';

export async function mcpCommand(ctx: CliContext): Promise<number> {
  try {
    // The token is checked before the store is opened: a bad one touches nothing.
    const caller = callerFromEnv(ctx.io.env);
    const baton = await ctx.open();
    const query = openQueryRunner(baton.backend);
    try {
      if (caller.kind === 'attempt') checkGrantNamespace(caller.grant, baton.backend);
      await serveStdio({ backend: baton.backend, caller, query });
      return 0;
    } finally {
      query?.close();
      await baton.close();
    }
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    ctx.io.stderr.write(`error: ${error.code}: ${error.message}\n`);
    return 1;
  }
}
