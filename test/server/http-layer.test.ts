/**
 * What Node's and Fastify's HTTP layers answer before a route runs (a body over the limit,
 * headers over 16 KiB, a path parameter over the limit, a malformed URL), on a real listening
 * server with real sockets: each answer arrives (no connection reset) and has Baton's error
 * shape, `{error: {code, message, details}}`.
 */
import { connect } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { closeAll, startServer } from './harness.ts';
import { rawRequest } from './raw-http.ts';

afterEach(closeAll);

const MB = 1024 * 1024;

/** The error body every refusal has. */
function expectBatonError(body: unknown, code: string): void {
  expect(body).toMatchObject({
    error: { code, message: expect.any(String), details: expect.any(Object) },
  });
  expect(Object.keys((body as { error: object }).error).sort()).toEqual([
    'code',
    'details',
    'message',
  ]);
}

describe('bodies over the limit', () => {
  it('answers a 50 MB body with 413, which the client reads (no connection reset), as YAML and as JSON', async () => {
    const s = await startServer();
    for (const type of ['application/yaml', 'application/json']) {
      for (const size of [2 * MB, 50 * MB]) {
        // fetch writes the whole body as fast as the socket takes it, with a Content-Length.
        const res = await fetch(`${s.url}/v1/runs`, {
          method: 'POST',
          headers: { 'content-type': type },
          body: Buffer.alloc(size, 0x61),
        });
        expect(res.status, `${type} ${size}`).toBe(413);
        const body: unknown = await res.json();
        expectBatonError(body, 'BATON_PAYLOAD_TOO_LARGE');
        expect(body).toMatchObject({ error: { details: { limitBytes: 1_048_576 + 65_536 } } });
      }
    }
    expect((await s.baton.runs()).runs).toEqual([]);
  }, 120_000);

  it('keeps reading a refused body, so the client can send it all, then read the 413, then ask again', async () => {
    const s = await startServer();
    const { port } = new URL(s.url);
    const size = 50 * MB;
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const ended = new Promise<string>((resolve) => {
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message}`));
      socket.on('end', () => resolve('closed by the server'));
    });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\nContent-Length: ${size}\r\n\r\n`,
    );
    // The whole body, at the pace the socket takes it: a closed connection stops it with an
    // error (EPIPE, ECONNRESET) before the end.
    const chunk = Buffer.alloc(MB, 0x61);
    const sent = await Promise.race([
      (async () => {
        for (let i = 0; i < size / MB; i++) {
          if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
        }
        return 'sent';
      })(),
      ended,
    ]);
    expect(sent).toBe('sent');
    // The same connection answers the next request: the refused body was read to its end.
    socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    while (!/HTTP\/1\.1 200/.test(received)) {
      const outcome = await Promise.race([
        new Promise((r) => socket.once('data', () => r('data'))),
        ended,
      ]);
      expect(outcome, received.slice(0, 300)).toBe('data');
    }
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).toContain('"code":"BATON_PAYLOAD_TOO_LARGE"');
    socket.destroy();
  }, 120_000);

  it('answers a chunked body that grows over the limit with 413 too, without closing the connection', async () => {
    const s = await startServer();
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    const res = await rawRequest(s.url, {
      method: 'POST',
      path: '/v1/tasks',
      headers: { 'content-type': 'application/json' },
      body: Array.from({ length: 40 }, () => chunk),
    });
    expect(res.status).toBe(413);
    expectBatonError(res.json, 'BATON_PAYLOAD_TOO_LARGE');
    expect(res.headers['connection']).not.toBe('close');
    expect((await s.baton.tasks()).tasks).toEqual([]);
  });
});

describe('headers and URLs', () => {
  it('answers headers over 16 KiB with 431 in Baton shape, and closes the connection', async () => {
    const s = await startServer();
    const res = await rawRequest(s.url, {
      path: '/v1/stats',
      headers: { 'x-big': 'a'.repeat(20_000) },
    });
    expect(res.status).toBe(431);
    expect(res.headers['connection']).toBe('close');
    expectBatonError(res.json, 'BATON_HEADERS_TOO_LARGE');
    // fetch sees the same answer.
    const viaFetch = await fetch(`${s.url}/v1/stats`, { headers: { 'x-big': 'a'.repeat(20_000) } });
    expect(viaFetch.status).toBe(431);
    expectBatonError(await viaFetch.json(), 'BATON_HEADERS_TOO_LARGE');
  });

  it('answers a request that is not HTTP with 400 in Baton shape', async () => {
    const s = await startServer();
    const { port } = new URL(s.url);
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('NONSENSE\r\n\r\n'));
      let out = '';
      socket.on('data', (d: Buffer) => (out += d.toString()));
      socket.on('close', () => resolve(out));
      socket.on('error', reject);
    });
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expectBatonError(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)), 'BATON_VALIDATION');
  });

  it('answers a path parameter longer than any id with 414 in Baton shape', async () => {
    const s = await startServer();
    const res = await s.request('GET', `/v1/tasks/${'a'.repeat(201)}`);
    expect(res.status).toBe(414);
    expectBatonError(res.body, 'BATON_URI_TOO_LONG');
    expect(res.body.error.details.maxLength).toBe(200);
    // An id as long as an agent may register with still fits in a path.
    const id = `agt_${'x'.repeat(196)}`;
    await s.baton.backend.registerAgent({ id, capabilities: [], concurrency: 1 });
    const beat = await s.request('POST', `/v1/agents/${id}/heartbeat`, { body: {} });
    expect(beat.status).toBe(200);
  });

  it('answers a malformed URL with 400 in Baton shape', async () => {
    const s = await startServer();
    const res = await rawRequest(s.url, { path: '/v1/tasks/%E0%A4%A' });
    expect(res.status).toBe(400);
    expectBatonError(res.json, 'BATON_VALIDATION');
  });
});
