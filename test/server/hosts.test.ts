/**
 * DNS rebinding and cross-site requests: without tokens the API answers only to loopback names
 * (and the operator's `allowedHosts`) and to pages served from them (and `cors` origins), on
 * plain requests, SSE and WebSocket upgrades alike. Requests go over real sockets with the
 * headers a browser would send.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { closeAll, startServer, type TestServer } from './harness.ts';
import { rawRequest, upgradeHeaders } from './raw-http.ts';

afterEach(closeAll);

const TOKEN = 'tok-0123456789abcdef';

function port(s: TestServer): string {
  return new URL(s.url).port;
}

async function submitWith(s: TestServer, headers: Record<string, string>) {
  return await rawRequest(s.url, {
    method: 'POST',
    path: '/v1/tasks',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ type: 'echo' }),
  });
}

describe('Host and Origin without tokens', () => {
  it('refuses a request for a name that is not loopback (DNS rebinding) with 403, and stores nothing', async () => {
    const s = await startServer();
    const res = await submitWith(s, { host: `evil.example:${port(s)}` });
    expect(res.status).toBe(403);
    expect(res.json.error).toMatchObject({
      code: 'BATON_FORBIDDEN',
      details: { host: `evil.example:${port(s)}` },
    });
    expect(res.json.error.message).toContain('--allowed-hosts evil.example');
    expect(res.json.error.message).toContain('BATON_API_TOKENS');
    expect((await s.baton.tasks()).tasks).toEqual([]);
    // Reads and the health check are refused too.
    for (const path of ['/v1/tasks', '/health', '/openapi.json']) {
      const read = await rawRequest(s.url, { path, headers: { host: 'evil.example' } });
      expect(read.status, path).toBe(403);
    }
  });

  it('answers to localhost, 127.x and [::1], with or without the port, in any case', async () => {
    const s = await startServer();
    for (const host of [
      `localhost:${port(s)}`,
      'localhost',
      'LOCALHOST',
      `127.0.0.1:${port(s)}`,
      '127.0.0.1',
      '127.0.0.2:80',
      `[::1]:${port(s)}`,
      '[::1]',
    ]) {
      const res = await submitWith(s, { host });
      expect(res.status, host).toBe(201);
    }
    for (const host of ['localhost.evil.example', 'evil.example', '[::2]', '0.0.0.0', 'a b']) {
      const res = await submitWith(s, { host });
      expect(res.status, host).toBe(403);
    }
    expect((await s.baton.tasks()).tasks).toHaveLength(8);
  });

  it('answers to the names in allowedHosts, each with its port when one is given', async () => {
    const s = await startServer({ allowedHosts: ['baton.internal', 'pinned.internal:1234'] });
    expect((await submitWith(s, { host: `baton.internal:${port(s)}` })).status).toBe(201);
    expect((await submitWith(s, { host: 'Baton.Internal' })).status).toBe(201);
    expect((await submitWith(s, { host: 'pinned.internal:1234' })).status).toBe(201);
    expect((await submitWith(s, { host: `pinned.internal:${port(s)}` })).status).toBe(403);
    const other = await submitWith(s, { host: 'other.internal' });
    expect(other.status).toBe(403);
    expect(other.json.error.message).toContain('baton.internal, pinned.internal:1234');
  });

  it('refuses allowedHosts entries that are not host names, naming each', async () => {
    await expect(
      startServer({ allowedHosts: ['http://baton.internal', '*', 'ok.internal', 'a/b'] }),
    ).rejects.toMatchObject({
      code: 'BATON_VALIDATION',
      issues: [
        { path: 'allowedHosts[0]' },
        { path: 'allowedHosts[1]' },
        { path: 'allowedHosts[3]' },
      ],
    });
  });

  it('refuses a page from another site (its Origin), unless loopback or allowed by cors', async () => {
    const s = await startServer({ cors: ['https://dash.example'] });
    const evil = await submitWith(s, { origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.json.error).toMatchObject({
      code: 'BATON_FORBIDDEN',
      details: { origin: 'https://evil.example' },
    });
    expect(evil.json.error.message).toContain('--cors https://evil.example');
    expect((await submitWith(s, { origin: 'null' })).status).toBe(403);
    expect((await submitWith(s, { origin: 'http://localhost:3000' })).status).toBe(201);
    expect((await submitWith(s, { origin: 'http://127.0.0.1:8080' })).status).toBe(201);
    expect((await submitWith(s, { origin: 'https://dash.example' })).status).toBe(201);
    // A CORS preflight from another site is refused as well.
    const preflight = await rawRequest(s.url, {
      method: 'OPTIONS',
      path: '/v1/tasks',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    expect((await s.baton.tasks()).tasks).toHaveLength(3);
  });

  it('checks Host and Origin before an event stream or a WebSocket upgrade', async () => {
    const s = await startServer();
    const sse = await rawRequest(s.url, {
      path: '/v1/events',
      headers: { host: 'evil.example', accept: 'text/event-stream' },
      headOnlyOnSuccess: true,
    });
    expect(sse.status).toBe(403);
    expect(sse.json.error.code).toBe('BATON_FORBIDDEN');

    const rebound = await rawRequest(s.url, {
      path: '/v1/ws',
      headers: upgradeHeaders({ host: `evil.example:${port(s)}` }),
    });
    expect(rebound).toMatchObject({ upgraded: false, status: 403 });
    expect(rebound.json.error.code).toBe('BATON_FORBIDDEN');
    // Browsers apply no CORS to WebSockets: the Origin check is what stops a page elsewhere.
    const crossSite = await rawRequest(s.url, {
      path: '/v1/ws',
      headers: upgradeHeaders({ origin: 'https://evil.example' }),
    });
    expect(crossSite).toMatchObject({ upgraded: false, status: 403 });
    const local = await rawRequest(s.url, {
      path: '/v1/ws',
      headers: upgradeHeaders({ origin: 'http://localhost:5173' }),
    });
    expect(local).toMatchObject({ upgraded: true, status: 101 });
  });

  it('refuses a plain-text body (what any page may post without asking) instead of reading it as a plan', async () => {
    const s = await startServer();
    const res = await rawRequest(s.url, {
      method: 'POST',
      path: '/v1/runs',
      headers: { 'content-type': 'text/plain' },
      body: 'tasks:\n  - key: a\n    command: touch\n    args: [pwned]\n',
    });
    expect(res.status).toBe(415);
    expect(res.json.error.code).toBe('BATON_UNSUPPORTED_MEDIA_TYPE');
    expect((await s.baton.runs()).runs).toEqual([]);
  });
});

describe('Host and Origin with tokens', () => {
  it('answers to any name and any page: the token is what protects the API', async () => {
    const s = await startServer({ tokens: [{ token: TOKEN, scopes: ['admin'] }] });
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await submitWith(s, { ...auth, host: 'baton.example.com' })).status).toBe(201);
    expect((await submitWith(s, { ...auth, origin: 'https://elsewhere.example' })).status).toBe(
      201,
    );
    // A rebinding page has no token.
    expect((await submitWith(s, { host: 'evil.example' })).status).toBe(401);
  });

  it('checks Host when allowedHosts is given', async () => {
    const s = await startServer({
      tokens: [{ token: TOKEN, scopes: ['admin'] }],
      allowedHosts: ['baton.example.com'],
    });
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await submitWith(s, { ...auth, host: 'baton.example.com' })).status).toBe(201);
    expect((await submitWith(s, { ...auth, host: 'localhost' })).status).toBe(201);
    const other = await submitWith(s, { ...auth, host: 'other.example.com' });
    expect(other.status).toBe(403);
    expect(other.json.error.message).not.toContain('BATON_API_TOKENS');
  });
});
