import { Writable } from 'node:stream';

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { ValidationError } from '../../src/core/errors.ts';
import { Authenticator, MIN_TOKEN_LENGTH, isLoopback, parseTokens } from '../../src/server/auth.ts';
import { closeAll, startServer } from './harness.ts';

afterEach(closeAll);

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('auth', () => {
  it('parses BATON_API_TOKENS and rejects unknown scopes without echoing the token', () => {
    expect(parseTokens('t1-0123456789abcdef:read+submit, t2-0123456789abcdef:admin')).toEqual([
      { token: 't1-0123456789abcdef', scopes: ['read', 'submit'] },
      { token: 't2-0123456789abcdef', scopes: ['admin'] },
    ]);
    expect(() => parseTokens('secret-value-0123456:reed')).toThrow(/unknown scope 'reed'/);
    try {
      parseTokens('secret-value-0123456:reed');
    } catch (error) {
      expect((error as Error).message).not.toContain('secret-value');
    }
    expect(() => parseTokens('no-scope')).toThrow(/token:scope1\+scope2/);
  });

  it('never reads a non-empty BATON_API_TOKENS as "no tokens": empty entries are refused', () => {
    expect(parseTokens('')).toEqual([]);
    for (const spec of [
      ',',
      ' ',
      ' , ',
      'tok-0123456789abcdef:read,',
      ',tok-0123456789abcdef:read',
    ]) {
      let error: unknown;
      try {
        parseTokens(spec);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(spec)).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toMatch(/is empty/);
    }
  });

  it(`refuses tokens shorter than ${MIN_TOKEN_LENGTH} characters, or with white space, saying how to make one`, () => {
    const short = 'x'.repeat(MIN_TOKEN_LENGTH - 1);
    expect(() => parseTokens(`${short}:read`)).toThrow(
      new RegExp(
        `${MIN_TOKEN_LENGTH - 1} characters, fewer than the ${MIN_TOKEN_LENGTH} required.*openssl rand`,
      ),
    );
    expect(() => parseTokens('a:read')).toThrow(/1 characters/);
    expect(() => parseTokens('two words 0123456789:read')).toThrow(/white space/);
    try {
      parseTokens(`${short}:read`);
    } catch (error) {
      expect((error as Error).message).not.toContain(short);
    }
    expect(parseTokens(`${'x'.repeat(MIN_TOKEN_LENGTH)}:read`)).toHaveLength(1);
  });

  it('refuses to start with BATON_API_TOKENS="," rather than serve without auth', async () => {
    await expect(startServer({ env: { BATON_API_TOKENS: ',' } })).rejects.toThrow(ValidationError);
    await expect(startServer({ env: { BATON_API_TOKENS: 'short:read' } })).rejects.toThrow(
      /fewer than the 16 required/,
    );
  });

  it('answers 401 without a valid token and 403 without the scope', async () => {
    const s = await startServer({
      tokens: [
        { token: 'reader', scopes: ['read'] },
        { token: 'boss', scopes: ['admin'] },
      ],
    });
    const none = await s.request('GET', '/v1/stats');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('BATON_UNAUTHORIZED');
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await s.request('GET', '/v1/stats', { headers: bearer('guess') });
    expect(wrong.status).toBe(401);
    expect((await s.request('GET', '/v1/stats', { headers: bearer('reader') })).status).toBe(200);

    const forbidden = await s.request('POST', '/v1/tasks', {
      body: { type: 'echo' },
      headers: bearer('reader'),
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toMatchObject({
      code: 'BATON_FORBIDDEN',
      details: { scope: 'submit' },
    });
    expect((await s.baton.tasks()).tasks).toEqual([]);

    const admin = await s.request('POST', '/v1/tasks', {
      body: { type: 'echo' },
      headers: bearer('boss'),
    });
    expect(admin.status).toBe(201);
    // Health needs no token: load balancers probe it.
    expect((await s.request('GET', '/health')).status).toBe(200);
  });

  it('reads tokens from BATON_API_TOKENS when none are passed', async () => {
    const s = await startServer({ env: { BATON_API_TOKENS: 'envtok-0123456789ab:read' } });
    expect((await s.request('GET', '/v1/agents')).status).toBe(401);
    expect(
      (await s.request('GET', '/v1/agents', { headers: bearer('envtok-0123456789ab') })).status,
    ).toBe(200);
  });

  it('refuses a non-loopback host without tokens, and accepts it with tokens', async () => {
    await expect(startServer({ host: '0.0.0.0' })).rejects.toThrow(/without authentication/);
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('10.0.0.1')).toBe(false);
    const auth = new Authenticator([{ token: 'x', scopes: ['read'] }]);
    expect(auth.open).toBe(false);
  });

  it('never writes the token to the log', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ level: 'trace' }, sink);
    const s = await startServer({ tokens: [{ token: 'TOPSECRET', scopes: ['read'] }], logger });
    await s.request('GET', '/v1/stats', { headers: bearer('TOPSECRET') });
    await s.request('GET', '/v1/stats', { headers: bearer('TOPSECRET-wrong') });
    s.app.log.info({ req: { headers: { authorization: 'Bearer TOPSECRET' } } }, 'direct');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain('TOPSECRET');
  });

  it('sends CORS headers only when configured, for allowed origins', async () => {
    const off = await startServer();
    const plain = await off.request('GET', '/v1/stats', {
      headers: { origin: 'http://localhost:3000' },
    });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();

    const on = await startServer({ cors: ['https://a.example'] });
    const allowed = await on.request('GET', '/v1/stats', {
      headers: { origin: 'https://a.example' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://a.example');
    const other = await on.request('GET', '/v1/stats', {
      headers: { origin: 'https://b.example' },
    });
    // Without tokens, a page from an origin CORS does not allow is refused outright (hosts.ts).
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await on.request('OPTIONS', '/v1/tasks', {
      headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
  });
});
