import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import type { BatonEvent, EventType } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import { expectBatonError, readAllEvents, submitOne } from '../helpers.ts';

/** The oracle: every event read forwards, filtered, newest first, cut to `limit`. */
async function expected(b: Backend, types: EventType[], limit: number): Promise<BatonEvent[]> {
  return (await readAllEvents(b))
    .filter((e) => types.includes(e.type))
    .reverse()
    .slice(0, limit);
}

/** Pool events interleaved with task events, some written several to a call (a run). */
async function mixedHistory(b: Backend): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await b.recordEvent({ type: 'pool.scaled_up', data: { i } });
    await b.submitRun({ tasks: [{ type: 'x' }, { type: 'y' }, { type: 'z' }] });
    await b.recordEvent({ type: 'pool.scaled_down', data: { i } });
    await submitOne(b, { type: 'w' });
  }
  await b.recordEvent({ type: 'pool.restarted', data: {} });
}

export function latestEventCases(env: SuiteEnv): void {
  describe('latest events', () => {
    it('an empty store has none', async () => {
      const { b } = env.ctx();
      expect(await b.latestEvents({ types: ['pool.scaled_up'], limit: 10 })).toEqual([]);
    });

    it('are the newest events of the given types, newest first, as many as asked', async () => {
      const { b } = env.ctx();
      await mixedHistory(b);
      const pool: EventType[] = ['pool.scaled_up', 'pool.scaled_down'];
      const all = await b.latestEvents({ types: pool, limit: 200 });
      expect(all.map((e) => e.type)).toEqual([
        'pool.scaled_down',
        'pool.scaled_up',
        'pool.scaled_down',
        'pool.scaled_up',
        'pool.scaled_down',
        'pool.scaled_up',
      ]);
      expect(all).toEqual(await expected(b, pool, 200));
      expect(await b.latestEvents({ types: pool, limit: 4 })).toEqual(all.slice(0, 4));
      // Task events, several of which one submitRun writes in one step.
      const tasks: EventType[] = ['task.submitted', 'run.submitted'];
      expect(await b.latestEvents({ types: tasks, limit: 5 })).toEqual(await expected(b, tasks, 5));
      expect(await b.latestEvents({ types: tasks, limit: 200 })).toHaveLength(3 + 3 * 3 + 3);
      expect(await b.latestEvents({ types: ['pool.restarted'], limit: 1 })).toMatchObject([
        { type: 'pool.restarted' },
      ]);
      expect(await b.latestEvents({ types: ['agent.lost'], limit: 5 })).toEqual([]);
    });

    it('reach back past many newer events of other types', async () => {
      const { b } = env.ctx();
      await b.recordEvent({ type: 'pool.scaled_up', data: { first: true } });
      for (let i = 0; i < 450; i++) await b.recordEvent({ type: 'pool.restarted', data: { i } });
      const [only, ...rest] = await b.latestEvents({ types: ['pool.scaled_up'], limit: 3 });
      expect(rest).toEqual([]);
      expect(only).toMatchObject({ type: 'pool.scaled_up', data: { first: true } });
      const restarts = await b.latestEvents({ types: ['pool.restarted'], limit: 200 });
      expect(restarts).toHaveLength(200);
      expect(restarts[0]!.data).toEqual({ i: 449 });
      expect(restarts[199]!.data).toEqual({ i: 250 });
    });

    it('are per namespace', async (t) => {
      const ctx = env.ctx();
      if (!env.options.reopen) t.skip();
      await mixedHistory(ctx.b);
      const other = await ctx.open({ namespace: `${ctx.namespace}-other` });
      const types: EventType[] = ['pool.scaled_up', 'pool.scaled_down', 'task.submitted'];
      expect(await other.latestEvents({ types, limit: 50 })).toEqual([]);
      await other.recordEvent({ type: 'pool.scaled_up', data: { mine: false } });
      expect(await other.latestEvents({ types, limit: 50 })).toMatchObject([
        { type: 'pool.scaled_up', data: { mine: false } },
      ]);
      expect(await ctx.b.latestEvents({ types, limit: 50 })).toEqual(
        await expected(ctx.b, types, 50),
      );
    });

    it('refuse an unknown type, no types, and a limit outside 1-200', async () => {
      const { b } = env.ctx();
      const bad: [unknown, string][] = [
        [{ types: ['pool.nope'], limit: 5 }, 'an unknown type'],
        [{ types: [], limit: 5 }, 'no types'],
        [{ types: ['pool.scaled_up'], limit: 0 }, 'limit 0'],
        [{ types: ['pool.scaled_up'], limit: 201 }, 'limit 201'],
        [{ types: ['pool.scaled_up'], limit: 2.5 }, 'a fractional limit'],
        [null, 'no options'],
      ];
      for (const [options, what] of bad) {
        await expectBatonError(
          b.latestEvents(options as Parameters<Backend['latestEvents']>[0]),
          'ValidationError',
          'BATON_VALIDATION',
          what,
        );
      }
    });
  });
}
