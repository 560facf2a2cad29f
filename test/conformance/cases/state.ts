import { describe, expect, it } from 'vitest';
import { stateOf } from '../../../src/backends/backend.ts';
import type { SuiteEnv } from '../context.ts';
import {
  complete,
  expectBatonError,
  mustClaim,
  registerAgent,
  submitOne,
  sweep,
} from '../helpers.ts';

export function stateCases(env: SuiteEnv): void {
  describe('shared state', () => {
    it('set creates version 1, each write adds 1, get and list read it back', async () => {
      const { b, clock } = env.ctx();
      expect(await b.getState('run:r1', 'plan'), 'no entry yet').toBeNull();
      const first = await b.setState({ scope: 'run:r1', key: 'plan', value: { step: 1 } });
      expect(first).toEqual({
        status: 'ok',
        entry: {
          scope: 'run:r1',
          key: 'plan',
          value: { step: 1 },
          version: 1,
          expiresAt: null,
          updatedAt: clock.now(),
        },
      });
      clock.advance(5);
      const second = stateOf(
        await b.setState({ scope: 'run:r1', key: 'plan', value: [1, 'two', null] }),
        { scope: 'run:r1', key: 'plan', value: null },
      );
      expect(second?.version).toBe(2);
      expect(await b.getState('run:r1', 'plan')).toMatchObject({
        value: [1, 'two', null],
        version: 2,
        updatedAt: clock.now(),
      });
      await b.setState({ scope: 'run:r1', key: 'a', value: 'x' });
      await b.setState({ scope: 'run:r1', key: 'b:c', value: 'y' });
      await b.setState({ scope: 'run:r2', key: 'a', value: 'other run' });
      await b.setState({ scope: 'run:r1:b', key: 'c', value: 'a scope that looks alike' });
      const keys = (await b.listState('run:r1')).map((e) => e.key);
      expect(keys, 'key order, only this scope').toEqual(['a', 'b:c', 'plan']);
      expect((await b.listState('run:r1', { prefix: 'b' })).map((e) => e.value)).toEqual(['y']);
      expect((await b.listState('run:r1', { limit: 2 })).map((e) => e.key)).toEqual(['a', 'b:c']);
      expect((await b.listState('run:r1', { after: 'b:c' })).map((e) => e.key)).toEqual(['plan']);
      expect(await b.getState('run:r2', 'a')).toMatchObject({ value: 'other run', version: 1 });
      expect(await b.getState('run:r1:b', 'c')).toMatchObject({
        value: 'a scope that looks alike',
      });
    });

    it('an expected version is a compare-and-set: another version changes nothing', async () => {
      const { b } = env.ctx();
      const create = { scope: 'run:r', key: 'k', value: 'first', expectedVersion: 0 };
      expect((await b.setState(create)).status, '0: only when absent').toBe('ok');
      const again = await b.setState({ ...create, value: 'second' });
      expect(again).toEqual({ status: 'version_mismatch', version: 1 });
      await expectBatonError(
        Promise.resolve().then(() => stateOf(again, { ...create, value: 'second' })),
        'ConflictError',
        'BATON_CONFLICT',
        'a mismatch maps to a conflict',
      );
      const stale = await b.setState({ scope: 'run:r', key: 'k', value: 'x', expectedVersion: 7 });
      expect(stale).toEqual({ status: 'version_mismatch', version: 1 });
      expect(await b.getState('run:r', 'k')).toMatchObject({ value: 'first', version: 1 });
      const ok = await b.setState({ scope: 'run:r', key: 'k', value: 'y', expectedVersion: 1 });
      expect(ok).toMatchObject({ status: 'ok', entry: { version: 2, value: 'y' } });
      const delStale = await b.deleteState({ scope: 'run:r', key: 'k', expectedVersion: 1 });
      expect(delStale).toEqual({ status: 'version_mismatch', version: 2 });
      const del = await b.deleteState({ scope: 'run:r', key: 'k', expectedVersion: 2 });
      expect(del).toMatchObject({ status: 'ok', entry: { value: 'y', version: 2 } });
      expect(await b.getState('run:r', 'k')).toBeNull();
      expect(await b.deleteState({ scope: 'run:r', key: 'k' })).toEqual({
        status: 'ok',
        entry: null,
      });
      const missing = await b.setState({ scope: 'run:r', key: 'n', value: 1, expectedVersion: 1 });
      expect(missing, 'no entry: version null').toEqual({
        status: 'version_mismatch',
        version: null,
      });
    });

    it('an entry expires on time, for get, list and compare-and-set alike', async () => {
      const { b, clock } = env.ctx();
      const set = await b.setState({ scope: 'ns:team', key: 'lock', value: 'me', ttlMs: 1000 });
      expect(set).toMatchObject({ status: 'ok', entry: { expiresAt: clock.now() + 1000 } });
      await b.setState({ scope: 'ns:team', key: 'keep', value: 'forever' });
      clock.advance(999);
      expect(await b.getState('ns:team', 'lock'), 'alive before its expiry').not.toBeNull();
      clock.advance(1);
      expect(await b.getState('ns:team', 'lock'), 'gone at its expiry').toBeNull();
      expect((await b.listState('ns:team')).map((e) => e.key)).toEqual(['keep']);
      const fresh = await b.setState({
        scope: 'ns:team',
        key: 'lock',
        value: 'you',
        expectedVersion: 0,
      });
      expect(fresh, 'an expired entry counts as absent: created again at 1').toMatchObject({
        status: 'ok',
        entry: { version: 1, value: 'you', expiresAt: null },
      });
      clock.advance(10_000_000);
      expect(await b.getState('ns:team', 'lock'), 'no ttl: never expires').not.toBeNull();
    });

    it('a write under a fence is applied only while the lease is held', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      await submitOne(b, { type: 'x', maxAttempts: 3 });
      const lease = await mustClaim(b, agent, 'the task', 1000);
      const fence = { taskId: lease.taskId, token: lease.token, agentId: agent.id };
      const held = await b.setState({ scope: 'run:f', key: 'k', value: 1, fence });
      expect(held.status, 'the holder writes').toBe('ok');
      const forged = await b.setState({
        scope: 'run:f',
        key: 'k',
        value: 'forged',
        fence: { ...fence, token: lease.token + 1 },
      });
      expect(forged.status, 'a token that is not the lease').toBe('lease_lost');
      clock.advance(1001);
      await sweep(b);
      const late = await b.setState({ scope: 'run:f', key: 'k', value: 2, fence });
      expect(late.status, 'the lease expired: fenced out').toBe('lease_lost');
      await expectBatonError(
        Promise.resolve().then(() => stateOf(late, { scope: 'run:f', key: 'k', value: 2, fence })),
        'LeaseLostError',
        'BATON_LEASE_LOST',
        'a fenced-out write maps to a lease error',
      );
      const del = await b.deleteState({ scope: 'run:f', key: 'k', fence });
      expect(del.status, 'a fenced-out delete').toBe('lease_lost');
      expect(await b.getState('run:f', 'k'), 'nothing changed').toMatchObject({ value: 1 });
      const next = await mustClaim(b, agent, 'the retry', 1000);
      const retry = { taskId: next.taskId, token: next.token, agentId: agent.id };
      expect((await b.setState({ scope: 'run:f', key: 'k', value: 3, fence: retry })).status).toBe(
        'ok',
      );
      await complete(b, next);
      expect(
        (await b.setState({ scope: 'run:f', key: 'k', value: 4, fence: retry })).status,
        'a finished attempt',
      ).toBe('lease_lost');
      const unknown = await b.setState({
        scope: 'run:f',
        key: 'k',
        value: 5,
        fence: { taskId: 'tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV', token: 1, agentId: agent.id },
      });
      expect(unknown.status).toBe('not_found');
      expect(await b.getState('run:f', 'k')).toMatchObject({ value: 3, version: 2 });
    });

    it('malformed input is refused before it reaches the store', async () => {
      const { b } = env.ctx();
      await expectBatonError(
        b.setState({ scope: 'run:r', key: '', value: 1 }),
        'ValidationError',
        'BATON_VALIDATION',
        'an empty key',
      );
      await expectBatonError(
        b.setState({ scope: 'run:r', key: 'k', value: 1, ttlMs: 0 }),
        'ValidationError',
        'BATON_VALIDATION',
        'a ttl of 0',
      );
      await expectBatonError(
        b.setState({ scope: 'run:r', key: 'k', value: 'x'.repeat(300 * 1024) }),
        'ValidationError',
        'BATON_VALIDATION',
        'a value over the cap',
      );
      await expectBatonError(
        b.listState('run:r', { limit: 5000 }),
        'ValidationError',
        'BATON_VALIDATION',
        'a page over the cap',
      );
      expect(await b.listState('run:r')).toEqual([]);
    });
  });
}
