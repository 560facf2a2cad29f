/**
 * What the Redis backend promises beyond the conformance suite: store URLs, the key layout (one
 * hash tag per namespace), large submissions staged in chunks yet atomic, clean-up of
 * submissions whose client died, sweep coordination between processes, blocking wake-ups across
 * instances, event-stream trimming, the eviction-policy warning, and failing fast when Redis is
 * gone. Runs on the Redis at 127.0.0.1:6379 (one namespace per test, deleted afterwards) and on
 * throwaway redis-servers for faults and configuration.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.ts';
import { openBackend, parseStoreUrl } from '../../src/backends/open.ts';
import {
  Keys,
  RedisBackend,
  parseRedisUrl,
  type RedisBackendOptions,
} from '../../src/backends/redis/index.ts';
import { defineScripts, script } from '../../src/backends/redis/scripts.ts';
import {
  commitArgs,
  planSubmission,
  stageChunks,
  taskArgs,
} from '../../src/backends/redis/submit.ts';
import { BatonError } from '../../src/core/errors.ts';
import type { TaskSpec } from '../../src/core/types.ts';
import { normalizeRun } from '../../src/core/validate.ts';
import { ManualClock } from '../helpers/clock.ts';
import { REDIS_URL, deleteNamespaces, redisAnswers } from '../helpers/redis.ts';
import { redisToolsAvailable, startServer, type TestServer } from '../helpers/redis-server.ts';

/** A run of `n` tasks: `n - 2` independent ones, a join of them all, and a task after the join. */
function bigRun(n: number): TaskSpec[] {
  const tasks: TaskSpec[] = Array.from({ length: n - 2 }, (_, i) => ({
    type: 'leaf',
    key: `t${i}`,
    payload: { i },
  }));
  tasks.push({ type: 'join', key: 'join', dependsOn: tasks.map((t) => t.key!) });
  tasks.push({ type: 'after', key: 'after', dependsOn: ['join'] });
  return tasks;
}

const available = await redisAnswers();
const ci = process.env.CI === 'true';
const tools = redisToolsAvailable();

describe('redis store URLs', () => {
  it('parses standalone, TLS and Cluster URLs', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toMatchObject({
      kind: 'standalone',
      nodes: [{ host: '127.0.0.1', port: 6380 }],
      db: 2,
      tls: false,
    });
    expect(parseRedisUrl('rediss://user:p%40ss@cache.example:6390')).toMatchObject({
      kind: 'standalone',
      tls: true,
      username: 'user',
      password: 'p@ss',
      display: 'rediss://user:***@cache.example:6390',
    });
    expect(parseRedisUrl('redis://localhost')).toMatchObject({
      nodes: [{ host: 'localhost', port: 6379 }],
      db: 0,
    });
    expect(parseRedisUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002')).toMatchObject({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
    });
  });

  it('refuses malformed URLs with BATON_STORE_URL, without echoing the password', () => {
    for (const url of [
      'redis://',
      'redis://host:99999',
      'redis://host/notadb',
      'redis://a:1,b:2',
      'redis+cluster://a:1/3',
      'redis://host?x=1',
    ]) {
      let error: unknown = null;
      try {
        parseRedisUrl(url);
      } catch (e) {
        error = e;
      }
      expect(error, url).toBeInstanceOf(BatonError);
      expect((error as BatonError).code, url).toBe('BATON_STORE_URL');
    }
    try {
      parseRedisUrl('redis://me:secret@host/x');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).not.toContain('secret');
    }
  });

  it('openBackend routes redis schemes to the Redis adapter', () => {
    expect(parseStoreUrl('redis://127.0.0.1:6379')).toEqual({
      kind: 'redis',
      url: 'redis://127.0.0.1:6379',
    });
    expect(parseStoreUrl('rediss+cluster://a:1,b:2')).toMatchObject({ kind: 'redis' });
  });

  it('refuses a namespace that would break the hash tag', async () => {
    await expect(RedisBackend.open(REDIS_URL, { namespace: 'a{b}' })).rejects.toMatchObject({
      code: 'BATON_VALIDATION',
    });
  });
});

describe.skipIf(!tools && !ci)('redis faults and configuration (throwaway servers)', () => {
  const servers: TestServer[] = [];
  const backends: Backend[] = [];
  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close()));
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  it('warns when the eviction policy can lose tasks, and not with noeviction', async () => {
    const lru = await startServer({ args: () => ['--maxmemory-policy', 'allkeys-lru'] });
    servers.push(lru);
    const warnings: string[] = [];
    backends.push(await RedisBackend.open(lru.url, { warn: (m) => warnings.push(m) }));
    expect(warnings, 'one warning naming the policy and the fix').toHaveLength(1);
    expect(warnings[0]).toMatch(/allkeys-lru.*noeviction/s);

    const safe = await startServer({ args: () => ['--maxmemory-policy', 'noeviction'] });
    servers.push(safe);
    const none: string[] = [];
    backends.push(await RedisBackend.open(safe.url, { warn: (m) => none.push(m) }));
    expect(none).toEqual([]);
  });

  it('waits for work, and ends aborted waits, for an ACL user without CLIENT ID and UNBLOCK', async () => {
    const server = await startServer();
    servers.push(server);
    const admin = new Redis({ port: server.port, maxRetriesPerRequest: 0 });
    try {
      await admin.acl(
        'SETUSER',
        'baton',
        'on',
        '>secret',
        '~*',
        '&*',
        '+@all',
        '-client|id',
        '-client|unblock',
      );
    } finally {
      admin.disconnect();
    }
    const backend = await RedisBackend.open(`redis://baton:secret@127.0.0.1:${server.port}`);
    backends.push(backend);
    for (let i = 0; i < 2; i++) {
      const controller = new AbortController();
      const wait = backend.waitForWork({
        capabilities: [],
        timeoutMs: 60_000,
        signal: controller.signal,
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      controller.abort();
      await wait;
    }
    const wait = backend.waitForWork({ capabilities: [], timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await backend.submitTasks([{ type: 'x' }]);
    await wait;
  });

  it('tolerates CONFIG being disabled', async () => {
    const locked = await startServer({
      args: () => ['--maxmemory-policy', 'allkeys-lru', '--rename-command', 'CONFIG', '""'],
    });
    servers.push(locked);
    const warnings: string[] = [];
    const backend = await RedisBackend.open(locked.url, { warn: (m) => warnings.push(m) });
    backends.push(backend);
    expect(warnings, 'nothing can be checked, nothing is claimed').toEqual([]);
    expect(await backend.submitTasks([{ type: 'x' }])).toHaveLength(1);
  });

  it('fails with StoreUnavailableError when Redis cannot be reached, at open and after', async () => {
    const server = await startServer();
    servers.push(server);
    const backend = await RedisBackend.open(server.url);
    backends.push(backend);
    await backend.submitTasks([{ type: 'before' }]);
    await server.stop();
    await expect(backend.submitTasks([{ type: 'after' }])).rejects.toMatchObject({
      name: 'StoreUnavailableError',
      code: 'BATON_STORE_UNAVAILABLE',
      retryable: true,
    });
    await expect(RedisBackend.open(server.url)).rejects.toMatchObject({
      code: 'BATON_STORE_UNAVAILABLE',
    });
  });

  it('reconnects by itself once Redis is back', async () => {
    const server = await startServer();
    servers.push(server);
    const backend = await RedisBackend.open(server.url);
    backends.push(backend);
    await server.stop();
    await expect(backend.stats()).rejects.toMatchObject({ code: 'BATON_STORE_UNAVAILABLE' });
    const again = await startServer({ port: server.port });
    servers.push(again);
    let submitted = false;
    for (let i = 0; i < 100 && !submitted; i++) {
      submitted = await backend.submitTasks([{ type: 'x' }]).then(
        () => true,
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          return false;
        },
      );
    }
    expect(submitted, 'a submit succeeds after the client reconnected').toBe(true);
  });
});

if (!available && !ci) {
  describe('redis backend', () => {
    it.skip(`needs Redis on 127.0.0.1:6379 (start one with 'redis-server'); skipped outside CI`, () => {});
  });
} else {
  describe('redis backend', () => {
    beforeAll(() => {
      if (!available)
        throw new Error(
          'CI=true and no Redis answers on 127.0.0.1:6379: the Redis backend cannot be tested',
        );
    });

    const namespaces: string[] = [];
    const open: Backend[] = [];
    let raw: Redis | null = null;
    const clock = new ManualClock();

    async function backend(
      namespace: string,
      options: RedisBackendOptions = {},
    ): Promise<RedisBackend> {
      const b = await RedisBackend.open(REDIS_URL, { clock: clock.now, namespace, ...options });
      open.push(b);
      return b;
    }

    function fresh(): string {
      const ns = `test-${randomUUID()}`;
      namespaces.push(ns);
      return ns;
    }

    /** A plain client with the adapter's scripts, to play a client that dies half-way. */
    function rawClient(): Redis {
      if (!raw) {
        raw = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 0 });
        defineScripts(raw);
      }
      return raw;
    }

    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close()));
      raw?.disconnect();
      raw = null;
      await deleteNamespaces(namespaces.splice(0));
    });

    it('accepts any namespace without braces, spaces and symbols included', async () => {
      const namespace = `my queue/${randomUUID()} ✓`;
      const b = await RedisBackend.open(REDIS_URL, { namespace });
      try {
        const [task] = await b.submitTasks([{ type: 'x' }]);
        expect((await b.getTask(task!.id))?.type).toBe('x');
      } finally {
        await b.close();
        await deleteNamespaces([namespace]);
      }
    });

    it('openBackend opens a redis:// URL with the Redis adapter', async () => {
      const b = await openBackend(REDIS_URL, { namespace: fresh(), clock: clock.now });
      open.push(b);
      expect(b.name).toBe('redis');
      expect(b.features).toEqual({ multiProcess: true, blockingWait: true });
      const [task] = await b.submitTasks([{ type: 'x' }]);
      expect((await b.getTask(task!.id))?.createdAt).toBe(clock.now());
    });

    it("decays an agent's count of recent claims with loadHalfLifeMs (the agent hash's rc)", async () => {
      const ns = fresh();
      const b = await backend(ns, { routing: { loadHalfLifeMs: 2000, agentLiveMs: 60_000 } });
      const agent = await b.registerAgent({ capabilities: [], concurrency: 4 });
      await b.submitTasks(Array.from({ length: 6 }, () => ({ type: 'x' })));
      const claim = (max: number) =>
        b.claim({ agentId: agent.id, capabilities: [], max, leaseTtlMs: 60_000 });
      const client = new Redis({ maxRetriesPerRequest: 0 });
      try {
        const recent = async () => Number(await client.hget(new Keys(ns).agent(agent.id), 'rc'));
        expect(await claim(2)).toHaveLength(2);
        expect(await recent()).toBe(2);
        clock.advance(2000); // one half-life: 2 -> 1, plus the 2 claimed now
        expect(await claim(2)).toHaveLength(2);
        expect(await recent()).toBeCloseTo(3, 9);
        clock.advance(4000); // two half-lives: 3 -> 0.75, plus 2
        expect(await claim(2)).toHaveLength(2);
        expect(await recent()).toBeCloseTo(2.75, 9);
      } finally {
        client.disconnect();
      }
    });

    it('drops the stall marks earlier builds kept in the routing summaries (ar <id>|s) as agents register and leave', async () => {
      const ns = fresh();
      const b = await backend(ns);
      const staying = await b.registerAgent({ capabilities: [], concurrency: 1 });
      const leaving = await b.registerAgent({ capabilities: [], concurrency: 1 });
      const client = new Redis({ maxRetriesPerRequest: 0 });
      try {
        const ar = `${new Keys(ns).prefix}ar`;
        // As an earlier build left them: a stall mark per agent in ar.
        await client.hset(ar, `${staying.id}|s`, '1', `${leaving.id}|s`, '1');
        await b.registerAgent({ id: staying.id, capabilities: [], concurrency: 2 });
        await b.deregisterAgent(leaving.id);
        expect(await client.hmget(ar, `${staying.id}|s`, `${leaving.id}|s`)).toEqual([null, null]);
      } finally {
        client.disconnect();
      }
    });

    it('keeps every key of a namespace under one hash tag (one Cluster slot)', async () => {
      const ns = fresh();
      const b = await backend(ns);
      const agent = await b.registerAgent({ capabilities: ['gpu'], concurrency: 2 });
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a', requires: ['gpu'], idempotencyKey: 'k' },
          { type: 'x', key: 'b', dependsOn: ['a'], runAfter: clock.now() + 10 },
        ],
      });
      const [lease] = await b.claim({
        agentId: agent.id,
        capabilities: ['gpu'],
        max: 1,
        leaseTtlMs: 1000,
      });
      await b.complete([
        { taskId: lease!.taskId, token: lease!.token, agentId: lease!.agentId, result: 1 },
      ]);
      await b.waitForWork({ capabilities: [], timeoutMs: 1 });
      await b.cancelRun(run.runId);
      const client = new Redis({ maxRetriesPerRequest: 0 });
      try {
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, page] = await client.scan(
            cursor,
            'MATCH',
            new Keys(ns).pattern(),
            'COUNT',
            1000,
          );
          cursor = next;
          keys.push(...page);
        } while (cursor !== '0');
        expect(keys.length, 'the workload wrote keys').toBeGreaterThan(10);
        // Redis Cluster hashes only the part between the first '{' and the next '}' when it is
        // not empty: the same tag means the same slot.
        const tags = new Set(keys.map((k) => /^[^{]*\{([^}]+)\}/.exec(k)?.[1] ?? `untagged: ${k}`));
        expect([...tags], 'every key carries the one hash tag of the namespace').toEqual([
          `baton:${ns}`,
        ]);
      } finally {
        client.disconnect();
      }
    });

    describe('large submissions (staged in chunks)', () => {
      it('stores a 1,200-task run whole: states, counts, events, FIFO order, dependencies', async () => {
        const b = await backend(fresh());
        const run = await b.submitRun({ name: 'big', tasks: bigRun(1200) });
        expect(run.tasks).toHaveLength(1200);
        expect(run.tasks.filter((t) => t.state === 'ready')).toHaveLength(1198);
        expect(run.tasks.slice(-2).map((t) => t.state)).toEqual(['blocked', 'blocked']);
        const record = await b.getRun(run.runId);
        expect(record?.progress).toMatchObject({ total: 1200, done: 0 });
        expect(record?.progress.byState).toMatchObject({ ready: 1198, blocked: 2 });
        expect((await b.stats()).byState).toMatchObject({ ready: 1198, blocked: 2 });

        const events = [];
        for (let page = await b.readEvents({ limit: 1000 }); page.length > 0;) {
          events.push(...page);
          page = await b.readEvents({ since: page.at(-1)!.id, limit: 1000 });
        }
        expect(events.filter((e) => e.type === 'run.submitted')).toHaveLength(1);
        expect(
          new Set(events.filter((e) => e.type === 'task.submitted').map((e) => e.taskId)).size,
        ).toBe(1200);

        const agent = await b.registerAgent({ capabilities: [], concurrency: 1200 });
        const leases = [];
        for (;;) {
          const got = await b.claim({
            agentId: agent.id,
            capabilities: [],
            max: 500,
            leaseTtlMs: 60_000,
          });
          if (got.length === 0) break;
          leases.push(...got);
        }
        expect(
          leases.map((l) => (l.task.payload as { i: number }).i),
          'claimed in submission order',
        ).toEqual(Array.from({ length: 1198 }, (_, i) => i));
        for (let i = 0; i < leases.length; i += 300) {
          const outcomes = await b.complete(
            leases.slice(i, i + 300).map((l) => ({
              taskId: l.taskId,
              token: l.token,
              agentId: l.agentId,
              result: l.task.key,
            })),
          );
          expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
        }
        const [join] = await b.claim({
          agentId: agent.id,
          capabilities: [],
          max: 10,
          leaseTtlMs: 60_000,
        });
        expect(join?.task.key, 'the join is ready once its 1,198 dependencies succeeded').toBe(
          'join',
        );
        expect(Object.keys(join!.dependencies)).toHaveLength(1198);
      });

      it('stores nothing when the run is invalid or an idempotency key is taken', async () => {
        const b = await backend(fresh());
        const cyclic = bigRun(800);
        cyclic[0] = { type: 'leaf', key: 't0', dependsOn: ['after'] };
        await expect(b.submitRun({ tasks: cyclic })).rejects.toMatchObject({ code: 'BATON_CYCLE' });
        expect((await b.listTasks()).tasks).toEqual([]);
        expect(await b.readEvents()).toEqual([]);

        const [first] = await b.submitTasks([{ type: 'x', idempotencyKey: 'once' }]);
        const batch = Array.from({ length: 700 }, (_, i): TaskSpec => ({ type: 'y', payload: i }));
        batch[350] = { type: 'x', idempotencyKey: 'once' };
        const answers = await b.submitTasks(batch);
        expect(answers[350]).toMatchObject({ id: first!.id, existing: true });
        expect(answers.filter((a) => a.existing)).toHaveLength(1);
        expect((await b.stats()).byState.ready, 'the existing task is not stored twice').toBe(700);
      });

      it('adds more than a chunk of tasks to a running run, depending on its tasks', async () => {
        const b = await backend(fresh());
        const run = await b.submitRun({
          tasks: [
            { type: 'fanout', key: 'plan' },
            { type: 'done', key: 'done' },
          ],
        });
        const agent = await b.registerAgent({ capabilities: [], concurrency: 10 });
        const [first] = await b.claim({
          agentId: agent.id,
          capabilities: [],
          max: 1,
          leaseTtlMs: 60_000,
        });
        expect(first?.task.key).toBe('plan');
        const [second] = await b.claim({
          agentId: agent.id,
          capabilities: [],
          max: 1,
          leaseTtlMs: 60_000,
        });
        await b.complete([
          {
            taskId: second!.taskId,
            token: second!.token,
            agentId: second!.agentId,
            result: 'early',
          },
        ]);
        const added = await b.submitTasks(
          Array.from({ length: 600 }, (_, i): TaskSpec => ({
            type: 'work',
            key: `w${i}`,
            dependsOn: [i % 2 === 0 ? 'plan' : 'done'],
          })),
          { runId: run.runId },
        );
        expect(
          added.filter((t) => t.state === 'ready'),
          "the half after 'done' is ready at once",
        ).toHaveLength(300);
        expect(
          added.filter((t) => t.state === 'blocked'),
          "the half after 'plan' waits",
        ).toHaveLength(300);
        expect((await b.getRun(run.runId))?.progress.total).toBe(602);
        await b.complete([
          {
            taskId: first!.taskId,
            token: first!.token,
            agentId: first!.agentId,
            result: 'planned',
          },
        ]);
        expect(
          (await b.stats()).byState.ready,
          'completing plan released its 300 dependents at once',
        ).toBe(600);
      });

      it('a submission whose client died while staging is invisible, then deleted by the sweep', async () => {
        const ns = fresh();
        const b = await backend(ns, { abandonedSubmissionMs: 60_000 });
        const keys = new Keys(ns);
        const now = clock.now();
        const run = normalizeRun({ tasks: bigRun(900) }, { now });
        const plan = planSubmission(run.tasks, {
          mode: 'new',
          runId: 'run_dead',
          runName: 'dead',
          keysVersion: '0',
          now,
          byIdem: new Map(),
          byKey: new Map(),
        });
        const [chunk] = stageChunks(plan);
        const args: (string | number)[] = [
          now,
          1000,
          'sid-dead',
          'run_dead',
          'new',
          plan.tasks.length,
          chunk!.length,
        ];
        for (const p of chunk!) taskArgs(p, args);
        const client = rawClient();
        await (client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
          script('submit-stage').command
        ]!(
          ...keys.common,
          keys.tasks,
          keys.seq,
          keys.queues,
          keys.queueIds,
          keys.filters,
          keys.pending,
          ...args,
        );
        // The client died here: half of the run is in Redis, none of it must be seen.
        const agent = await b.registerAgent({ capabilities: [], concurrency: 10 });
        expect(
          await b.claim({ agentId: agent.id, capabilities: [], max: 10, leaseTtlMs: 1000 }),
        ).toEqual([]);
        expect((await b.listTasks()).tasks).toEqual([]);
        expect(await b.getTask(chunk![0]!.id)).toBeNull();
        expect(await b.getRun('run_dead')).toBeNull();
        expect((await b.stats()).byState.ready).toBe(0);
        expect((await b.readEvents()).map((e) => e.type)).toEqual(['agent.joined']);

        await b.sweep({ agentTtlMs: 1e9 });
        expect(
          await client.exists(keys.task(chunk![0]!.id)),
          'kept while it may still be committed',
        ).toBe(1);
        clock.advance(60_001);
        await b.sweep({ agentTtlMs: 1e9 });
        expect(await client.exists(keys.task(chunk![0]!.id)), 'deleted once abandoned').toBe(0);
        expect(await client.zcard(keys.tasks)).toBe(0);
        expect(await client.zcard(keys.pending)).toBe(0);
      });

      it('a submission whose client died after its commit is published by the sweep', async () => {
        const ns = fresh();
        const b = await backend(ns, { unpublishedSubmissionMs: 10_000 });
        const keys = new Keys(ns);
        const now = clock.now();
        const run = normalizeRun({ tasks: bigRun(700) }, { now });
        const plan = planSubmission(run.tasks, {
          mode: 'new',
          runId: 'run_half',
          runName: 'half',
          keysVersion: '0',
          now,
          byIdem: new Map(),
          byKey: new Map(),
        });
        const client = rawClient() as unknown as Record<
          string,
          (...a: unknown[]) => Promise<unknown>
        >;
        for (const chunk of stageChunks(plan)) {
          const args: (string | number)[] = [
            now,
            1000,
            'sid-half',
            'run_half',
            'new',
            plan.tasks.length,
            chunk.length,
          ];
          for (const p of chunk) taskArgs(p, args);
          await client[script('submit-stage').command]!(
            ...keys.common,
            keys.tasks,
            keys.seq,
            keys.queues,
            keys.queueIds,
            keys.filters,
            keys.pending,
            ...args,
          );
        }
        const committed = (await client[script('submit-commit').command]!(
          ...keys.common,
          keys.tasks,
          keys.runs,
          keys.idem,
          keys.seq,
          keys.pending,
          keys.publishing,
          keys.pubcur,
          now,
          1000,
          'sid-half',
          plan.tasks.length,
          ...commitArgs(plan),
        )) as unknown[];
        expect(committed[0]).toBe('ok');
        // The client died before publishing: the run exists, its ready tasks are not queued yet.
        expect((await b.getRun('run_half'))?.progress.total).toBe(700);
        const agent = await b.registerAgent({ capabilities: [], concurrency: 10 });
        expect(
          await b.claim({ agentId: agent.id, capabilities: [], max: 10, leaseTtlMs: 1000 }),
        ).toEqual([]);
        clock.advance(10_001);
        await b.sweep({ agentTtlMs: 1e9 });
        const leases = await b.claim({
          agentId: agent.id,
          capabilities: [],
          max: 1000,
          leaseTtlMs: 1000,
        });
        expect(leases, 'every ready task of the run is queued once').toHaveLength(698);
        const submitted = [];
        for (let page = await b.readEvents({ limit: 1000 }); page.length > 0;) {
          submitted.push(...page.filter((e) => e.type === 'task.submitted'));
          page = await b.readEvents({ since: page.at(-1)!.id, limit: 1000 });
        }
        expect(submitted, 'one task.submitted per task').toHaveLength(700);
      });
    });

    it('cancelling a run leaves alone a large addition still being staged, whose commit is then refused', async () => {
      const ns = fresh();
      const b = await backend(ns);
      const keys = new Keys(ns);
      const run = await b.submitRun({ tasks: [{ type: 'x', key: 'root' }] });
      const now = clock.now();
      const specs = bigRun(600).map((t): TaskSpec => ({ type: t.type, key: `add-${t.key}` }));
      const tasks = normalizeRun({ tasks: specs }, { now }).tasks;
      const plan = planSubmission(tasks, {
        mode: 'add',
        runId: run.runId,
        runName: '',
        keysVersion: '0',
        now,
        byIdem: new Map(),
        byKey: new Map(),
      });
      const client = rawClient() as unknown as Record<
        string,
        (...a: unknown[]) => Promise<unknown>
      >;
      const [chunk] = stageChunks(plan);
      const args: (string | number)[] = [
        now,
        1000,
        'sid-add',
        run.runId,
        'add',
        plan.tasks.length,
        chunk!.length,
      ];
      for (const p of chunk!) taskArgs(p, args);
      await client[script('submit-stage').command]!(
        ...keys.common,
        keys.tasks,
        keys.seq,
        keys.queues,
        keys.queueIds,
        keys.filters,
        keys.pending,
        ...args,
      );

      const cancelled = await b.cancelRun(run.runId);
      expect(cancelled.progress, 'only the committed task counts').toMatchObject({ total: 1 });
      expect(cancelled.progress.byState.cancelled).toBe(1);
      expect((await b.stats()).byState.cancelled, 'the staged tasks were not cancelled').toBe(1);
      const refused = (await client[script('submit-commit').command]!(
        ...keys.common,
        keys.tasks,
        keys.runs,
        keys.idem,
        keys.seq,
        keys.pending,
        keys.publishing,
        keys.pubcur,
        now,
        1000,
        'sid-add',
        plan.tasks.length,
        ...commitArgs(plan),
      )) as unknown[];
      expect(refused).toEqual(['closed', 'cancelled']);
    });

    it('an idle worker wakes when a delayed task becomes due', async () => {
      const b = await backend(fresh());
      await b.submitTasks([{ type: 'later', runAfter: clock.now() + 50 }]);
      // The clock does not move: the wait is cut to the task's runAfter, 50 ms of real time.
      await b.waitForWork({ capabilities: [], timeoutMs: 60_000 });
      clock.advance(50);
      const agent = await b.registerAgent({ capabilities: [], concurrency: 1 });
      expect(
        await b.claim({ agentId: agent.id, capabilities: [], max: 1, leaseTtlMs: 1000 }),
      ).toHaveLength(1);
    });

    it('sweeps are coordinated: one process sweeps while it holds the lock, another takes over after', async () => {
      const ns = fresh();
      const one = await backend(ns, { sweepLockMs: 60_000 });
      const two = await backend(ns, { sweepLockMs: 60_000 });
      const agent = await one.registerAgent({ capabilities: [], concurrency: 2 });
      await one.submitTasks([{ type: 'x' }, { type: 'y' }]);
      await one.claim({ agentId: agent.id, capabilities: [], max: 2, leaseTtlMs: 1000 });
      expect(
        (await one.sweep({ agentTtlMs: 1e9 })).expired,
        'nothing expired yet; one now sweeps',
      ).toBe(0);
      clock.advance(1001);
      expect(
        (await two.sweep({ agentTtlMs: 1e9 })).expired,
        'two does nothing while one holds the sweep',
      ).toBe(0);
      expect((await one.sweep({ agentTtlMs: 1e9 })).expired, 'the holder sweeps').toBe(2);
      await one.claim({ agentId: agent.id, capabilities: [], max: 2, leaseTtlMs: 1000 });
      clock.advance(1001);
      await one.close();
      expect(
        (await two.sweep({ agentTtlMs: 1e9 })).expired,
        'after the holder closed, two sweeps',
      ).toBe(2);
    });

    it('an idle worker in another process wakes on a submit, without polling, and only for work it can take', async () => {
      const ns = fresh();
      const producer = await backend(ns);
      const worker = await backend(ns);
      let woke = false;
      const waiting = worker
        .waitForWork({ capabilities: ['gpu'], timeoutMs: 30_000 })
        .then(() => (woke = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await producer.submitTasks([{ type: 'cpu-only', requires: ['cpu'] }]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(woke, 'a task the worker cannot take does not wake it').toBe(false);
      await producer.submitTasks([{ type: 'train', requires: ['gpu'] }]);
      await waiting;
      expect(woke).toBe(true);
    });

    it('an abort ends a blocked wait and a blocked event read', async () => {
      const b = await backend(fresh());
      const controller = new AbortController();
      const wait = b.waitForWork({
        capabilities: [],
        timeoutMs: 60_000,
        signal: controller.signal,
      });
      const read = b.readEvents({ blockMs: 60_000, signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, 50));
      controller.abort();
      await wait;
      expect(await read).toEqual([]);
      // The pool still serves blocking calls after connections were dropped.
      await b.submitTasks([{ type: 'x' }]);
      await b.waitForWork({ capabilities: [], timeoutMs: 60_000 });
    });

    it('an aborted wait gives its connection back for the next wait (no reconnect)', async () => {
      const ns = fresh();
      const b = await backend(ns);
      const client = new Redis({ maxRetriesPerRequest: 0 });
      /** Ids of this namespace's connections blocked in BZPOPMIN, once there is one. */
      const blocked = async (): Promise<string[]> => {
        for (;;) {
          const list = (await client.client('LIST')) as string;
          const ids = list
            .split('\n')
            .filter((line) => line.includes(` name=baton:${ns} `) && / cmd=bzpopmin /.test(line))
            .map((line) => /^id=(\d+)/.exec(line)![1]!);
          if (ids.length > 0) return ids;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      };
      try {
        const ids: string[][] = [];
        for (let i = 0; i < 3; i++) {
          const controller = new AbortController();
          const wait = b.waitForWork({
            capabilities: [],
            timeoutMs: 60_000,
            signal: controller.signal,
          });
          ids.push(await blocked());
          controller.abort();
          await wait;
        }
        expect(ids, 'the same one connection blocked each time').toEqual([ids[0], ids[0], ids[0]]);
        expect(ids[0]).toHaveLength(1);
        // It still wakes up for work.
        const wait = b.waitForWork({ capabilities: [], timeoutMs: 60_000 });
        await blocked();
        await b.submitTasks([{ type: 'x' }]);
        await wait;
      } finally {
        client.disconnect();
      }
    });

    it('close ends blocked waits and refuses later calls with BATON_CLOSED', async () => {
      const b = await backend(fresh());
      const wait = b.waitForWork({ capabilities: [], timeoutMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await b.close();
      await wait;
      await expect(b.submitTasks([{ type: 'x' }])).rejects.toMatchObject({ code: 'BATON_CLOSED' });
    });

    it('an agent that leaves takes its wake-up marker with it (no key outlives it)', async () => {
      const ns = fresh();
      const b = await backend(ns);
      const agent = await b.registerAgent({ capabilities: [], concurrency: 1 });
      const keys = new Keys(ns);
      const client = new Redis({ maxRetriesPerRequest: 0 });
      try {
        // The marker a claim leaves for an agent it deferred tasks to (routing).
        await client.zadd(keys.agentWakeMarker(agent.id), 0, 'm');
        await b.deregisterAgent(agent.id);
        expect(await client.exists(keys.agentWakeMarker(agent.id))).toBe(0);
        expect(await client.exists(keys.agentLeases(agent.id))).toBe(0);
      } finally {
        client.disconnect();
      }
    });

    it('trims the event stream to about eventsMaxLen, and a stale id still resumes', async () => {
      const b = await backend(fresh(), { eventsMaxLen: 100 });
      const [first] = await b.submitTasks([{ type: 'first' }]);
      const firstEvent = (await b.readEvents())[0]!;
      expect(firstEvent.taskId).toBe(first!.id);
      for (let i = 0; i < 10; i++)
        await b.submitTasks(Array.from({ length: 100 }, () => ({ type: 'x' })));
      const rest = await b.readEvents({ since: firstEvent.id, limit: 10_000 });
      expect(rest.length, 'old events were trimmed').toBeLessThan(1000);
      expect(rest.length, 'roughly eventsMaxLen are kept').toBeGreaterThanOrEqual(100);
      expect(rest.every((e) => e.type === 'task.submitted')).toBe(true);
    });

    describe('small submissions called together (one script call for the group)', () => {
      /** The task.submitted events of the namespace, oldest first: [task id, event time]. */
      async function submittedEvents(b: RedisBackend): Promise<[string, number][]> {
        const events = await b.readEvents({ limit: 10_000 });
        return events.filter((e) => e.type === 'task.submitted').map((e) => [e.taskId!, e.at]);
      }

      it('sends 100 concurrent submissions in few calls, each stored once with its own answer, in call order', async () => {
        const b = await backend(fresh());
        const before = b.commits;
        const calls = Array.from({ length: 100 }, (_, i) =>
          i === 55
            ? b.submitTasks([{ type: 'bad', priority: 1.5 }]) // invalid: rejected before grouping
            : i % 10 === 0
              ? b
                  .submitRun({
                    name: `run${i}`,
                    tasks: [
                      { type: 'first', key: 'a', payload: { i } },
                      { type: 'second', key: 'b', dependsOn: ['a'], payload: { i } },
                    ],
                  })
                  .then((r) => r.tasks)
              : b.submitTasks([{ type: 'one', payload: { i } }]),
        );
        const settled = await Promise.allSettled(calls);
        expect(settled[55]).toMatchObject({
          status: 'rejected',
          reason: { code: 'BATON_VALIDATION' },
        });
        const answers = settled.flatMap((s, i) => {
          if (i === 55) return [];
          expect(s.status, `submission ${i}`).toBe('fulfilled');
          return (s as PromiseFulfilledResult<{ id: string; state: string; existing: boolean }[]>)
            .value;
        });
        expect(answers).toHaveLength(99 + 10);
        expect(new Set(answers.map((a) => a.id)).size, 'every task its own id').toBe(109);
        expect(answers.every((a) => !a.existing)).toBe(true);
        const groups = b.commits - before;
        expect(groups, 'at most 64 submissions per call').toBeGreaterThanOrEqual(2);
        expect(groups, 'grouped, not one call each').toBeLessThanOrEqual(3);

        // Stored once each, with the payload of its own call, and announced in call order.
        expect(
          (await submittedEvents(b)).map(([id]) => id),
          'task.submitted in the order the submissions were called',
        ).toEqual(answers.map((a) => a.id));
        const tasks = await b.listTasks({ limit: 1000 });
        expect(tasks.tasks.map((t) => t.id)).toEqual(answers.map((a) => a.id));
        for (const [i, s] of settled.entries()) {
          if (s.status !== 'fulfilled') continue;
          for (const answer of s.value) {
            expect((await b.getTask(answer.id))?.payload).toEqual({ i });
          }
        }
        expect((await b.stats()).byState).toMatchObject({ ready: 99, blocked: 10 });
        const runs = await b.listRuns({ limit: 100, order: 'asc' });
        expect(runs.runs.map((r) => r.name)).toEqual(
          Array.from({ length: 10 }, (_, k) => `run${k * 10}`),
        );
        for (const run of runs.runs) {
          expect(run.progress.byState).toMatchObject({ ready: 1, blocked: 1 });
        }
      });

      it('a refused submission in the middle writes nothing while the others commit; it is answered as if sequential', async () => {
        const ns = fresh();
        const b = await backend(ns);
        const t0 = clock.now();
        const before = b.commits;
        // A submission in flight: the four made meanwhile wait for its answer and go together.
        const primer = b.submitTasks([{ type: 'primer' }]);
        // C was planned while K looked free, like A: the script refuses C (K taken by A), then
        // the adapter plans C again, answering K's task as existing, and sends the rest of C.
        const a = b.submitTasks([{ type: 'a', idempotencyKey: 'K', payload: 1 }]);
        const bb = b.submitTasks([{ type: 'b' }]);
        clock.advance(5);
        const c = b.submitTasks([
          { type: 'c', idempotencyKey: 'K', payload: 2 },
          { type: 'c-rest', key: 'rest' },
        ]);
        const d = b.submitTasks([{ type: 'd' }]);
        const [[tp], [ta], [tb], [tk, tc], [td]] = await Promise.all([primer, a, bb, c, d]);
        expect(tk).toEqual({ id: ta!.id, key: null, existing: true, state: 'ready' });
        expect(tc).toMatchObject({ key: 'rest', existing: false, state: 'ready' });
        expect(
          b.commits - before,
          'the primer alone, the group of four, then the rest of C alone',
        ).toBe(3);

        const events = await submittedEvents(b);
        expect(
          events.map(([id]) => id),
          'A, B, D in the group; C refused there, stored after',
        ).toEqual([tp!.id, ta!.id, tb!.id, td!.id, tc!.id]);
        expect(
          events.map(([, at]) => at),
          'each submission at its own time',
        ).toEqual([t0, t0, t0, t0 + 5, t0 + 5]);
        expect((await b.getTask(ta!.id))?.payload, 'K keeps the first payload').toBe(1);
        // Nothing of C's refused attempt is left: four tasks in the index, counts and events.
        const raw = new Redis({ maxRetriesPerRequest: 0 });
        try {
          const keys = new Keys(ns);
          expect(await raw.zcard(keys.tasks)).toBe(5);
          expect(await raw.hgetall(keys.idem)).toEqual({ K: ta!.id });
        } finally {
          raw.disconnect();
        }
        expect((await b.stats()).byState).toMatchObject({ ready: 5 });
      });

      it('the same idempotency key twice in one group: the second answers existing, in one call', async () => {
        const b = await backend(fresh());
        const before = b.commits;
        // A submission in flight: the two made meanwhile wait for its answer and go together.
        const [, [first], [second]] = await Promise.all([
          b.submitTasks([{ type: 'primer' }]),
          b.submitTasks([{ type: 'x', idempotencyKey: 'same' }]),
          b.submitTasks([{ type: 'x', idempotencyKey: 'same' }]),
        ]);
        expect(first).toMatchObject({ existing: false });
        expect(second).toEqual({ ...first, existing: true });
        expect(b.commits - before, 'the primer, then the two in one call').toBe(2);
        expect((await b.listTasks()).tasks).toHaveLength(2);
      });

      it('a lone submission goes out at once, alone, and before a later command of the same caller', async () => {
        const b = await backend(fresh());
        const agent = await b.registerAgent({ capabilities: [], concurrency: 1 });
        const before = b.commits;
        const submitted = b.submitTasks([{ type: 'x' }]);
        // The submit is not awaited: the claim, called after it, must still find its task.
        const claimed = b.claim({ agentId: agent.id, capabilities: [], max: 1, leaseTtlMs: 1000 });
        const [task] = await submitted;
        expect((await claimed).map((l) => l.taskId)).toEqual([task!.id]);
        expect(b.commits - before).toBe(1);
      });

      it.skipIf(!tools && !ci)(
        'when the call fails (Redis down), every submission of the group rejects with StoreUnavailableError',
        async () => {
          const server = await startServer();
          const down = await RedisBackend.open(server.url, { clock: clock.now });
          open.push(down);
          try {
            await down.submitTasks([{ type: 'before' }]);
            await server.stop();
            const before = down.commits;
            // A submission in flight: the five made meanwhile wait for it and go together.
            const primer = down.submitTasks([{ type: 'primer' }]);
            const settled = await Promise.allSettled(
              Array.from({ length: 5 }, () => down.submitTasks([{ type: 'x' }])),
            );
            await expect(primer).rejects.toMatchObject({ code: 'BATON_STORE_UNAVAILABLE' });
            expect(down.commits - before, 'the primer, then one call for the five').toBe(2);
            const reasons: unknown[] = settled.map((s) =>
              s.status === 'rejected' ? (s.reason as unknown) : s,
            );
            for (const reason of reasons) {
              expect(reason).toMatchObject({
                name: 'StoreUnavailableError',
                code: 'BATON_STORE_UNAVAILABLE',
              });
            }
            expect(new Set(reasons).size, 'the one error of the call').toBe(1);
          } finally {
            await server.stop();
          }
        },
      );
    });
  });
}
