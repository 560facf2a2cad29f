/**
 * Routing by task type: a claim or a wait that names `types` concerns only tasks of those types,
 * so a worker never takes a task it has no handler for, and is not woken for one.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import type { AgentRecord, Lease } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import {
  LEASE_TTL_MS,
  claim,
  expectBatonError,
  expectState,
  registerAgent,
  submitOne,
} from '../helpers.ts';

/** Claim up to `max` tasks of `types` for `agent`, with its registered capabilities. */
async function claimTypes(
  b: Backend,
  agent: AgentRecord,
  types: readonly string[],
  max = 10,
): Promise<Lease[]> {
  const leases = await b.claim({
    agentId: agent.id,
    capabilities: agent.capabilities,
    types,
    max,
    leaseTtlMs: LEASE_TTL_MS,
  });
  expect(leases.length, `claim(max ${max}) returned more than asked for`).toBeLessThanOrEqual(max);
  return leases;
}

/** Claim one task of `types` at a time until none is left; the payload names of the leases. */
async function drainTypes(
  b: Backend,
  agent: AgentRecord,
  types: readonly string[],
): Promise<string[]> {
  const order: string[] = [];
  for (let i = 0; i < 100; i++) {
    const [lease] = await claimTypes(b, agent, types, 1);
    if (!lease) return order;
    order.push(String((lease.task.payload as { name?: unknown } | null)?.name));
  }
  throw new Error('claimed 100 tasks without running out: a task is being handed out again');
}

/** Whether `promise` is still pending after `ms` of real time (it may settle later). */
async function pendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setTimeout(resolve, ms));
  return !settled;
}

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

/** How long a wait that must not wake is watched. Long enough for a wrong wake-up to show. */
const QUIET_MS = 300;

export function routingCases(env: SuiteEnv): void {
  describe('routing by task type', () => {
    it('a claim for types [a] never takes type b, even with every capability it requires; b stays ready for a claim that handles it', async () => {
      const { b } = env.ctx();
      const handlesA = await registerAgent(b, ['gpu']);
      const handlesB = await registerAgent(b, ['gpu']);
      const taskB = await submitOne(b, { type: 'b', requires: ['gpu'], priority: 'critical' });
      const taskA = await submitOne(b, { type: 'a', requires: ['gpu'], priority: 'low' });

      const first = await claimTypes(b, handlesA, ['a']);
      expect(
        first.map((l) => l.task.type),
        'only the a task, past a higher-priority b task the agent could run',
      ).toEqual(['a']);
      expect(first[0]?.taskId).toBe(taskA.id);
      expect(await claimTypes(b, handlesA, ['a']), 'nothing of type a is left').toEqual([]);
      await expectState(b, taskB.id, 'ready', 'a task of a type nobody claimed stays ready');
      expect((await b.getTask(taskB.id))?.attempts, 'and was never attempted').toBe(0);

      const second = await claimTypes(b, handlesB, ['b']);
      expect(
        second.map((l) => l.taskId),
        'the b task, by the agent that handles b',
      ).toEqual([taskB.id]);
    });

    it('types and requires both filter: only tasks of a listed type whose requires the agent has', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b, ['gpu']);
      await b.submitTasks([
        { type: 'a', requires: ['gpu'], payload: { name: 'a/gpu' } },
        { type: 'a', requires: ['python'], payload: { name: 'a/python' } },
        { type: 'b', requires: ['gpu'], payload: { name: 'b/gpu' } },
        { type: 'a', payload: { name: 'a/none' } },
        { type: 'c', payload: { name: 'c/none' } },
      ]);
      const leases = await claimTypes(b, agent, ['a', 'c']);
      expect(
        leases.map((l) => String((l.task.payload as { name: string }).name)).sort(),
        'a and c tasks the agent has the capabilities for',
      ).toEqual(['a/gpu', 'a/none', 'c/none']);
    });

    it('without types a claim takes every type; an empty types list takes none', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      await b.submitTasks([{ type: 'a' }, { type: 'b' }, { type: 'c' }]);
      expect(await claimTypes(b, agent, []), 'types [] matches no task').toEqual([]);
      const all = await claim(b, agent, 10);
      expect(all.map((l) => l.task.type).sort(), 'no types: any type').toEqual(['a', 'b', 'c']);
    });

    it('claim order across types is still priority, then critical path, then FIFO', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b, ['gpu']);
      await submitOne(b, { type: 'b', payload: { name: 'medium standalone 1 (b)' } });
      clock.advance(1);
      await b.submitRun({
        tasks: [
          { type: 'a', key: 'chain', payload: { name: 'medium chain head (a)' } },
          { type: 'c', key: 'chain2', dependsOn: ['chain'] },
          {
            type: 'c',
            key: 'urgent',
            priority: 'critical',
            requires: ['gpu'],
            payload: { name: 'critical in run (c, gpu)' },
          },
          {
            type: 'other',
            key: 'skipped',
            priority: 'critical',
            payload: { name: 'a type not claimed' },
          },
          { type: 'b', key: 'lazy', priority: 'low', payload: { name: 'low chain head (b)' } },
          { type: 'a', key: 'lazy2', dependsOn: ['lazy'] },
          { type: 'a', key: 'lazy3', dependsOn: ['lazy2'] },
        ],
      });
      clock.advance(1);
      await b.submitTasks([
        { type: 'a', priority: 'high', payload: { name: 'high standalone (a)' } },
        { type: 'c', payload: { name: 'medium standalone 2 (c)' } },
        { type: 'a', payload: { name: 'medium standalone 3 (a)' } },
        { type: 'c', priority: 'low', payload: { name: 'low standalone (c)' } },
      ]);
      expect(await drainTypes(b, agent, ['a', 'b', 'c'])).toEqual([
        'critical in run (c, gpu)',
        'high standalone (a)',
        'medium chain head (a)',
        'medium standalone 1 (b)',
        'medium standalone 2 (c)',
        'medium standalone 3 (a)',
        'low chain head (b)',
        'low standalone (c)',
      ]);
    });

    it('a batch claim across types takes the first tasks in claim order, not the first of each type', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      await b.submitTasks([
        { type: 'a', priority: 'low', payload: { name: 'a low' } },
        { type: 'b', priority: 'high', payload: { name: 'b high' } },
        { type: 'a', priority: 'critical', payload: { name: 'a critical' } },
        { type: 'b', priority: 'low', payload: { name: 'b low' } },
        { type: 'c', priority: 'critical', payload: { name: 'c critical, not asked for' } },
      ]);
      const leases = await claimTypes(b, agent, ['a', 'b'], 2);
      expect(leases.map((l) => String((l.task.payload as { name: string }).name))).toEqual([
        'a critical',
        'b high',
      ]);
    });

    it('refuses a types filter that is not a list of type names', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      await submitOne(b, { type: 'a' });
      for (const types of ['a', [1], ['']] as unknown as string[][]) {
        await expectBatonError(
          b.claim({ agentId: agent.id, capabilities: [], types, max: 1, leaseTtlMs: LEASE_TTL_MS }),
          'ValidationError',
          'BATON_VALIDATION',
          `claim with types ${JSON.stringify(types)}`,
        );
      }
      await expectState(
        b,
        (await b.listTasks()).tasks[0]!.id,
        'ready',
        'a refused claim takes nothing',
      );
    });

    describe('waitForWork', () => {
      it('a wait for types [a] is not woken by a task of type b, ready before or submitted during it, and is by one of type a', async () => {
        const { b } = env.ctx();
        await submitOne(b, { type: 'b' });
        const waiting = b.waitForWork({ capabilities: [], types: ['a'], timeoutMs: 10_000 });
        expect(
          await pendingAfter(waiting, QUIET_MS),
          'a ready task of type b does not end a wait for type a',
        ).toBe(true);
        await submitOne(b, { type: 'b' });
        expect(
          await pendingAfter(waiting, QUIET_MS),
          'a submit of type b does not wake a wait for type a',
        ).toBe(true);
        await submitOne(b, { type: 'a' });
        // Well within its 10 s timeout: woken by the submit, not timed out.
        await within(waiting, 9_000, 'waitForWork(types [a]) after a submit of type a');
      });

      it('a wait for types [a] ignores type b submitted through another instance of the store', async (t) => {
        const ctx = env.ctx();
        if (!env.options.reopen || !ctx.b.features.multiProcess) t.skip();
        const other = await ctx.open();
        const waiting = ctx.b.waitForWork({ capabilities: [], types: ['a'], timeoutMs: 10_000 });
        await submitOne(other, { type: 'b' });
        expect(
          await pendingAfter(waiting, QUIET_MS),
          'a submit of type b by another instance does not wake a wait for type a',
        ).toBe(true);
        await submitOne(other, { type: 'a' });
        await within(waiting, 9_000, 'waitForWork(types [a]) after another instance submits a');
      });
    });
  });
}
