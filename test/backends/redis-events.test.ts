/**
 * The Redis event stream with packed entries: a script call writes all its events as one stream
 * entry (lua/includes/common.lua), whose events get ids `<entry id>-<i>` (codec.ts toEvents).
 * Reading, resuming, paging, blocking and trimming must work in events, whatever the entries.
 * Runs on the Redis at 127.0.0.1:6379, one namespace per test, deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Keys, RedisBackend, type RedisBackendOptions } from '../../src/backends/redis/index.ts';
import { ValidationError } from '../../src/core/errors.ts';
import type { BatonEvent } from '../../src/core/types.ts';
import { ManualClock } from '../helpers/clock.ts';
import { REDIS_URL, deleteNamespaces, redisAnswers } from '../helpers/redis.ts';

const available = await redisAnswers();
const ci = process.env.CI === 'true';

/** Every event of the store, paging with `limit`. */
async function readAll(b: RedisBackend, limit = 500, since?: string): Promise<BatonEvent[]> {
  const all: BatonEvent[] = [];
  let cursor = since;
  for (;;) {
    const page = await b.readEvents(cursor === undefined ? { limit } : { since: cursor, limit });
    all.push(...page);
    if (page.length < limit) return all;
    cursor = page.at(-1)!.id;
  }
}

if (!available && !ci) {
  describe('redis event stream', () => {
    it.skip(`needs Redis on 127.0.0.1:6379 (start one with 'redis-server'); skipped outside CI`, () => {});
  });
} else {
  describe('redis event stream (one entry per script call)', () => {
    beforeAll(() => {
      if (!available)
        throw new Error(
          'CI=true and no Redis answers on 127.0.0.1:6379: the Redis backend cannot be tested',
        );
    });

    const namespaces: string[] = [];
    const open: RedisBackend[] = [];
    const clients: Redis[] = [];
    const clock = new ManualClock();

    async function backend(options: RedisBackendOptions = {}): Promise<RedisBackend> {
      const namespace = `test-${randomUUID()}`;
      namespaces.push(namespace);
      const b = await RedisBackend.open(REDIS_URL, { clock: clock.now, namespace, ...options });
      open.push(b);
      return b;
    }

    function client(): Redis {
      const c = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 0 });
      clients.push(c);
      return c;
    }

    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close()));
      for (const c of clients.splice(0)) c.disconnect();
      await deleteNamespaces(namespaces.splice(0));
    });

    /** A backend with `n` ready tasks and an agent that claims them all in one call. */
    async function claimedMany(n: number, agentId?: string) {
      const b = await backend();
      await b.submitTasks(Array.from({ length: n }, (_, i) => ({ type: 'x', payload: { i } })));
      const agent = await b.registerAgent({
        ...(agentId === undefined ? {} : { id: agentId }),
        capabilities: [],
        concurrency: n,
      });
      const before = await b.lastEventId();
      const leases = await b.claim({
        agentId: agent.id,
        capabilities: [],
        max: n,
        leaseTtlMs: 60_000,
      });
      expect(leases.length, 'one claim took every task').toBe(n);
      return { b, agent, leases, before: before! };
    }

    it('a claim of many tasks is one stream entry; its events come in order with distinct ids', async () => {
      const { b, agent, leases, before } = await claimedMany(120);
      const claimed = await b.readEvents({ since: before, limit: 10_000 });
      expect(
        claimed.map((e) => [e.type, e.taskId, e.agentId]),
        'one task.claimed per lease, in claim order',
      ).toEqual(leases.map((l) => ['task.claimed', l.taskId, agent.id]));
      const ids = claimed.map((e) => e.id);
      expect(new Set(ids).size, 'distinct ids').toBe(ids.length);
      const entry = ids[0]!.replace(/-0$/, '');
      expect(ids, 'numbered within their entry').toEqual(ids.map((_, i) => `${entry}-${i}`));
      expect(claimed.every((e) => e.at === clock.now() && e.runId === null)).toBe(true);
      expect(claimed[0]!.data).toEqual({ attempt: 1, token: 1 });

      // What is stored: one entry with one field b for the claim; the lone agent.joined event
      // before it keeps the one-event format.
      const raw = client();
      const keys = new Keys(namespaces.at(-1)!);
      const joined = await raw.xrange(keys.events, before, before);
      expect(joined.length, 'the lone agent.joined entry').toBe(1);
      expect(joined[0]![1].filter((_, i) => i % 2 === 0)).toEqual([
        't',
        'at',
        'task',
        'run',
        'agent',
        'd',
      ]);
      const after = await raw.xrange(keys.events, `(${before}`, '+');
      expect(after.length, 'the claim wrote one entry').toBe(1);
      expect(after[0]![0]).toBe(entry);
      expect(after[0]![1][0]).toBe('b');
      expect(await raw.hget(keys.eventsMeta, 'n'), 'every event is counted').toBe(
        String(120 + 1 + 120),
      );
    });

    it('resuming from an id inside a packed entry gives exactly the rest, then later entries', async () => {
      const { b, before } = await claimedMany(30);
      const claimed = await b.readEvents({ since: before });
      await b.submitTasks([{ type: 'later' }, { type: 'later' }]);
      const all = await readAll(b);
      const first = all.findIndex((e) => e.id === claimed[0]!.id);
      for (const k of [0, 10, 28, 29]) {
        const since = claimed[k]!.id;
        const rest = await b.readEvents({ since });
        expect(
          rest.map((e) => e.id),
          `since ${since}`,
        ).toEqual(all.slice(first + k + 1).map((e) => e.id));
      }
      const tail = await b.readEvents({ since: claimed[29]!.id });
      expect(tail.map((e) => e.type)).toEqual(['task.submitted', 'task.submitted']);
      // A plain entry id of a packed entry means after the whole entry.
      const entry = claimed[0]!.id.replace(/-0$/, '');
      expect((await b.readEvents({ since: entry })).map((e) => e.id)).toEqual(
        tail.map((e) => e.id),
      );
    });

    it('a limit smaller than a packed entry pages through it without loss or repeats', async () => {
      const { b } = await claimedMany(57);
      await b.recordEvent({ type: 'pool.scaled_up', data: { n: 1 } });
      const whole = await b.readEvents({ limit: 10_000 });
      expect(whole.length, 'submitted, joined, claimed, recorded').toBe(57 + 1 + 57 + 1);
      for (const limit of [1, 7, 50, 56, 57, 58]) {
        const paged = await readAll(b, limit);
        expect(
          paged.map((e) => e.id),
          `pages of ${limit}`,
        ).toEqual(whole.map((e) => e.id));
      }
      // Fresh instances (which have not learned how full entries are) read the same pages.
      const ns = namespaces.at(-1)!;
      const other = await RedisBackend.open(REDIS_URL, { clock: clock.now, namespace: ns });
      open.push(other);
      expect((await readAll(other, 5)).map((e) => e.id)).toEqual(whole.map((e) => e.id));
      expect(await other.readEvents({ limit: 3 })).toEqual(whole.slice(0, 3));
    });

    it('a blocking read wakes for a packed entry, from the end of an entry or from inside one', async () => {
      const b = await backend();
      const agent = await b.registerAgent({ capabilities: [], concurrency: 10 });
      const last = (await b.lastEventId())!;
      const waiting = b.readEvents({ since: last, blockMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await b.submitTasks(Array.from({ length: 5 }, () => ({ type: 'x' })));
      const woke = await waiting;
      expect(woke.map((e) => e.type)).toEqual(Array(5).fill('task.submitted'));

      // From the last event of a packed entry: waits, then wakes for the next packed entry.
      const end = woke.at(-1)!.id;
      expect(end).toMatch(/^\d+-\d+-4$/);
      const waiting2 = b.readEvents({ since: end, blockMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const leases = await b.claim({
        agentId: agent.id,
        capabilities: [],
        max: 3,
        leaseTtlMs: 60_000,
      });
      const woke2 = await waiting2;
      expect(woke2.map((e) => e.taskId)).toEqual(leases.map((l) => l.taskId));

      // From inside a packed entry: its rest is there, no wait.
      const inside = await b.readEvents({ since: woke2[0]!.id, blockMs: 10_000 });
      expect(inside.map((e) => e.id)).toEqual(woke2.slice(1).map((e) => e.id));
      // A short blocking read with nothing new returns nothing.
      expect(await b.readEvents({ since: woke2.at(-1)!.id, blockMs: 30 })).toEqual([]);
    });

    it('lastEventId is the last event of a packed entry; reading since it gives nothing', async () => {
      const { b } = await claimedMany(12);
      const last = (await b.lastEventId())!;
      expect(last).toMatch(/^\d+-\d+-11$/);
      expect((await readAll(b)).at(-1)!.id).toBe(last);
      expect(await b.readEvents({ since: last })).toEqual([]);
      const id = await b.recordEvent({ type: 'pool.restarted', agentId: 'agt_x' });
      expect(id, 'a lone event keeps its entry id').toMatch(/^\d+-\d+$/);
      expect(await b.lastEventId()).toBe(id);
      expect((await b.readEvents({ since: last })).map((e) => [e.id, e.type, e.agentId])).toEqual([
        [id, 'pool.restarted', 'agt_x'],
      ]);
    });

    it('refuses a malformed since with the ValidationError every backend gives', async () => {
      const b = await backend();
      await b.submitTasks([{ type: 'x' }]);
      for (const since of ['abc', '1-2-3-4', '1-2-', '-1-2', '1--2', '1-2-x', '']) {
        const error = await b.readEvents({ since }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error, `since '${since}'`).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).issues[0]).toMatchObject({ path: 'readEvents.since' });
        expect((error as ValidationError).message).toContain(
          'is not a cursor this backend gave out',
        );
      }
    });

    it('escapes ids that need it inside a packed entry', async () => {
      const id = `agent "quoted" \\ back\nline\t✓ ${randomUUID()}`;
      const { b, leases, before } = await claimedMany(3, id);
      const claimed = await b.readEvents({ since: before });
      expect(claimed.map((e) => [e.taskId, e.agentId])).toEqual(leases.map((l) => [l.taskId, id]));
    });

    it('keeps at least eventsMaxLen of the newest events, and not many more, counting events', async () => {
      const maxLen = 50;
      const b = await backend({ eventsMaxLen: maxLen });
      const agent = await b.registerAgent({ capabilities: [], concurrency: 1000 });
      // The design bound (lua/includes/common.lua): fewer than maxLen + 2G + one entry events,
      // G = ceil(maxLen / 32); the largest entry below has 40 events.
      const every = Math.ceil(maxLen / 32);
      const largest = 40;
      let written = 1;
      let most = 0;
      // Every event, as a reader following the stream after each call sees it.
      const seen: BatonEvent[] = [];
      for (let step = 0; written < 3000; step++) {
        const n = 1 + ((step * 7) % largest);
        if (step % 3 === 2) {
          const leases = await b.claim({
            agentId: agent.id,
            capabilities: [],
            max: n,
            leaseTtlMs: 60_000,
          });
          written += leases.length;
          if (leases.length > 0) {
            await b.complete(
              leases.map((l) => ({
                taskId: l.taskId,
                token: l.token,
                agentId: l.agentId,
                result: null,
              })),
            );
            written += leases.length;
          }
        } else if (step % 5 === 4) {
          await b.recordEvent({ type: 'pool.scaled_up' });
          written += 1;
        } else {
          await b.submitTasks(Array.from({ length: n }, () => ({ type: 'x' })));
          written += n;
        }
        seen.push(...(await readAll(b, 1000, seen.at(-1)?.id)));
        const kept = await readAll(b, 1000);
        most = Math.max(most, kept.length);
        expect(kept.length, `after ${written} events`).toBeGreaterThanOrEqual(
          Math.min(maxLen, written),
        );
        expect(kept.length, `after ${written} events`).toBeLessThan(maxLen + 2 * every + largest);
        expect(
          kept.map((e) => e.id),
          'the newest events are kept, in order, without a gap',
        ).toEqual(seen.slice(-kept.length).map((e) => e.id));
      }
      const raw = client();
      const keys = new Keys(namespaces.at(-1)!);
      expect(await raw.hget(keys.eventsMeta, 'n'), 'every event was counted').toBe(String(written));
      expect(
        await raw.llen(keys.eventCheckpoints),
        'checkpoints do not pile up',
      ).toBeLessThanOrEqual(maxLen / every + 2);
      expect(most, 'the stream did reach its size').toBeGreaterThanOrEqual(maxLen);
    });
  });
}
