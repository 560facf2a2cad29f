import { afterEach, describe, expect, it } from 'vitest';

import type { BatonEvent } from '../../src/core/types.ts';
import { closeAll, startServer } from './harness.ts';

afterEach(closeAll);

/** Record a scaling decision the way `Pool` does (src/runtime/pool.ts `#announce`). */
async function recordDecision(
  s: Awaited<ReturnType<typeof startServer>>,
  type: 'pool.scaled_up' | 'pool.scaled_down' | 'pool.restarted',
  workerId: string,
  workers: number,
): Promise<string> {
  return await s.baton.backend.recordEvent({
    type,
    agentId: workerId,
    data: { reason: `test ${type} ${workerId}`, workers },
  });
}

describe('GET /v1/events/recent', () => {
  it('lists the newest pool scaling events first, filtered by type, across pages of the stream', async () => {
    const s = await startServer();
    const ids: string[] = [];
    ids.push(await recordDecision(s, 'pool.scaled_up', 'w1', 1));
    ids.push(await recordDecision(s, 'pool.scaled_up', 'w2', 2));
    await recordDecision(s, 'pool.restarted', 'w2', 2);
    // More than one backend page (1000 events) between the decisions.
    await s.baton.submitRun({
      tasks: Array.from({ length: 600 }, (_, i) => ({ key: `t${i}`, type: 'echo' })),
    });
    ids.push(await recordDecision(s, 'pool.scaled_down', 'w1', 1));

    const res = await fetch(
      `${s.url}/v1/events/recent?type=pool.scaled_up,pool.scaled_down&limit=50`,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { events: BatonEvent[] };
    expect(body.events.map((e) => e.id)).toEqual([...ids].reverse());
    expect(body.events.map((e) => e.type)).toEqual([
      'pool.scaled_down',
      'pool.scaled_up',
      'pool.scaled_up',
    ]);
    expect(body.events[0]).toMatchObject({
      agentId: 'w1',
      data: { reason: 'test pool.scaled_down w1', workers: 1 },
    });

    const two = (await (
      await fetch(`${s.url}/v1/events/recent?type=pool.scaled_up,pool.scaled_down&limit=2`)
    ).json()) as { events: BatonEvent[] };
    expect(two.events.map((e) => e.id)).toEqual([ids[2], ids[1]]);

    const restarted = (await (
      await fetch(`${s.url}/v1/events/recent?type=pool.restarted`)
    ).json()) as { events: BatonEvent[] };
    expect(restarted.events.map((e) => e.type)).toEqual(['pool.restarted']);
  });

  it('answers 400 for a bad query and changes nothing', async () => {
    const s = await startServer();
    await recordDecision(s, 'pool.scaled_up', 'w1', 1);
    const before = await s.baton.lastEventId();
    for (const query of [
      'type=pool.scaled_sideways',
      'type=pool.scaled_up,nope',
      'type=pool.scaled_up&limit=0',
      'type=pool.scaled_up&limit=201',
      'type=pool.scaled_up&limit=ten',
      'type=pool.scaled_up&since=start',
      'limit=5',
    ]) {
      const res = await fetch(`${s.url}/v1/events/recent?${query}`);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code, query).toBe('BATON_VALIDATION');
    }
    const unknown = (await (
      await fetch(`${s.url}/v1/events/recent?type=pool.scaled_sideways`)
    ).json()) as { error: { message: string } };
    expect(JSON.stringify(unknown)).toContain('pool.scaled_sideways');
    expect(JSON.stringify(unknown)).toContain('pool.scaled_up');
    expect(await s.baton.lastEventId()).toBe(before);
  });
});
