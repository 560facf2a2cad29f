/**
 * `baton mcp`: Baton's MCP tools over stdio (docs/mcp.md), for an agent that launches it. With
 * `BATON_MCP_TOKEN` (an attempt-scoped token, from the configuration the agent executor wrote)
 * the tools reach only that attempt's run; without it, everything the store holds, as the other
 * commands do. stdout carries the protocol: notes and logs go to stderr.
 */
import { callerFromEnv, openQueryRunner, serveStdio } from '../../mcp/server.ts';
import type { CliContext } from '../context.ts';

export async function mcpCommand(ctx: CliContext): Promise<number> {
  const baton = await ctx.open();
  const query = openQueryRunner(baton.backend);
  try {
    const caller = callerFromEnv(ctx.io.env, baton.backend);
    await serveStdio({ backend: baton.backend, caller, query });
    return 0;
  } finally {
    query?.close();
    await baton.close();
  }
}
