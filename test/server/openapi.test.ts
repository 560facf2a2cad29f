/**
 * Contract tests: every route's real responses (successes and errors) must match the OpenAPI
 * document the server serves, checked with a JSON Schema 2020-12 validator (the ajv 8 that
 * Fastify ships).
 */
import { createRequire } from 'node:module';

import { afterEach, describe, expect, it } from 'vitest';

import { ROUTES } from '../../src/server/openapi.ts';
import { closeAll, startServer, type TestServer } from './harness.ts';
import { rawRequest } from './raw-http.ts';

afterEach(closeAll);

// Fastify's own ajv 8 (the top-level ajv is eslint's ajv 6).
const requireFromFastify = createRequire(require_resolve('@fastify/ajv-compiler'));
function require_resolve(id: string): string {
  return createRequire(import.meta.url).resolve(id);
}
type Validate = ((data: unknown) => boolean) & { errors?: unknown };
interface AjvLike {
  addSchema(schema: object, key: string): void;
  getSchema(ref: string): Validate | undefined;
}
const Ajv2020 = (requireFromFastify('ajv/dist/2020') as { default: new (o: object) => AjvLike })
  .default;

interface Doc {
  paths: Record<
    string,
    Record<
      string,
      { responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> }
    >
  >;
}

function validatorFor(
  doc: Doc,
): (path: string, method: string, status: number, body: unknown) => void {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(doc, 'openapi.json');
  return (path, method, status, body) => {
    const response = doc.paths[path]?.[method]?.responses[String(status)];
    expect(response, `${method.toUpperCase()} ${path} documents status ${status}`).toBeDefined();
    const ref = response!.content?.['application/json']?.schema?.$ref;
    expect(ref, `${method} ${path} ${status} has a JSON schema`).toBeDefined();
    const validate = ajv.getSchema(`openapi.json${ref!}`);
    expect(validate).toBeDefined();
    const ok = validate!(body);
    expect(ok ? null : validate!.errors, `${method.toUpperCase()} ${path} → ${status}`).toBeNull();
  };
}

/** `GET /v1/tasks/{id}`-style lines for every operation of the document. */
function documentedRoutes(doc: Doc): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

/**
 * The same for the routes the server registered (Fastify's route tree), without HEAD (implied by
 * GET), CORS's OPTIONS, the document itself and /mcp.
 */
function servedRoutes(s: TestServer): string[] {
  const tree = s.app.printRoutes({ commonPrefix: false });
  const prefixes: string[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const path = (prefixes[depth - 1] ?? '') + match[2]!;
    prefixes[depth] = path;
    for (const method of (match[3] ?? '').split(', ').filter((m) => m !== '' && m !== 'HEAD')) {
      // /mcp speaks JSON-RPC (the Model Context Protocol, docs/mcp.md), not this REST API.
      if (path === '/openapi.json' || path === '/mcp') continue;
      routes.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return routes.sort();
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1, lists every route, and every real response matches it', async () => {
    const s: TestServer = await startServer({
      tokens: [
        { token: 'all', scopes: ['admin'] },
        { token: 'reader', scopes: ['read'] },
      ],
    });
    const docRes = await s.request('GET', '/openapi.json');
    expect(docRes.status).toBe(200);
    const doc = docRes.body as Doc & { openapi: string };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(ROUTES).sort());
    // …and the routes are the ones the server serves, both ways.
    expect(documentedRoutes(doc)).toEqual(servedRoutes(s));
    const check = validatorFor(doc);
    const auth = { authorization: 'Bearer all' };
    const seen = new Set<string>();
    const call = async (
      method: string,
      url: string,
      path: string,
      o: {
        body?: unknown;
        raw?: string;
        contentType?: string;
        headers?: Record<string, string>;
      } = {},
    ) => {
      const res = await s.request(method, url, { headers: auth, ...o });
      check(path, method.toLowerCase(), res.status, res.body);
      seen.add(`${method.toLowerCase()} ${path} ${res.status}`);
      return res;
    };

    await s.baton.backend.registerAgent({
      id: 'agt_c',
      capabilities: ['x'],
      concurrency: 1,
      labels: { zone: 'a' },
    });
    const task = await call('POST', '/v1/tasks', '/v1/tasks', {
      body: { type: 'echo', payload: { a: [1, 'b', null] } },
    });
    expect(task.status).toBe(201);
    const run = await call('POST', '/v1/runs', '/v1/runs', {
      body: {
        name: 'r',
        tasks: [
          { key: 'a', type: 'echo' },
          { key: 'b', type: 'echo', dependsOn: [{ key: 'a', soft: true }] },
        ],
      },
    });
    // Run a task to completion and one to failure, so attempts, results and errors are filled.
    const [lease] = await s.baton.backend.claim({
      agentId: 'agt_c',
      capabilities: ['x'],
      max: 1,
      leaseTtlMs: 30_000,
    });
    await s.baton.backend.fail([
      {
        taskId: lease!.taskId,
        token: lease!.token,
        agentId: lease!.agentId,
        error: { message: 'boom', code: 'E' },
      },
    ]);

    await s.baton.backend.appendLogs([
      {
        taskId: lease!.taskId,
        token: lease!.token,
        agentId: lease!.agentId,
        lines: [
          { text: 'out', stream: 'stdout' },
          { text: 'Traceback', level: 'error' },
        ],
      },
    ]);
    await call('GET', `/v1/tasks/${lease!.taskId}/logs?attempt=1&limit=1`, '/v1/tasks/{id}/logs');
    await call('GET', `/v1/tasks/${lease!.taskId}/logs?stream=sideways`, '/v1/tasks/{id}/logs');
    await call('GET', '/v1/tasks/tsk_missing/logs', '/v1/tasks/{id}/logs');
    await call('GET', '/v1/logs?agent=agt_c&level=warn&since=2000-01-01T00:00:00Z', '/v1/logs');
    await call('GET', '/v1/logs?level=loud', '/v1/logs');
    await call('GET', `/v1/tasks/${lease!.taskId}`, '/v1/tasks/{id}');
    await call('GET', `/v1/tasks/${lease!.taskId}/usage`, '/v1/tasks/{id}/usage');
    await call('GET', '/v1/tasks/tsk_missing/usage', '/v1/tasks/{id}/usage');
    await call('GET', '/v1/tasks?limit=2', '/v1/tasks');
    await call('GET', '/v1/runs', '/v1/runs');
    await call('GET', `/v1/runs/${run.body.runId as string}`, '/v1/runs/{id}');
    await call('GET', '/v1/agents', '/v1/agents');
    await call('GET', '/v1/agents/available?capability=x', '/v1/agents/available');
    await call('GET', '/v1/stats', '/v1/stats');
    await call('GET', `/v1/costs?run=${run.body.runId as string}&by=model`, '/v1/costs');
    await call('GET', '/v1/costs', '/v1/costs');
    await call('GET', '/v1/costs?by=planet', '/v1/costs');
    await call('GET', '/v1/costs?run=run_missing', '/v1/costs');
    await call('GET', '/health', '/health');
    await call('POST', `/v1/tasks/${task.body.id as string}/cancel`, '/v1/tasks/{id}/cancel', {
      body: {},
    });
    await call('POST', `/v1/runs/${run.body.runId as string}/cancel`, '/v1/runs/{id}/cancel');
    // Retry a task that failed for good; again, once it is no longer failed (409).
    const doomed = await s.baton.submit({ type: 'echo', maxAttempts: 1 });
    const [last] = await s.baton.backend.claim({
      agentId: 'agt_c',
      capabilities: ['x'],
      max: 1,
      leaseTtlMs: 30_000,
    });
    expect(last?.taskId).toBe(doomed.id);
    await s.baton.backend.fail([
      { taskId: doomed.id, token: last!.token, agentId: last!.agentId, error: { message: 'x' } },
    ]);
    await call('POST', `/v1/tasks/${doomed.id}/retry`, '/v1/tasks/{id}/retry', {
      body: { reason: 'fixed' },
    });
    await call('POST', `/v1/tasks/${doomed.id}/retry`, '/v1/tasks/{id}/retry');
    await s.baton.cancel(doomed.id);

    // The worker protocol.
    const agent = await call('POST', '/v1/agents', '/v1/agents', {
      body: { name: 'w', capabilities: ['y'], concurrency: 1 },
    });
    const agentId = agent.body.id as string;
    await call('POST', `/v1/agents/${agentId}/heartbeat`, '/v1/agents/{id}/heartbeat', {
      body: {},
    });
    await s.baton.submit({ type: 'work', requires: ['y'] });
    await s.baton.submit({ type: 'work', requires: ['y'] });
    const claimed = await call('POST', `/v1/agents/${agentId}/claim`, '/v1/agents/{id}/claim', {
      body: { max: 2 },
    });
    const held = claimed.body.leases[0] as { taskId: string; token: number };
    const deferred = claimed.body.leases[1] as { taskId: string; token: number };
    await call('POST', `/v1/leases/${deferred.taskId}/release`, '/v1/leases/{taskId}/release', {
      body: { token: deferred.token, agentId, delayMs: -1 },
    });
    await call('POST', `/v1/leases/${deferred.taskId}/release`, '/v1/leases/{taskId}/release', {
      body: { token: deferred.token, agentId, delayMs: 5_000, reason: 'busy' },
    });
    await call('POST', `/v1/leases/${deferred.taskId}/release`, '/v1/leases/{taskId}/release', {
      body: { token: deferred.token, agentId },
    });
    await call('POST', `/v1/leases/${held.taskId}/renew`, '/v1/leases/{taskId}/renew', {
      body: { token: held.token, agentId },
    });
    await call('POST', `/v1/leases/${held.taskId}/fail`, '/v1/leases/{taskId}/fail', {
      body: { token: held.token + 1, agentId, error: { message: 'x' } },
    });
    await call('POST', `/v1/leases/${held.taskId}/complete`, '/v1/leases/{taskId}/complete', {
      body: { token: held.token, agentId, result: [1] },
    });
    await call('POST', `/v1/leases/${held.taskId}/logs`, '/v1/leases/{taskId}/logs', {
      body: { token: held.token, agentId, lines: [{ text: 'done', stream: 'stdout' }] },
    });
    await call('POST', '/v1/agents/agt_gone/heartbeat', '/v1/agents/{id}/heartbeat', { body: {} });

    // The validator does refuse a body that does not match (the checks above can fail).
    expect(() => check('/v1/tasks/{id}', 'get', 200, { task: { id: 1 }, attempts: [] })).toThrow();
    expect(() =>
      check('/v1/tasks', 'post', 201, {
        id: 'x',
        key: null,
        existing: false,
        state: 'ready',
        extra: 1,
      }),
    ).toThrow();

    // Errors.
    await call('POST', '/v1/tasks', '/v1/tasks', { body: { type: 'echo', nope: 1 } });
    await call('POST', '/v1/tasks', '/v1/tasks', { headers: {}, body: { type: 'echo' } });
    await call('POST', '/v1/tasks', '/v1/tasks', {
      headers: { authorization: 'Bearer reader' },
      body: { type: 'echo' },
    });
    await call('POST', '/v1/runs', '/v1/runs', {
      raw: 'tasks: [',
      contentType: 'application/yaml',
    });
    await call('GET', '/v1/tasks/tsk_missing', '/v1/tasks/{id}');
    await call('GET', '/v1/runs/run_missing', '/v1/runs/{id}');
    await call('GET', '/v1/tasks?limit=0', '/v1/tasks');
    await call('GET', '/v1/runs?order=sideways', '/v1/runs');
    await call('POST', '/v1/tasks/tsk_missing/cancel', '/v1/tasks/{id}/cancel', { body: {} });
    await call('POST', '/v1/tasks/tsk_missing/retry', '/v1/tasks/{id}/retry', { body: {} });
    // Merge: the 200s are in test/server/merge.test.ts (a real git repository), checked with the
    // same RunMerged schema this document is generated from.
    const merge = '/v1/runs/{id}/merge';
    await call('POST', '/v1/runs/run_missing/merge', merge, { body: {} });
    await call('POST', `/v1/runs/${run.body.runId as string}/merge`, merge, { body: {} });
    await call('POST', `/v1/runs/${run.body.runId as string}/merge`, merge, {
      body: { confirm: 'yes' },
    });
    // Last: nothing here claims the goal's plan task.
    const goal = await call('POST', '/v1/goals', '/v1/goals', {
      body: { description: 'Calculate factorial of 10', budget: { usd: 1 }, agents: ['agt_c'] },
    });
    expect(goal.status).toBe(201);
    await call('POST', '/v1/goals', '/v1/goals', { body: { description: 'too short' } });
    await call('GET', `/v1/runs/${goal.body.runId as string}`, '/v1/runs/{id}');

    await s.baton.backend.addExpertiseVersion({
      domain: 'api',
      text: 'domain: api\n',
      source: 'learn',
      origin: 'tsk_x#1',
    });
    await call('GET', '/v1/expertise/api', '/v1/expertise/{domain}');
    await call('GET', '/v1/expertise/api?version=1', '/v1/expertise/{domain}');
    await call('GET', '/v1/expertise/api?version=2', '/v1/expertise/{domain}');
    await call('GET', '/v1/expertise/billing', '/v1/expertise/{domain}');
    await call('GET', '/v1/expertise/API', '/v1/expertise/{domain}');
    await call('GET', '/v1/expertise/api?version=zero', '/v1/expertise/{domain}');

    expect([...seen].sort()).toEqual(
      expect.arrayContaining([
        'get /v1/expertise/{domain} 200',
        'get /v1/expertise/{domain} 400',
        'get /v1/expertise/{domain} 404',
        'post /v1/tasks 201',
        'post /v1/tasks 400',
        'post /v1/tasks 401',
        'post /v1/tasks 403',
        'get /v1/tasks/{id} 200',
        'get /v1/tasks/{id} 404',
        'get /v1/tasks/{id}/usage 200',
        'get /v1/tasks/{id}/usage 404',
        'get /v1/runs/{id} 200',
        'post /v1/runs 400',
        'post /v1/goals 201',
        'post /v1/goals 400',
        'post /v1/agents 201',
        'post /v1/agents/{id}/claim 200',
        'post /v1/leases/{taskId}/renew 200',
        'post /v1/leases/{taskId}/fail 409',
        'post /v1/leases/{taskId}/complete 200',
        'post /v1/leases/{taskId}/release 200',
        'post /v1/leases/{taskId}/release 400',
        'post /v1/leases/{taskId}/release 409',
        'post /v1/agents/{id}/heartbeat 409',
        'post /v1/tasks/{id}/retry 200',
        'post /v1/tasks/{id}/retry 404',
        'post /v1/tasks/{id}/retry 409',
        'post /v1/runs/{id}/merge 400',
        'post /v1/runs/{id}/merge 404',
        'post /v1/runs/{id}/merge 409',
        'get /v1/costs 200',
        'get /v1/costs 400',
        'get /v1/costs 404',
        'get /v1/tasks/{id}/logs 200',
        'get /v1/tasks/{id}/logs 400',
        'get /v1/tasks/{id}/logs 404',
        'get /v1/logs 200',
        'get /v1/logs 400',
        'post /v1/leases/{taskId}/logs 200',
      ]),
    );
  });

  it("documents the errors every route can answer, and each route's real answer matches", async () => {
    // Without tokens, so the Host check applies; 401 is covered above.
    const s = await startServer();
    const doc = (await s.request('GET', '/openapi.json')).body as Doc;
    const check = validatorFor(doc);
    const long = 'x'.repeat(201);
    let checked = 0;
    for (const [path, methods] of Object.entries(ROUTES)) {
      for (const [method, op] of Object.entries(methods)) {
        const M = method.toUpperCase();
        const url = path.replace(/\{\w+\}/g, 'tsk_missing');
        const body = op.body === undefined ? {} : { body: {} };
        const expectStatus = (
          status: number,
          res: { status: number; body: unknown },
          what: string,
        ) => {
          expect(res.status, `${M} ${path}: ${what}`).toBe(status);
          check(path, method, status, res.body);
          checked++;
        };
        // Query strings are strict on every route, whatever it takes.
        const bogus = await s.request(M, `${url}?bogus=1`, body);
        expectStatus(400, bogus, 'an unknown query parameter');
        expect(bogus.body.error.message).toContain("unknown query parameter 'bogus'");
        // A name the server does not answer to.
        const rebound = await rawRequest(s.url, {
          method: M,
          path: url,
          headers: { host: 'evil.example' },
        });
        expectStatus(403, { status: rebound.status, body: rebound.json }, 'a foreign Host');
        // Headers over 16 KiB.
        const big = await rawRequest(s.url, {
          method: M,
          path: url,
          headers: { 'x-big': 'a'.repeat(20_000) },
        });
        expectStatus(431, { status: big.status, body: big.json }, 'headers over 16 KiB');
        if (path.includes('{')) {
          const res = await s.request(M, path.replace(/\{\w+\}/g, long), body);
          expectStatus(414, res, 'a path parameter over 200 characters');
        }
        if (op.body !== undefined) {
          const html = await s.request(M, url, { raw: '<p>hi</p>', contentType: 'text/html' });
          expectStatus(415, html, 'an HTML body');
          const huge = await s.request(M, url, { raw: `"${'a'.repeat(2 * 1024 * 1024)}"` });
          expectStatus(413, huge, 'a 2 MiB body');
        }
      }
    }
    expect(checked).toBeGreaterThan(60);
    expect(await s.baton.lastEventId()).toBeNull();
  });

  it('describes the WebSocket event stream', async () => {
    const s = await startServer();
    const doc = (await s.request('GET', '/openapi.json')).body as {
      paths: Record<
        string,
        { get?: { responses: Record<string, unknown>; parameters?: unknown[] } }
      >;
      components: { schemas: Record<string, unknown> };
    };
    const ws = doc.paths['/v1/ws']?.get;
    expect(ws?.responses['101']).toMatchObject({
      'x-baton-messages': [
        { $ref: '#/components/schemas/WsReady' },
        { $ref: '#/components/schemas/Event' },
      ],
    });
    expect(ws?.parameters?.map((p) => (p as { name: string }).name).sort()).toEqual([
      'agent',
      'run',
      'since',
      'task',
    ]);
    expect(doc.components.schemas['WsReady']).toBeDefined();
  });

  it('describes the request schemas strictly (unknown fields are not allowed)', async () => {
    const s = await startServer();
    const doc = (await s.request('GET', '/openapi.json')).body as {
      components: { schemas: Record<string, { additionalProperties?: unknown }> };
    };
    expect(doc.components.schemas.TaskSpec?.additionalProperties).toBe(false);
    expect(doc.components.schemas.RunSpec?.additionalProperties).toBe(false);
  });

  it('describes POST /v1/runs taking a RunSpec or a plan file, as JSON or YAML', async () => {
    const s = await startServer();
    const doc = (await s.request('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, { requestBody: { content: Record<string, object> } }>>;
    };
    const content = doc.paths['/v1/runs']!.post!.requestBody.content;
    expect(Object.keys(content).sort()).toEqual([
      'application/json',
      'application/vnd.baton.plan+json',
      'application/yaml',
    ]);
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema(doc, 'openapi.json');
    const json = ajv.getSchema(
      'openapi.json#/paths/~1v1~1runs/post/requestBody/content/application~1json/schema',
    )!;
    // A RunSpec and a plan both fit; a plan task without its key does not.
    expect(json({ tasks: [{ key: 'a', type: 'echo' }] })).toBe(true);
    expect(json({ defaults: { shell: true }, tasks: [{ key: 'a', command: 'ls -l' }] })).toBe(true);
    const plan = ajv.getSchema(
      'openapi.json#/paths/~1v1~1runs/post/requestBody/content/application~1vnd.baton.plan+json/schema',
    )!;
    expect(plan({ tasks: [{ command: 'ls' }] })).toBe(false);
  });
});
