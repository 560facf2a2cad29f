import { describe, expect, it } from 'vitest';
import type { SuiteEnv } from '../context.ts';
import { submitOne } from '../helpers.ts';

/** Await a promise, failing with `what` if it has not settled within `limitMs` of real time. */
async function within<T>(promise: Promise<T>, limitMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: still pending after ${limitMs} ms`)),
      limitMs,
    );
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

export function waitCases(env: SuiteEnv): void {
  describe('waitForWork', () => {
    it('resolves soon after a submit', async () => {
      const { b } = env.ctx();
      const started = performance.now();
      const waiting = b.waitForWork({ capabilities: [], timeoutMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await submitOne(b, { type: 'x' });
      await within(waiting, 9_000, 'waitForWork after a submit');
      expect(
        performance.now() - started,
        'the wait ended well before its 10 s timeout',
      ).toBeLessThan(5_000);
    });

    it('resolves promptly when work is already ready', async () => {
      const { b } = env.ctx();
      await submitOne(b, { type: 'x' });
      const started = performance.now();
      await within(
        b.waitForWork({ capabilities: [], timeoutMs: 10_000 }),
        9_000,
        'waitForWork with a ready task',
      );
      expect(performance.now() - started, 'no wait for work that is already there').toBeLessThan(
        5_000,
      );
    });

    it('resolves on abort', async () => {
      const { b } = env.ctx();
      const controller = new AbortController();
      const started = performance.now();
      const waiting = b.waitForWork({
        capabilities: [],
        timeoutMs: 10_000,
        signal: controller.signal,
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      controller.abort();
      await within(waiting, 9_000, 'waitForWork after abort');
      expect(performance.now() - started, 'the abort ended the wait, not the timeout').toBeLessThan(
        5_000,
      );
    });

    it('wakes on a submit made through another instance of the store', async (t) => {
      const ctx = env.ctx();
      if (!env.options.reopen || !ctx.b.features.multiProcess) t.skip();
      const other = await ctx.open();
      const started = performance.now();
      const waiting = ctx.b.waitForWork({ capabilities: [], timeoutMs: 10_000 });
      const reading = ctx.b.readEvents({ blockMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const { id } = await submitOne(other, { type: 'x' });
      await within(waiting, 9_000, 'waitForWork after a submit by another instance');
      const events = await within(
        reading,
        9_000,
        'blocking readEvents after a submit by another instance',
      );
      expect(
        events.map((e) => e.taskId),
        'the blocked read sees the other instance’s event',
      ).toContain(id);
      expect(
        performance.now() - started,
        'both waits ended well before their 10 s limit',
      ).toBeLessThan(5_000);
    });

    it('resolves at its timeout when no work comes', async () => {
      const { b } = env.ctx();
      await within(
        b.waitForWork({ capabilities: [], timeoutMs: 50 }),
        9_000,
        'waitForWork with timeoutMs 50',
      );
    });
  });
}
