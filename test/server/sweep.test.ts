/**
 * With only `baton server` running, lost work is still recovered: the server hosts the sweep.
 * An HTTP agent claims a task with a short lease and goes silent; another HTTP agent that
 * long-polls for work gets the task, and the silent agent is declared lost. Real server
 * processes, on a SQLite file and on Redis.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { useCli } from '../helpers/cli.ts';
import { REDIS_URL, deleteNamespaces, redisAnswers } from '../helpers/redis.ts';

const redisAvailable = await redisAnswers();
const ci = process.env.CI === 'true';

interface Json {
  [key: string]: unknown;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Json }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

describe('baton server sweeps the store', () => {
  const cli = useCli();
  const namespaces: string[] = [];
  afterAll(() => deleteNamespaces(namespaces));

  const stores: [string, () => string[]][] = [
    ['sqlite', () => ['--store', cli.store]],
    [
      'redis',
      () => {
        const namespace = `test-${randomUUID()}`;
        namespaces.push(namespace);
        return ['--store', REDIS_URL, '--namespace', namespace];
      },
    ],
  ];

  for (const [name, storeArgs] of stores) {
    describe(name, () => {
      beforeAll(() => {
        if (name === 'redis' && !redisAvailable && ci) {
          throw new Error('CI=true and no Redis answers on 127.0.0.1:6379');
        }
      });

      it.skipIf(name === 'redis' && !redisAvailable && !ci)(
        'gives the task of a silent HTTP agent to a live one, and declares the silent one lost',
        async () => {
          const server = cli.start(['server', ...storeArgs(), '--port', '0']);
          await server.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 'stderr');
          const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stderr)![1]!;

          const register = async (agentName: string): Promise<string> => {
            const { status, body } = await post(`${url}/v1/agents`, {
              name: agentName,
              capabilities: [],
              concurrency: 1,
            });
            expect(status).toBe(201);
            return body['id'] as string;
          };
          const silent = await register('silent');
          const live = await register('live');

          const submitted = await post(`${url}/v1/tasks`, { type: 'job' });
          expect(submitted.status).toBe(201);
          const taskId = submitted.body['id'] as string;

          const first = await post(`${url}/v1/agents/${silent}/claim`, {
            max: 1,
            leaseTtlMs: 1000,
          });
          const firstLeases = first.body['leases'] as { taskId: string }[];
          expect(firstLeases.map((l) => l.taskId)).toEqual([taskId]);

          // The silent agent never heartbeats, renews or completes again. The live one
          // heartbeats and long-polls for work until it gets the task.
          const startedAt = Date.now();
          let leases: { taskId: string; attempt: number }[] = [];
          while (leases.length === 0) {
            if (Date.now() - startedAt > 20_000) break;
            await post(`${url}/v1/agents/${live}/heartbeat`, {});
            const claim = await post(`${url}/v1/agents/${live}/claim`, {
              max: 1,
              waitMs: 1000,
            });
            expect(claim.status).toBe(200);
            leases = claim.body['leases'] as { taskId: string; attempt: number }[];
          }
          const tookMs = Date.now() - startedAt;
          expect(
            leases.map((l) => l.taskId),
            'the live agent got the task',
          ).toEqual([taskId]);
          expect(leases[0]!.attempt).toBe(2);
          expect(tookMs, 'the task reached the live agent within 10 s').toBeLessThan(10_000);

          // The silent agent is declared lost (its TTL is 3 s) by the same sweeps.
          let state: unknown;
          for (let i = 0; i < 100 && state !== 'lost'; i++) {
            const agents = (await (await fetch(`${url}/v1/agents`)).json()) as {
              agents: { id: string; state: string }[];
            };
            state = agents.agents.find((a) => a.id === silent)?.state;
            if (state !== 'lost') await new Promise((r) => setTimeout(r, 100));
          }
          expect(state).toBe('lost');

          server.child.kill('SIGTERM');
          expect((await server.exited).code).toBe(0);
        },
      );
    });
  }

  it('does not sweep with --no-sweep: a silent agent keeps its task', async () => {
    const server = cli.start(['server', '--store', cli.store, '--port', '0', '--no-sweep']);
    await server.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 'stderr');
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stderr)![1]!;
    const { body: agent } = await post(`${url}/v1/agents`, { capabilities: [], concurrency: 1 });
    const { body: task } = await post(`${url}/v1/tasks`, { type: 'job' });
    const claim = await post(`${url}/v1/agents/${agent['id'] as string}/claim`, {
      max: 1,
      leaseTtlMs: 1000,
    });
    expect((claim.body['leases'] as unknown[]).length).toBe(1);
    // Past the lease and past the 3 s agent TTL: nothing in this process recovers the task.
    await new Promise((r) => setTimeout(r, 4000));
    const read = (await (await fetch(`${url}/v1/tasks/${task['id'] as string}`)).json()) as {
      task: { state: string };
    };
    expect(read.task.state).toBe('running');
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });
});
