import { afterEach, describe, expect, it } from 'vitest';

import type { BatonEvent } from '../../src/core/types.ts';
import { closeAll, startServer } from './harness.ts';

afterEach(closeAll);

/** A WebSocket (Node's built-in client) whose messages are queued for `next()`. */
async function connect(url: string, headers: Record<string, string> = {}) {
  // Node's WebSocket (undici) takes headers in its options object.
  const socket = new WebSocket(url, { headers });
  const queue: unknown[] = [];
  const waiters: ((v: unknown) => void)[] = [];
  let closed: { code: number; reason: string } | null = null;
  const push = (v: unknown) => {
    const w = waiters.shift();
    if (w) w(v);
    else queue.push(v);
  };
  socket.addEventListener('message', (e) => push(JSON.parse(String(e.data))));
  socket.addEventListener('close', (e) => {
    closed = { code: e.code, reason: e.reason };
    push(null);
  });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error('websocket refused')), { once: true });
  });
  return {
    socket,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
    next: (): Promise<any> =>
      queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)),
    get closed() {
      return closed;
    },
  };
}

describe('WebSocket /v1/ws', () => {
  it('streams the same events as SSE, filtered, from a given id', async () => {
    const s = await startServer();
    const run = await s.baton.submitRun({ tasks: [{ key: 'a', type: 'echo' }] });
    await s.baton.submit({ type: 'other' });
    const ws = await connect(`${s.url.replace('http', 'ws')}/v1/ws?since=start&run=${run.runId}`);
    expect(await ws.next()).toMatchObject({ type: 'ready', since: null });
    const expected: BatonEvent[] = [];
    for await (const e of s.baton.events({ follow: false }))
      if (e.runId === run.runId) expected.push(e);
    const got: BatonEvent[] = [];
    while (got.length < expected.length) got.push(await ws.next());
    expect(got).toEqual(expected);
    // Live: a cancel of the run arrives.
    await s.baton.cancel(run.runId);
    expect((await ws.next()).type).toMatch(/cancelled/);
    ws.socket.close();
  });

  it('checks the token before the upgrade', async () => {
    const s = await startServer({ tokens: [{ token: 'r', scopes: ['read'] }] });
    await expect(connect(`${s.url.replace('http', 'ws')}/v1/ws`)).rejects.toThrow(/refused/);
    const ok = await connect(`${s.url.replace('http', 'ws')}/v1/ws`, { authorization: 'Bearer r' });
    expect(await ok.next()).toMatchObject({ type: 'ready' });
    ok.socket.close();
  });

  it('refuses a bad query before the upgrade, and closes sockets when the server closes', async () => {
    const s = await startServer();
    await expect(connect(`${s.url.replace('http', 'ws')}/v1/ws?colour=red`)).rejects.toThrow();
    const ws = await connect(`${s.url.replace('http', 'ws')}/v1/ws`);
    expect(await ws.next()).toMatchObject({ type: 'ready' });
    await s.app.close();
    expect(await ws.next()).toBeNull();
    expect(ws.closed).not.toBeNull();
  });
});
