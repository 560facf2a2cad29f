/**
 * Property tests: random and malformed bodies, headers and query strings never produce a 5xx,
 * and a refused request never changes stored state.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, type TestServer } from './harness.ts';

let s: TestServer;
let taskId = '';
let runId = '';

beforeAll(async () => {
  s = await startServer({ tokens: [{ token: 'good', scopes: ['admin'] }] });
  taskId = (await s.baton.submit({ type: 'seed' })).id;
  runId = (await s.baton.submitRun({ tasks: [{ key: 'a', type: 'seed' }] })).runId;
});
afterAll(async () => {
  await s.close();
});

async function snapshot(): Promise<string> {
  return JSON.stringify([await s.baton.lastEventId(), await s.baton.stats()]);
}

const ROUTES = (): [string, string][] => [
  ['POST', '/v1/tasks'],
  ['POST', '/v1/runs'],
  ['POST', `/v1/tasks/${taskId}/cancel`],
  ['POST', `/v1/runs/${runId}/cancel`],
  ['POST', '/v1/agents'],
  ['POST', '/v1/agents/agt_x/heartbeat'],
  ['POST', `/v1/leases/${taskId}/renew`],
  ['POST', `/v1/leases/${taskId}/complete`],
  ['POST', `/v1/leases/${taskId}/fail`],
  ['POST', `/v1/leases/${taskId}/usage`],
  ['POST', `/v1/leases/${taskId}/reservations`],
];

/** Bodies: arbitrary JSON, near-valid task specs with a twist, and text that is not JSON. */
const body = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record({ type: fc.string(), extra: fc.jsonValue() })
    .map((r) => JSON.stringify({ type: r.type, [`x${r.type.length}`]: r.extra })),
  fc.record({ tasks: fc.array(fc.jsonValue(), { maxLength: 4 }) }).map((r) => JSON.stringify(r)),
  fc.string(),
  fc.string().map((t) => `{"type": ${t}`),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/yaml',
  'text/plain',
  'application/json; charset=utf-8',
  'multipart/form-data; boundary=x',
  '',
  'application/x-www-form-urlencoded',
);

/** Authorization headers that are not the valid token (and the valid one, rarely). */
const authorization = fc.oneof(
  fc.constant('Bearer good'),
  fc.string().map((t) => `Bearer ${t}`),
  fc.constant('Basic Z29vZDp4'),
  fc.constant('Bearer'),
  fc.constant('bearer  good  '),
);

describe('fuzz', () => {
  it('random bodies and headers on every write route: no 5xx; a refusal changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES()),
        body,
        contentType,
        authorization,
        async ([method, path], raw, type, auth) => {
          const before = await snapshot();
          const headers: Record<string, string> = { authorization: auth };
          if (type !== '') headers['content-type'] = type;
          const res = await fetch(s.url + path, { method, headers, body: raw });
          const text = await res.text();
          expect(res.status, `${method} ${path} ${raw} → ${text}`).toBeLessThan(500);
          if (res.status >= 400) {
            const parsed = JSON.parse(text) as { error: { code: string; message: string } };
            expect(typeof parsed.error.code).toBe('string');
            expect(typeof parsed.error.message).toBe('string');
            expect(await snapshot()).toBe(before);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random query strings on the list routes never produce a 5xx', async () => {
    const key = fc.constantFrom('state', 'run', 'type', 'agent', 'limit', 'cursor', 'order', 'x');
    const value = fc.oneof(
      fc.string(),
      fc.integer().map(String),
      fc.constantFrom('ready', 'asc', '0', '1001', '-1', '1e3'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          '/v1/tasks',
          '/v1/runs',
          '/v1/agents',
          '/v1/stats',
          `/v1/tasks/${taskId}`,
          `/v1/runs/${runId}`,
        ),
        fc.array(fc.tuple(key, value), { maxLength: 4 }),
        async (path, pairs) => {
          const query = pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
          const res = await fetch(`${s.url}${path}?${query}`, {
            headers: { authorization: 'Bearer good' },
          });
          const text = await res.text();
          expect(res.status, `${path}?${query} → ${text}`).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random paths and raw query text never produce a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST'),
        fc.webPath(),
        fc.string(),
        async (method, path, query) => {
          const url = `${s.url}/v1${path}?${encodeURI(query).replace(/#/g, '%23')}`;
          let res: Response;
          try {
            res = await fetch(url, { method, headers: { authorization: 'Bearer good' } });
          } catch {
            return; // a URL fetch itself refuses to send
          }
          if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
            await res.body?.cancel();
            return;
          }
          const text = await res.text();
          expect(res.status, `${method} ${url} → ${text}`).toBeLessThan(500);
        },
      ),
      { numRuns: 200 },
    );
  });
});
