/** Attempt tokens and the MCP configuration file (src/mcp/identity.ts, config.ts). */
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, expect, it } from 'vitest';

import { writeMcpConfig } from '../../src/mcp/config.ts';
import {
  mintAttemptToken,
  resolveMcpKey,
  verifyAttemptToken,
  type AttemptGrant,
} from '../../src/mcp/identity.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-identity-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const grant: AttemptGrant = {
  namespace: 'default',
  runId: 'run_1',
  taskId: 'tsk_1',
  attempt: 1,
  token: 3,
  agentId: 'agt_1',
  sandbox: '/x',
  filesRoot: '/y',
  stateNamespaces: [],
  expiresAt: null,
};

it('verifies a token under its key only, and not after it expired', () => {
  const key = resolveMcpKey({ keyFile: join(dir, 'mcp.key'), create: true, env: {} });
  expect(statSync(join(dir, 'mcp.key')).mode & 0o777).toBe(0o600);
  const token = mintAttemptToken(grant, key);
  expect(verifyAttemptToken(token, key)).toEqual(grant);
  expect(() =>
    verifyAttemptToken(token, Buffer.from('another key of enough length......')),
  ).toThrow(/signature does not match/);
  const expiring = mintAttemptToken({ ...grant, expiresAt: 1000 }, key);
  expect(() => verifyAttemptToken(expiring, key, 1000)).toThrow(/expired/);
  expect(() => verifyAttemptToken('bma1.garbage', key)).toThrow(/malformed/);
  expect(() => resolveMcpKey({ keyFile: join(dir, 'none.key'), env: {} })).toThrow(/no MCP key/);
  expect(() => resolveMcpKey({ env: { BATON_MCP_SECRET: 'short' } })).toThrow(/fewer than the 32/);
});

it('writes a 0600 configuration for stdio (command, args, env) and for HTTP (url, Bearer header)', () => {
  const attempt = { runId: 'run_1', taskId: 'tsk_1', attempt: 2, token: 5, agentId: 'agt_1' };
  const keyFile = join(dir, 'mcp.key');
  const stdio = writeMcpConfig({
    attempt,
    dir,
    store: 'sqlite:rel/baton.db',
    keyFile,
    filesRoot: join(dir, 'files'),
    env: {},
  });
  expect(stdio.path).toBe(join(dir, 'baton-mcp-tsk_1-2.json'));
  expect(statSync(stdio.path).mode & 0o777).toBe(0o600);
  expect(stdio.sandbox).toBe(join(dir, 'files', 'run_1', 'tsk_1'));
  const file = JSON.parse(readFileSync(stdio.path, 'utf8')) as {
    mcpServers: {
      baton: { type: string; command: string; args: string[]; env: Record<string, string> };
    };
  };
  const s = file.mcpServers.baton;
  expect(s.type).toBe('stdio');
  expect(s.command).toBe(process.execPath);
  expect(s.args.slice(-3)).toEqual(['mcp', '--namespace', 'default']);
  expect(s.env.BATON_MCP_TOKEN).toBe(stdio.token);
  expect(s.env.BATON_MCP_KEY_FILE).toBe(keyFile);
  expect(s.env.BATON_STORE).toBe(`sqlite:${join(process.cwd(), 'rel/baton.db')}`);
  expect(verifyAttemptToken(stdio.token, resolveMcpKey({ keyFile, env: {} }))).toMatchObject({
    token: 5,
    attempt: 2,
  });
  expect(stdio.codexArgs[1]).toBe(`mcp_servers.baton.command=${JSON.stringify(process.execPath)}`);
  const http = writeMcpConfig({
    attempt,
    dir: join(dir, 'h'),
    keyFile,
    transport: { kind: 'http', url: 'http://127.0.0.1:7400/mcp' },
    env: {},
  });
  const h = (JSON.parse(readFileSync(http.path, 'utf8')) as { mcpServers: { baton: unknown } })
    .mcpServers.baton;
  expect(h).toEqual({
    type: 'http',
    url: 'http://127.0.0.1:7400/mcp',
    headers: { Authorization: `Bearer ${http.token}` },
  });
  expect(http.codexArgs).toEqual([]);
});

it('baton mcp refuses a token that does not verify, before it opens the store', async () => {
  const { execFile } = await import('node:child_process');
  const { existsSync } = await import('node:fs');
  const bin = new URL('../../bin/baton.js', import.meta.url).pathname;
  const key = resolveMcpKey({ keyFile: join(dir, 'mcp.key'), create: true, env: {} });
  const forged = mintAttemptToken(grant, Buffer.from('not the key of this store, but long enough'));
  expect(verifyAttemptToken(mintAttemptToken(grant, key), key)).toEqual(grant);
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, 'mcp', '--store', `sqlite:${join(dir, 'store.db')}`],
      {
        env: {
          PATH: process.env.PATH,
          BATON_MCP_TOKEN: forged,
          BATON_MCP_KEY_FILE: join(dir, 'mcp.key'),
        },
      },
      (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(
    'error: BATON_UNAUTHORIZED: the attempt token is not valid: its signature does not match',
  );
  expect(result.stderr).not.toContain(forged);
  expect(existsSync(join(dir, 'store.db'))).toBe(false);
});
