/**
 * Baton's MCP tools through the official SDK's Client, over stdio (`baton mcp` launched from the
 * configuration `writeMcpConfig` wrote, as an agent would) and over Streamable HTTP (`/mcp` of a
 * real server), against a real SQLite store: list the tools, call each, check the effect in the
 * store; then the refusals (sandbox escapes, SQL that is not one read-only SELECT, another run,
 * a fenced-out attempt), each a clear MCP error that changes nothing.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
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

async function refused(client: Client, name: string, args: Record<string, unknown>, code: string) {
  const r = await call(client, name, args);
  expect(r.isError, `${name} ${JSON.stringify(args)} is refused`).toBe(true);
  expect(r.text.startsWith(`${code}: `), `${r.text} starts with ${code}`).toBe(true);
  return r;
}

function keysOf(items: unknown): string[] {
  return (items as { key: string }[]).map((item) => item.key);
}

const TOOLS = [
  'add_learning',
  'delete_state',
  'get_dependency_results',
  'get_expertise',
  'get_state',
  'get_task',
  'list_files',
  'list_state',
  'list_tasks',
  'query',
  'read_file',
  'report_progress',
  'set_state',
  'submit_tasks',
  'write_file',
];

interface World {
  dir: string;
  store: string;
  keyFile: string;
  filesRoot: string;
  baton: Baton;
  runId: string;
  otherRunId: string;
  lease: Lease;
  config: McpConfigFile;
  /** A file outside every sandbox, that no refused call may change. */
  outside: string;
}

async function world(): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'baton-mcp-'));
  const store = `sqlite:${join(dir, 'baton.db')}`;
  const baton = await Baton.open(store);
  const b = baton.backend;
  const agent = await b.registerAgent({ id: 'agt_mcp', capabilities: [], concurrency: 4 });
  const run = await baton.submitRun({
    name: 'mcp',
    tasks: [
      { key: 'prep', type: 'x' },
      { key: 'main', type: 'x', dependsOn: ['prep'] },
    ],
  });
  const other = await baton.submitRun({ name: 'other', tasks: [{ key: 'secret', type: 'y' }] });
  await b.setState({ scope: `run:${other.runId}`, key: 'plan', value: 'theirs' });
  const [prep] = await b.claim({
    agentId: agent.id,
    capabilities: [],
    types: ['x'],
    max: 1,
    leaseTtlMs: 60_000,
  });
  await b.complete([
    { taskId: prep!.taskId, token: prep!.token, agentId: agent.id, result: { rows: 42 } },
  ]);
  const [lease] = await b.claim({
    agentId: agent.id,
    capabilities: [],
    types: ['x'],
    max: 1,
    leaseTtlMs: 60_000,
  });
  const keyFile = join(dir, 'mcp.key');
  const filesRoot = join(dir, 'files');
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
    filesRoot,
    keyFile,
    env: {},
  });
  // The other task's folder, readable by this attempt.
  mkdirSync(join(filesRoot, run.runId, prep!.taskId), { recursive: true });
  writeFileSync(join(filesRoot, run.runId, prep!.taskId, 'out.txt'), 'from prep');
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'keep me');
  return {
    dir,
    store,
    keyFile,
    filesRoot,
    baton,
    runId: run.runId,
    otherRunId: other.runId,
    lease: lease!,
    config,
    outside,
  };
}

describe.each([
  ['stdio', stdio],
  ['http', http],
] as const)('MCP tools over %s', (_name, connect) => {
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

  it('lists every tool, with readOnlyHint on the ones that only read', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    const hint = (name: string) => tools.find((t) => t.name === name)?.annotations?.readOnlyHint;
    for (const name of [
      'get_task',
      'list_tasks',
      'get_state',
      'list_state',
      'read_file',
      'list_files',
      'query',
    ])
      expect(hint(name), name).toBe(true);
    for (const name of ['set_state', 'delete_state', 'write_file', 'submit_tasks'])
      expect(hint(name), name).toBe(false);
    const setState = tools.find((t) => t.name === 'set_state')!;
    expect(Object.keys(setState.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['key', 'value', 'ttlMs', 'expectedVersion']),
    );
  });

  it("shared state: set, get, compare-and-set, list, delete, in the run's scope of the store", async () => {
    const b = w.baton.backend;
    const set = await call(client, 'set_state', {
      key: 'plan',
      value: { step: 1 },
      expectedVersion: 0,
    });
    expect(set.isError, set.text).toBe(false);
    expect(set.data).toMatchObject({ key: 'plan', value: { step: 1 }, version: 1 });
    expect(await b.getState(`run:${w.runId}`, 'plan'), 'stored in the run scope').toMatchObject({
      value: { step: 1 },
      version: 1,
    });
    const got = await call(client, 'get_state', { key: 'plan' });
    expect(got.data).toMatchObject({ found: true, value: { step: 1 }, version: 1 });
    const clash = await refused(
      client,
      'set_state',
      { key: 'plan', value: 'mine', expectedVersion: 0 },
      'BATON_CONFLICT',
    );
    expect(clash.text).toContain('its version is 1');
    await call(client, 'set_state', {
      key: 'plan',
      value: { step: 2 },
      expectedVersion: 1,
      ttlMs: 60_000,
    });
    const entry = await b.getState(`run:${w.runId}`, 'plan');
    expect(entry).toMatchObject({ value: { step: 2 }, version: 2 });
    expect(entry?.expiresAt).not.toBeNull();
    await call(client, 'set_state', { key: 'notes', value: 'n' });
    const listed = await call(client, 'list_state', {});
    expect(keysOf(listed.data.entries)).toEqual(['notes', 'plan']);
    const del = await call(client, 'delete_state', { key: 'notes' });
    expect(del.data).toEqual({ key: 'notes', deleted: true });
    expect(await b.getState(`run:${w.runId}`, 'notes')).toBeNull();
    expect((await call(client, 'get_state', { key: 'notes' })).data).toEqual({
      key: 'notes',
      found: false,
    });
  });

  it('tasks: get, list, dependency results, submit into the run, report progress', async () => {
    const b = w.baton.backend;
    const task = await call(client, 'get_task', { task: 'main' });
    expect(task.data.task).toMatchObject({ id: w.lease.taskId, state: 'running', key: 'main' });
    const list = await call(client, 'list_tasks', { state: 'succeeded' });
    expect(keysOf(list.data.tasks)).toEqual(['prep']);
    const deps = await call(client, 'get_dependency_results', {});
    expect(deps.data.dependencies.prep).toMatchObject({ state: 'succeeded', result: { rows: 42 } });
    const submitted = await call(client, 'submit_tasks', {
      tasks: [
        { key: 'fan-1', type: 'x', payload: { n: 1 } },
        { key: 'join', type: 'x', dependsOn: ['fan-1', 'main'] },
      ],
    });
    expect(submitted.isError, submitted.text).toBe(false);
    const inRun = (await b.listTasks({ runId: w.runId })).tasks.map((t) => [t.key, t.state]);
    expect(inRun).toEqual(
      expect.arrayContaining([
        ['fan-1', 'ready'],
        ['join', 'blocked'],
      ]),
    );
    const bad = await refused(
      client,
      'submit_tasks',
      { tasks: [{ key: 'loop', type: 'x', dependsOn: ['nope'] }] },
      'BATON_VALIDATION',
    );
    expect(bad.text).toContain('nope');
    // A task naming a workspace (a repository path on this machine) is Baton's to stamp, never a
    // client's: refused, and nothing stored.
    const before = (await b.listTasks({ runId: w.runId })).tasks.length;
    const planted = await refused(
      client,
      'submit_tasks',
      { tasks: [{ key: 'planted', type: 'shell', payload: { workspace: { repo: '/etc' } } }] },
      'BATON_VALIDATION',
    );
    expect(planted.text).toContain('tasks[0].payload.workspace');
    expect((await b.listTasks({ runId: w.runId })).tasks).toHaveLength(before);
    const progress = await call(client, 'report_progress', { message: 'halfway', percent: 50 });
    expect(progress.isError, progress.text).toBe(false);
    const logs = await b.readLogs({ taskId: w.lease.taskId });
    expect(logs.lines.map((l) => l.text)).toContain('[50%] halfway');
  });

  it("files: write, read, list in the task's sandbox; read another task's folder of the run", async () => {
    const wrote = await call(client, 'write_file', { path: 'notes/today.md', content: '# hi\n' });
    expect(wrote.isError, wrote.text).toBe(false);
    expect(readFileSync(join(w.config.sandbox, 'notes', 'today.md'), 'utf8')).toBe('# hi\n');
    expect((await call(client, 'read_file', { path: 'notes/today.md' })).data.content).toBe(
      '# hi\n',
    );
    const listed = await call(client, 'list_files', {});
    expect(listed.data.entries).toEqual([{ name: 'notes', type: 'directory' }]);
    const theirs = await call(client, 'read_file', { path: 'out.txt', task: 'prep' });
    expect(theirs.data.content).toBe('from prep');
    // write_file takes no task: another task's folder is read-only (the argument is refused).
    const strict = await call(client, 'write_file', {
      path: 'out.txt',
      content: 'x',
      task: 'prep',
    });
    expect(strict.isError).toBe(true);
    expect(strict.text).toContain('Unrecognized key: "task"');
    expect(existsSync(join(w.config.sandbox, 'out.txt'))).toBe(false);
    const prepId = (await w.baton.backend.listTasks({ runId: w.runId })).tasks.find(
      (t) => t.key === 'prep',
    )!.id;
    expect(readFileSync(join(w.filesRoot, w.runId, prepId, 'out.txt'), 'utf8')).toBe('from prep');
  });

  it("query: one SELECT over the views, the attempt's run only", async () => {
    const q = await call(client, 'query', { sql: 'SELECT key, state FROM tasks ORDER BY key' });
    expect(q.isError, q.text).toBe(false);
    const keys = keysOf(q.data.rows);
    expect(keys).toContain('main');
    expect(keys, "another run's task is not visible").not.toContain('secret');
    const runs = await call(client, 'query', { sql: 'SELECT id FROM runs' });
    expect(runs.data.rows).toEqual([{ id: w.runId }]);
    const joined = await call(client, 'query', {
      sql: 'SELECT t.key, a.outcome FROM attempts a JOIN tasks t ON t.id = a.task_id WHERE t.key = ?',
      params: ['prep'],
    });
    expect(joined.data.rows).toEqual([{ key: 'prep', outcome: 'succeeded' }]);
  });

  describe('refusals change nothing', () => {
    it('path traversal, absolute paths, symlink escapes (made after the sandbox) and writes through a symlinked parent', async () => {
      await call(client, 'write_file', { path: 'seed.txt', content: 'the sandbox exists' });
      await refused(client, 'read_file', { path: '../../outside/secret.txt' }, 'BATON_SANDBOX');
      await refused(client, 'write_file', { path: '../escape.txt', content: 'x' }, 'BATON_SANDBOX');
      await refused(client, 'list_files', { path: 'a/../..' }, 'BATON_SANDBOX');
      await refused(client, 'read_file', { path: join(w.outside, 'secret.txt') }, 'BATON_SANDBOX');
      await refused(
        client,
        'write_file',
        { path: '/tmp/baton-mcp-escape.txt', content: 'x' },
        'BATON_SANDBOX',
      );
      // Symlinks made now, after the sandbox was created.
      symlinkSync(join(w.outside, 'secret.txt'), join(w.config.sandbox, 'link.txt'));
      symlinkSync(w.outside, join(w.config.sandbox, 'outdir'));
      const read = await refused(client, 'read_file', { path: 'link.txt' }, 'BATON_SANDBOX');
      expect(read.text).toContain('outside the sandbox');
      await refused(client, 'read_file', { path: 'outdir/secret.txt' }, 'BATON_SANDBOX');
      await refused(client, 'list_files', { path: 'outdir' }, 'BATON_SANDBOX');
      const through = await refused(
        client,
        'write_file',
        { path: 'link.txt', content: 'overwritten' },
        'BATON_SANDBOX',
      );
      expect(through.text).toContain('symlink');
      const parent = await refused(
        client,
        'write_file',
        { path: 'outdir/new.txt', content: 'x' },
        'BATON_SANDBOX',
      );
      expect(parent.text).toContain('symlink');
      expect(readFileSync(join(w.outside, 'secret.txt'), 'utf8')).toBe('keep me');
      expect(existsSync(join(w.outside, 'new.txt'))).toBe(false);
      expect(existsSync(join(w.dir, 'escape.txt'))).toBe(false);
      expect(existsSync('/tmp/baton-mcp-escape.txt')).toBe(false);
    });

    it('SQL writes, ATTACH, PRAGMA, a second statement, internal tables', async () => {
      const b = w.baton.backend;
      const before = (await b.listTasks({ runId: w.runId })).tasks.length;
      for (const sql of [
        'DELETE FROM tasks',
        "UPDATE tasks SET state = 'failed'",
        "INSERT INTO runs (id) VALUES ('x')",
        `ATTACH DATABASE '${join(w.dir, 'evil.db')}' AS evil`,
        'PRAGMA journal_mode = DELETE',
        'PRAGMA user_version',
        'SELECT 1; DELETE FROM tasks',
        'SELECT * FROM main.tasks',
        'SELECT * FROM baton_tasks',
        'SELECT * FROM sqlite_master',
        "SELECT * FROM pragma_table_info('tasks')",
        'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c',
        'DROP VIEW tasks',
      ]) {
        const r = await refused(client, 'query', { sql }, 'BATON_SQL_REFUSED');
        expect(r.text.length, sql).toBeGreaterThan(30);
      }
      const second = await refused(
        client,
        'query',
        { sql: 'SELECT 1; DELETE FROM tasks' },
        'BATON_SQL_REFUSED',
      );
      expect(second.text).toContain('several statements');
      expect((await b.listTasks({ runId: w.runId })).tasks.length).toBe(before);
      expect(existsSync(join(w.dir, 'evil.db'))).toBe(false);
    });

    it("another run's state, tasks and files", async () => {
      const b = w.baton.backend;
      const r = await refused(
        client,
        'get_state',
        { key: 'plan', run: w.otherRunId },
        'BATON_FORBIDDEN',
      );
      expect(r.text).toContain('own run');
      await refused(
        client,
        'set_state',
        { key: 'plan', value: 'mine', run: w.otherRunId },
        'BATON_FORBIDDEN',
      );
      await refused(
        client,
        'set_state',
        { key: 'plan', value: 'mine', namespace: 'team' },
        'BATON_FORBIDDEN',
      );
      const secret = (await b.listTasks({ runId: w.otherRunId })).tasks[0]!;
      await refused(client, 'get_task', { task: secret.id }, 'BATON_FORBIDDEN');
      await refused(client, 'read_file', { path: 'x', task: secret.id }, 'BATON_FORBIDDEN');
      await refused(
        client,
        'submit_tasks',
        { tasks: [{ type: 'x' }], run: w.otherRunId },
        'BATON_FORBIDDEN',
      );
      expect(await b.getState(`run:${w.otherRunId}`, 'plan')).toMatchObject({
        value: 'theirs',
        version: 1,
      });
      expect((await b.listTasks({ runId: w.otherRunId })).tasks).toHaveLength(1);
    });
  });
});

describe('a fenced-out attempt', () => {
  it('cannot set_state, write files or submit once its lease was given back and the task leased again', async () => {
    const w = await world();
    const { client, close } = await stdio(w);
    try {
      const b = w.baton.backend;
      expect((await call(client, 'set_state', { key: 'k', value: 1 })).isError).toBe(false);
      await b.release([{ taskId: w.lease.taskId, token: w.lease.token, agentId: 'agt_mcp' }]);
      const [again] = await b.claim({
        agentId: 'agt_mcp',
        capabilities: [],
        types: ['x'],
        max: 1,
        leaseTtlMs: 60_000,
      });
      expect(again?.taskId).toBe(w.lease.taskId);
      const r = await refused(client, 'set_state', { key: 'k', value: 2 }, 'BATON_LEASE_LOST');
      expect(r.text).toContain('not the current one');
      await refused(client, 'delete_state', { key: 'k' }, 'BATON_LEASE_LOST');
      await refused(client, 'write_file', { path: 'late.txt', content: 'x' }, 'BATON_LEASE_LOST');
      await refused(
        client,
        'submit_tasks',
        { tasks: [{ type: 'x', key: 'late' }] },
        'BATON_LEASE_LOST',
      );
      expect(await b.getState(`run:${w.runId}`, 'k')).toMatchObject({ value: 1, version: 1 });
      expect(existsSync(join(w.config.sandbox, 'late.txt'))).toBe(false);
      expect((await b.listTasks({ runId: w.runId })).tasks.map((t) => t.key)).not.toContain('late');
      // Reads still work: the run is still its run.
      expect((await call(client, 'get_state', { key: 'k' })).data).toMatchObject({ value: 1 });
    } finally {
      await close();
      await w.baton.close();
      await rm(w.dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('/mcp authentication', () => {
  it('refuses a forged attempt token with 401, and checks API token scopes per tool', async () => {
    const w = await world();
    const server = await startServer({
      store: w.store,
      env: { BATON_MCP_KEY_FILE: w.keyFile },
      tokens: [{ token: 'reader-token-0123456789', scopes: ['read'] }],
    });
    try {
      const [head, body, mac] = w.config.token.split('.');
      const payload = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      payload.runId = w.otherRunId;
      const forged = `${head}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${mac}`;
      const forgedClient = new Client({ name: 'forger', version: '1' });
      await expect(
        forgedClient.connect(
          new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
            requestInit: { headers: { Authorization: `Bearer ${forged}` } },
          }),
        ),
      ).rejects.toThrow(/401|signature/);
      const reader = new Client({ name: 'reader', version: '1' });
      const readerTransport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { Authorization: 'Bearer reader-token-0123456789' } },
      });
      await reader.connect(readerTransport);
      // A session answers only the credential that opened it.
      const hijack = await fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${w.config.token}`,
          'mcp-session-id': readerTransport.sessionId!,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(hijack.status).toBe(404);
      const got = await call(reader, 'get_state', { key: 'plan', run: w.otherRunId });
      expect(got.data).toMatchObject({ value: 'theirs' });
      const q = await call(reader, 'query', { sql: 'SELECT count(*) AS n FROM tasks' });
      expect(q.data.rows).toEqual([{ n: 3 }]);
      await refused(
        reader,
        'set_state',
        { key: 'plan', value: 'x', run: w.otherRunId },
        'BATON_FORBIDDEN',
      );
      await refused(reader, 'write_file', { path: 'x', content: 'x' }, 'BATON_UNAUTHORIZED');
      expect(await w.baton.backend.getState(`run:${w.otherRunId}`, 'plan')).toMatchObject({
        value: 'theirs',
      });
      await reader.close();
    } finally {
      await server.close();
      await w.baton.close();
      await rm(w.dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('query caps', () => {
  it('cuts rows at maxRows and stops a query past its time', async () => {
    const w = await world();
    const { client, close } = await stdio(w);
    try {
      const many = await call(client, 'query', { sql: 'SELECT key FROM tasks', maxRows: 1 });
      expect(many.data).toMatchObject({ rows: [{ key: expect.any(String) }], truncated: true });
      // A 25-fold cross join of the tasks: far more rows than the deadline lets through.
      const slow = await refused(
        client,
        'query',
        {
          sql: 'SELECT count(*) FROM tasks a, tasks b, tasks c, tasks d, tasks e, tasks f, tasks g, tasks h, tasks i, tasks j, tasks k, tasks l, tasks m, tasks n, tasks o, tasks p, tasks q, tasks r, tasks s, tasks t, tasks u, tasks v, tasks x, tasks y, tasks z',
        },
        'BATON_SQL_REFUSED',
      );
      expect(slow.text).toContain('ran longer than');
    } finally {
      await close();
      await w.baton.close();
      await rm(w.dir, { recursive: true, force: true });
    }
  }, 30_000);
});
