/**
 * Contract tests: every route's real responses (successes and errors) must match the OpenAPI
 * document the server serves, checked with a JSON Schema 2020-12 validator (the ajv 8 that
 * Fastify ships).
 */
import { createRequire } from 'node:module';

import { afterEach, describe, expect, it } from 'vitest';

import { ROUTES } from '../../src/server/openapi.ts';
import { closeAll, startServer, type TestServer } from './harness.ts';

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

    await call('GET', `/v1/tasks/${lease!.taskId}`, '/v1/tasks/{id}');
    await call('GET', '/v1/tasks?limit=2', '/v1/tasks');
    await call('GET', '/v1/runs', '/v1/runs');
    await call('GET', `/v1/runs/${run.body.runId as string}`, '/v1/runs/{id}');
    await call('GET', '/v1/agents', '/v1/agents');
    await call('GET', '/v1/agents/available?capability=x', '/v1/agents/available');
    await call('GET', '/v1/stats', '/v1/stats');
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

    expect([...seen].sort()).toEqual(
      expect.arrayContaining([
        'post /v1/tasks 201',
        'post /v1/tasks 400',
        'post /v1/tasks 401',
        'post /v1/tasks 403',
        'get /v1/tasks/{id} 200',
        'get /v1/tasks/{id} 404',
        'get /v1/runs/{id} 200',
        'post /v1/runs 400',
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
      ]),
    );
  });

  it('describes the request schemas strictly (unknown fields are not allowed)', async () => {
    const s = await startServer();
    const doc = (await s.request('GET', '/openapi.json')).body as {
      components: { schemas: Record<string, { additionalProperties?: unknown }> };
    };
    expect(doc.components.schemas.TaskSpec?.additionalProperties).toBe(false);
    expect(doc.components.schemas.RunSpec?.additionalProperties).toBe(false);
  });
});
