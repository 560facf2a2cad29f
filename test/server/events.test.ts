import { afterEach, describe, expect, it } from 'vitest';

import type { BatonEvent } from '../../src/core/types.ts';
import { closeAll, startServer } from './harness.ts';
import { openSse } from './sse.ts';

afterEach(closeAll);

async function history(s: Awaited<ReturnType<typeof startServer>>): Promise<BatonEvent[]> {
  const all: BatonEvent[] = [];
  for await (const e of s.baton.events({ follow: false })) all.push(e);
  return all;
}

describe('GET /v1/events (SSE)', () => {
  it('resumes with Last-Event-ID: nothing missed, nothing repeated', async () => {
    const s = await startServer();
    for (let i = 0; i < 3; i++) await s.baton.submit({ type: 'echo', payload: i });

    const first = await openSse(`${s.url}/v1/events?since=start`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const seen: BatonEvent[] = [];
    // Read part of the history, then drop the connection.
    while (seen.length < 2) {
      const m = await first.next();
      expect(m?.id).toBeTruthy();
      const event = JSON.parse(m!.data) as BatonEvent;
      expect(m!.id).toBe(event.id);
      expect(m!.event).toBe(event.type);
      seen.push(event);
    }
    first.close();

    // Events written while disconnected.
    for (let i = 3; i < 6; i++) await s.baton.submit({ type: 'echo', payload: i });
    const expected = await history(s);
    expect(expected.length).toBeGreaterThan(seen.length);

    const second = await openSse(`${s.url}/v1/events`, { 'last-event-id': seen.at(-1)!.id });
    while (seen.length < expected.length) {
      const m = await second.next();
      expect(m).not.toBeNull();
      seen.push(JSON.parse(m!.data) as BatonEvent);
    }
    second.close();
    expect(seen.map((e) => e.id)).toEqual(expected.map((e) => e.id));
  });

  it('starts at now by default and follows new events, filtered by run', async () => {
    const s = await startServer();
    await s.baton.submit({ type: 'old' });
    const a = await s.baton.submitRun({ tasks: [{ key: 'x', type: 'echo' }] });
    const stream = await openSse(`${s.url}/v1/events?run=${a.runId}`);
    // After the headers: a new event of another run, then one of run a.
    await s.baton.submitRun({ tasks: [{ key: 'y', type: 'echo' }] });
    await s.baton.cancel(a.runId);
    const m = await stream.next();
    const event = JSON.parse(m!.data) as BatonEvent;
    expect(event.runId).toBe(a.runId);
    expect(event.type).toMatch(/cancelled/);
    stream.close();
  });

  it('ends open streams when the server closes', async () => {
    const s = await startServer();
    const stream = await openSse(`${s.url}/v1/events`);
    await s.app.close();
    expect(await stream.next()).toBeNull();
  });

  it('refuses a malformed Last-Event-ID or since with 400 before streaming', async () => {
    const s = await startServer();
    const header = await openSse(`${s.url}/v1/events`, { 'last-event-id': 'garbage' });
    expect(header.status).toBe(400);
    expect(header.headers.get('content-type')).toMatch(/application\/json/);
    header.close();
    const query = await openSse(`${s.url}/v1/events?since=zz-zz`);
    expect(query.status).toBe(400);
    query.close();
  });

  it('needs the read scope', async () => {
    const s = await startServer({ tokens: [{ token: 'w', scopes: ['work'] }] });
    const stream = await openSse(`${s.url}/v1/events`, { authorization: 'Bearer w' });
    expect(stream.status).toBe(403);
    stream.close();
  });
});
