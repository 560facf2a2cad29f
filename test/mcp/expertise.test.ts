/**
 * The expertise tools through the official SDK's Client, over stdio (`baton mcp` from the
 * configuration `writeMcpConfig` wrote) and over Streamable HTTP (`/mcp` of a real server),
 * against a real SQLite store and a real expertise file: `get_expertise` reads a domain's file,
 * `add_learning` merges into it under the learning loop's lease with the attempt as provenance,
 * and the version it wrote is kept in the store;
 * an unknown domain, a bad domain name and a malformed or empty learning are refused with a clear
 * error, and the file is unchanged.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Lease } from '../../src/core/types.ts';
import { writeMcpConfig, type McpConfigFile } from '../../src/mcp/config.ts';
import { Baton } from '../../src/runtime/baton.ts';
import { startServer } from '../server/harness.ts';
import { call, http, stdio } from './harness.ts';

interface World {
  dir: string;
  store: string;
  keyFile: string;
  baton: Baton;
  lease: Lease;
  config: McpConfigFile;
  /** The api domain's file. */
  file: string;
}

async function world(): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'baton-mcp-exp-'));
  const store = `sqlite:${join(dir, 'baton.db')}`;
  const baton = await Baton.open(store);
  const b = baton.backend;
  const agent = await b.registerAgent({ id: 'agt_exp', capabilities: [], concurrency: 1 });
  const run = await baton.submitRun({ name: 'exp', tasks: [{ key: 'work', type: 'x' }] });
  const [lease] = await b.claim({
    agentId: agent.id,
    capabilities: [],
    types: ['x'],
    max: 1,
    leaseTtlMs: 60_000,
  });
  // The repository: its expertise, and the task's worktree inside it (the sandbox).
  const repo = join(dir, 'repo');
  mkdirSync(join(repo, '.git'), { recursive: true });
  const file = join(repo, '.baton', 'expertise', 'api.yaml');
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(
    file,
    'domain: api\noverview: The HTTP API\npatterns:\n  - Handlers live in src/api/\n',
  );
  const sandbox = join(repo, 'work');
  mkdirSync(sandbox);
  const keyFile = join(dir, 'mcp.key');
  const config = writeMcpConfig({
    attempt: {
      runId: run.runId,
      taskId: lease!.taskId,
      attempt: lease!.attempt,
      token: lease!.token,
      agentId: agent.id,
    },
    dir: join(dir, 'agent'),
    store,
    sandbox,
    keyFile,
    env: {},
  });
  return { dir, store, keyFile, baton, lease: lease!, config, file };
}

describe.each([
  ['stdio', stdio],
  ['http', http],
] as const)('expertise tools over %s', (_name, connect) => {
  let w: World;
  let client: Client;
  let close: () => Promise<void>;

  beforeAll(async () => {
    w = await world();
    ({ client, close } = await connect(w));
  }, 30_000);

  afterAll(async () => {
    await close?.();
    await w?.baton.close();
    if (w) await rm(w.dir, { recursive: true, force: true });
  });

  it('get_expertise only reads; add_learning writes', async () => {
    const { tools } = await client.listTools();
    const hint = (name: string) => tools.find((t) => t.name === name)?.annotations?.readOnlyHint;
    expect(hint('get_expertise')).toBe(true);
    expect(hint('add_learning')).toBe(false);
  });

  it("get_expertise reads the domain's file of the task's repository", async () => {
    const got = await call(client, 'get_expertise', { domain: 'api' });
    expect(got.isError).toBe(false);
    expect(got.data).toMatchObject({ domain: 'api', lines: 4 });
    expect(got.data.text).toContain('Handlers live in src/api/');
  });

  it('add_learning merges under the lease, with the attempt as provenance', async () => {
    const added = await call(client, 'add_learning', {
      domain: 'api',
      patterns: ['Routes are registered in src/api/routes.ts', 'Handlers live in src/api/'],
      learned_from_failures: [{ issue: 'Port in use', solution: 'Use port 0 in tests' }],
    });
    expect(added.isError, added.text).toBe(false);
    const from = `${w.lease.taskId}#${w.lease.attempt}`;
    expect(added.data).toMatchObject({ domain: 'api', from, added: 2, reused: 1 });
    const text = readFileSync(w.file, 'utf8');
    expect(text).toContain('Routes are registered in src/api/routes.ts');
    expect(text).toContain(`from: ${from}`);
    expect(text).toContain('solution: Use port 0 in tests');
    // The version it wrote is in the store, with its provenance.
    const versions = await w.baton.backend.expertiseVersions('api');
    expect(versions.map((v) => [v.version, v.source, v.origin, v.text])).toEqual([
      [1, 'add_learning', from, text],
    ]);
    // The second read shows it.
    const got = await call(client, 'get_expertise', { domain: 'api' });
    expect(got.data.text).toContain('Routes are registered in src/api/routes.ts');
  });

  it('refuses an unknown domain, a bad name, a malformed or empty learning; the file is unchanged', async () => {
    const before = readFileSync(w.file, 'utf8');
    const unknown = await call(client, 'get_expertise', { domain: 'billing' });
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toMatch(/^BATON_NOT_FOUND: get_expertise: the domain 'billing' has no/);
    for (const args of [
      { domain: '../api', patterns: ['x'] },
      { domain: 'api', patterns: 'not a list' },
      { domain: 'api', patterns: [''] },
      { domain: 'api', learned_from_failures: [{ issue: 'no solution' }] },
      { domain: 'api', notes: ['an unknown field'] },
    ]) {
      const r = await call(client, 'add_learning', args);
      expect(r.isError, JSON.stringify(args)).toBe(true);
    }
    const empty = await call(client, 'add_learning', { domain: 'api' });
    expect(empty.text).toMatch(/^BATON_VALIDATION: .*give at least one entry/);
    const bad = await call(client, 'get_expertise', { domain: '../../etc/passwd' });
    expect(bad.isError).toBe(true);
    expect(bad.text).toContain('a domain is lowercase letters');
    expect(readFileSync(w.file, 'utf8')).toBe(before);
    expect(await w.baton.backend.expertiseVersions('api'), 'no version recorded').toHaveLength(1);
  });
});

describe('a fenced-out attempt, and a client without an attempt', () => {
  it('cannot add_learning: refused, the file and the store unchanged', async () => {
    const w = await world();
    const { client, close } = await stdio(w);
    try {
      const b = w.baton.backend;
      await b.release([{ taskId: w.lease.taskId, token: w.lease.token, agentId: 'agt_exp' }]);
      const [again] = await b.claim({
        agentId: 'agt_exp',
        capabilities: [],
        types: ['x'],
        max: 1,
        leaseTtlMs: 60_000,
      });
      expect(again?.taskId).toBe(w.lease.taskId);
      const before = readFileSync(w.file, 'utf8');
      const late = await call(client, 'add_learning', { domain: 'api', patterns: ['too late'] });
      expect(late.isError).toBe(true);
      expect(late.text).toMatch(/^BATON_LEASE_LOST: /);
      expect(readFileSync(w.file, 'utf8')).toBe(before);
      expect(await b.expertiseVersions('api')).toEqual([]);
      // Reading is still allowed.
      expect((await call(client, 'get_expertise', { domain: 'api' })).isError).toBe(false);
    } finally {
      await close();
      await w.baton.close();
      await rm(w.dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('a client (an API token over HTTP) reads expertise but cannot add_learning', async () => {
    const w = await world();
    const server = await startServer({
      store: w.store,
      env: { BATON_MCP_KEY_FILE: w.keyFile },
      tokens: [{ token: 'reader', scopes: ['read', 'work'] }],
      expertiseDir: join(w.dir, 'repo'),
    });
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { Authorization: 'Bearer reader' } },
      }),
    );
    try {
      const got = await call(client, 'get_expertise', { domain: 'api' });
      expect(got.isError, got.text).toBe(false);
      expect(got.data.text).toContain('Handlers live in src/api/');
      const add = await call(client, 'add_learning', { domain: 'api', patterns: ['x'] });
      expect(add.text).toMatch(/^BATON_UNAUTHORIZED: add_learning works inside a task/);
      expect(await w.baton.backend.expertiseVersions('api')).toEqual([]);
    } finally {
      await client.close();
      await server.close();
      await w.baton.close();
      await rm(w.dir, { recursive: true, force: true });
    }
  }, 30_000);
});
