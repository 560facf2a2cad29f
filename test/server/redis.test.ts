/**
 * One smoke run of the HTTP API on Redis, in a namespace of its own that is deleted afterwards.
 * Under CI a missing Redis fails the suite, as the other Redis suites do; elsewhere it is skipped
 * with a message saying what it needs.
 */
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REDIS_URL, deleteNamespaces, redisAnswers } from '../helpers/redis.ts';
import { closeAll, startServer } from './harness.ts';
import { openSse } from './sse.ts';

const namespace = `test-http-${randomUUID()}`;
const available = await redisAnswers();
const ci = process.env.CI === 'true';

afterAll(async () => {
  await closeAll();
  if (available) await deleteNamespaces([namespace]);
});

if (!available && !ci) {
  describe('HTTP API on Redis', () => {
    it.skip(`needs Redis on 127.0.0.1:6379 (start one with 'redis-server'); skipped outside CI`, () => {});
  });
} else {
  describe('HTTP API on Redis', () => {
    beforeAll(() => {
      if (!available)
        throw new Error(
          'CI=true and no Redis answers on 127.0.0.1:6379: the HTTP API on Redis cannot be tested',
        );
    });

    it('submits a run, serves it, streams its events and runs the worker protocol', async () => {
      const s = await startServer({ store: REDIS_URL, namespace });
      expect((await s.request('GET', '/health')).body.backend.name).toBe('redis');
      const stream = await openSse(`${s.url}/v1/events?since=start`);
      const created = await s.request('POST', '/v1/runs', {
        body: {
          tasks: [
            { key: 'a', type: 'echo' },
            { key: 'b', type: 'echo', dependsOn: ['a'] },
          ],
        },
      });
      expect(created.status).toBe(201);
      const runId = created.body.runId as string;
      const detail = await s.request('GET', `/v1/runs/${runId}`);
      expect(detail.body.levels).toHaveLength(2);

      const agent = await s.request('POST', '/v1/agents', {
        body: { capabilities: [], concurrency: 1 },
      });
      const agentId = agent.body.id as string;
      for (let i = 0; i < 2; i++) {
        const claim = await s.request('POST', `/v1/agents/${agentId}/claim`, {
          body: { waitMs: 5000 },
        });
        const lease = claim.body.leases[0] as { taskId: string; token: number };
        const done = await s.request('POST', `/v1/leases/${lease.taskId}/complete`, {
          body: { token: lease.token, agentId, result: i },
        });
        expect(done.status).toBe(200);
      }
      const types: string[] = [];
      while (!types.includes('run.completed')) {
        const m = await stream.next();
        expect(m).not.toBeNull();
        types.push(m!.event!);
      }
      stream.close();
      expect((await s.request('GET', `/v1/runs/${runId}`)).body.run.state).toBe('succeeded');
    });
  });
}
