/**
 * The dashboard's files on the API server (src/server/dashboard.ts), without a browser: a build
 * served with its cache headers, a missing build explained at `/` instead of a 404, the API's
 * routes unchanged; and `GET /v1/auth`, which tells the dashboard what its token may do.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { startServer } from './harness.ts';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-dashboard-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the dashboard at /', () => {
  it('serves a build: index.html no-cache, hashed assets immutable, unknown paths the API 404', async () => {
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    await writeFile(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    const s = await startServer({ dashboard: { root: dir } });
    const index = await fetch(`${s.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(await index.text()).toContain('<title>t</title>');
    const asset = await fetch(`${s.url}/assets/index-abc123.js`);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const missing = await s.request('GET', '/assets/nope.js');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('BATON_ROUTE_NOT_FOUND');
  });

  it('says how to build the dashboard when its files are missing', async () => {
    const s = await startServer({ dashboard: { root: join(dir, 'absent') } });
    const page = await fetch(`${s.url}/`);
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const text = await page.text();
    expect(text).toContain('The Baton dashboard is not built');
    expect(text).toContain('npm run build:web');
    expect(text).toContain('--no-dashboard');
    expect((await s.request('GET', '/health')).status).toBe(200);
  });

  it('serves nothing at / unless asked (the library default)', async () => {
    const s = await startServer();
    const root = await s.request('GET', '/');
    expect(root.status).toBe(404);
    expect(root.body.error.code).toBe('BATON_ROUTE_NOT_FOUND');
  });
});

describe('GET /v1/auth', () => {
  it('answers every scope without tokens', async () => {
    const s = await startServer();
    const r = await s.request('GET', '/v1/auth');
    expect(r).toMatchObject({
      status: 200,
      body: { open: true, scopes: ['read', 'submit', 'work', 'admin'] },
    });
  });

  it("answers the token's scopes, and 401 without a valid token", async () => {
    const read = 'read-only-token-0123456789';
    const both = 'read-submit-token-0123456789';
    const s = await startServer({
      tokens: [
        { token: read, scopes: ['read'] },
        { token: both, scopes: ['submit', 'read'] },
      ],
    });
    const auth = (token?: string) =>
      s.request('GET', '/v1/auth', {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
    expect((await auth(read)).body).toEqual({ open: false, scopes: ['read'] });
    expect((await auth(both)).body).toEqual({ open: false, scopes: ['read', 'submit'] });
    const none = await auth();
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('BATON_UNAUTHORIZED');
    const wrong = await auth('not-a-token-of-this-server');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toBe('the bearer token is not valid');
  });
});
