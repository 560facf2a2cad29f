/**
 * What the MCP suites share: an MCP client connected to Baton's tools over stdio (`baton mcp`
 * from the configuration `writeMcpConfig` wrote) or over Streamable HTTP (`/mcp` of a real
 * server), and a tool call read back as text and structured content.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import type { McpConfigFile } from '../../src/mcp/config.ts';
import { startServer, type TestServer } from '../server/harness.ts';

/** What a connection needs of a suite's world: its directory, store, key file and config. */
export interface McpWorld {
  dir: string;
  store: string;
  keyFile: string;
  config: McpConfigFile;
}

export type Connect = (
  w: McpWorld,
) => Promise<{ client: Client; close: () => Promise<void>; server?: TestServer }>;

/** `baton mcp` as the agent's configuration starts it, from the agent's directory. */
export const stdio: Connect = async (w) => {
  const file = JSON.parse(readFileSync(w.config.path, 'utf8')) as {
    mcpServers: { baton: { command: string; args: string[]; env: Record<string, string> } };
  };
  const s = file.mcpServers.baton;
  const transport = new StdioClientTransport({
    command: s.command,
    args: s.args,
    env: { ...s.env, PATH: process.env.PATH ?? '' },
    cwd: join(w.dir, 'agent'),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(transport);
  return { client, close: () => client.close() };
};

/** A real server's `/mcp`, with the attempt's token. */
export const http: Connect = async (w) => {
  const server = await startServer({ store: w.store, env: { BATON_MCP_KEY_FILE: w.keyFile } });
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${w.config.token}` } },
  });
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    server,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
};

export interface Called {
  isError: boolean;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  data: any;
}

/** Call a tool; its text content joined, and its structured content. */
export async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<Called> {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as { type: string; text: string }[];
  return {
    isError: result.isError === true,
    text: content.map((c) => c.text).join('\n'),
    data: result.structuredContent,
  };
}
