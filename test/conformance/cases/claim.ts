import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import type { AgentRecord } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import {
  LEASE_TTL_MS,
  claim,
  claimExpecting,
  expectBatonError,
  expectNothingClaimable,
  expectState,
  mustClaim,
  readAllEvents,
  registerAgent,
  submitOne,
  sweep,
} from '../helpers.ts';

/** Claim one task at a time until none is left, returning what each lease carried as `label`. */
async function drainOrder(
  b: Backend,
  agent: AgentRecord,
  label: (payload: unknown) => string,
): Promise<string[]> {
  const order: string[] = [];
  for (let i = 0; i < 100; i++) {
    const [lease] = await claim(b, agent, 1);
    if (!lease) return order;
    order.push(label(lease.task.payload));
  }
  throw new Error('claimed 100 tasks without running out: a task is being handed out again');
}

const byName = (payload: unknown): string => String((payload as { name?: unknown } | null)?.name);

export function claimCases(env: SuiteEnv): void {
  describe('claim', () => {
    it('leases a ready task: token, attempt 1, expiry from the clock, running state, an attempt record, an event', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'echo', payload: { hello: 'world' } });
      const lease = await claimExpecting(b, agent, id, 'the only ready task');
      expect(lease.agentId).toBe(agent.id);
      expect(lease.attempt, 'the first lease is attempt 1').toBe(1);
      expect(typeof lease.token, 'the fencing token is a number').toBe('number');
      expect(lease.expiresAt, 'expiresAt = clock + leaseTtlMs').toBe(clock.now() + LEASE_TTL_MS);
      expect(lease.dependencies, 'a task without dependencies has none in its lease').toEqual({});
      expect(lease.task).toMatchObject({
        id,
        state: 'running',
        attempts: 1,
        agentId: agent.id,
        payload: { hello: 'world' },
      });

      const task = await expectState(b, id, 'running', 'after claim');
      expect(task.agentId).toBe(agent.id);
      expect(task.attempts).toBe(1);
      expect(task.leaseExpiresAt).toBe(lease.expiresAt);
      expect(task.startedAt, 'startedAt comes from the clock').toBe(clock.now());

      expect(await b.getAttempts(id), 'one running attempt is recorded').toEqual([
        {
          taskId: id,
          attempt: 1,
          agentId: agent.id,
          startedAt: clock.now(),
          finishedAt: null,
          outcome: 'running',
          error: null,
          runMs: null,
          model: null,
        },
      ]);
      const claimed = (await readAllEvents(b)).filter((e) => e.type === 'task.claimed');
      expect(
        claimed.map((e) => [e.taskId, e.agentId]),
        'a task.claimed event names the task and agent',
      ).toEqual([[id, agent.id]]);
    });

    it('returns at most max leases, each task once', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const submitted = await b.submitTasks(
        Array.from({ length: 5 }, (_, i) => ({ type: 'n', payload: i })),
      );
      const first = await claim(b, agent, 3);
      expect(first, 'claim(max 3) with 5 ready tasks').toHaveLength(3);
      const second = await claim(b, agent, 10);
      expect(second, 'the remaining 2 tasks').toHaveLength(2);
      const ids = [...first, ...second].map((l) => l.taskId).sort();
      expect(ids, 'every task leased exactly once').toEqual(submitted.map((t) => t.id).sort());
      expect(await claim(b, agent, 10), 'nothing left to claim').toEqual([]);
    });

    it('does not hand a leased task to another agent', async () => {
      const { b } = env.ctx();
      const one = await registerAgent(b);
      const two = await registerAgent(b);
      await submitOne(b, { type: 'x' });
      await mustClaim(b, one, 'the task');
      await expectNothingClaimable(b, two, 'the only task is leased to another agent');
    });

    it('refuses a claim from an agent that never registered', async () => {
      const { b } = env.ctx();
      await submitOne(b, { type: 'x' });
      await expectBatonError(
        b.claim({ agentId: 'agt_nobody', capabilities: [], max: 1, leaseTtlMs: LEASE_TTL_MS }),
        'AgentLostError',
        'BATON_AGENT_LOST',
        'claim by an unregistered agent',
      );
    });

    describe('order', () => {
      it('lower priority number first', async () => {
        const { b } = env.ctx();
        const agent = await registerAgent(b);
        await b.submitTasks([
          { type: 'x', priority: 'low', payload: { name: 'low' } },
          { type: 'x', priority: 'critical', payload: { name: 'critical' } },
          { type: 'x', payload: { name: 'medium(default)' } },
          { type: 'x', priority: 'high', payload: { name: 'high' } },
          { type: 'x', priority: 2, payload: { name: '2' } },
          { type: 'x', priority: 1, payload: { name: '1' } },
        ]);
        expect(
          await drainOrder(b, agent, byName),
          'claim order by priority, FIFO among equals',
        ).toEqual(['critical', '1', 'high', '2', 'medium(default)', 'low']);
      });

      it('among equal priorities, the longest downstream path first', async () => {
        const { b } = env.ctx();
        const agent = await registerAgent(b);
        await b.submitRun({
          tasks: [
            { type: 'x', key: 'single', payload: { name: 'single (path 1)' } },
            { type: 'x', key: 'd', payload: { name: 'd (path 2)' } },
            { type: 'x', key: 'e', dependsOn: ['d'], payload: { name: 'e' } },
            { type: 'x', key: 'a', payload: { name: 'a (path 3)' } },
            { type: 'x', key: 'b', dependsOn: ['a'], payload: { name: 'b' } },
            { type: 'x', key: 'c', dependsOn: ['b'], payload: { name: 'c' } },
          ],
        });
        expect(
          await drainOrder(b, agent, byName),
          'critical path first; dependents stay blocked',
        ).toEqual(['a (path 3)', 'd (path 2)', 'single (path 1)']);
      });

      it('priority outranks critical path', async () => {
        const { b } = env.ctx();
        const agent = await registerAgent(b);
        await b.submitRun({
          tasks: [
            { type: 'x', key: 'head', priority: 'low', payload: { name: 'long chain, low' } },
            { type: 'x', key: 'mid', dependsOn: ['head'] },
            { type: 'x', key: 'tail', dependsOn: ['mid'] },
            { type: 'x', key: 'alone', priority: 'high', payload: { name: 'single, high' } },
          ],
        });
        expect(await drainOrder(b, agent, byName)).toEqual(['single, high', 'long chain, low']);
      });

      it('FIFO among equals: across submissions and within one batch', async () => {
        const { b, clock } = env.ctx();
        const agent = await registerAgent(b);
        await submitOne(b, { type: 'x', payload: { name: 'first' } });
        clock.advance(1);
        await b.submitTasks([
          { type: 'x', payload: { name: 'second' } },
          { type: 'x', payload: { name: 'third' } },
          { type: 'x', payload: { name: 'fourth' } },
        ]);
        clock.advance(1);
        await submitOne(b, { type: 'x', payload: { name: 'fifth' } });
        expect(await drainOrder(b, agent, byName), 'submission order').toEqual([
          'first',
          'second',
          'third',
          'fourth',
          'fifth',
        ]);
      });

      it('a mix: priority, then critical path, then FIFO', async () => {
        const { b, clock } = env.ctx();
        const agent = await registerAgent(b);
        await submitOne(b, { type: 'x', payload: { name: 'medium standalone 1' } });
        clock.advance(1);
        await b.submitRun({
          tasks: [
            { type: 'x', key: 'chain', payload: { name: 'medium chain head' } },
            { type: 'x', key: 'chain2', dependsOn: ['chain'] },
            {
              type: 'x',
              key: 'urgent',
              priority: 'critical',
              payload: { name: 'critical in run' },
            },
            { type: 'x', key: 'lazy', priority: 'low', payload: { name: 'low chain head' } },
            { type: 'x', key: 'lazy2', dependsOn: ['lazy'] },
            { type: 'x', key: 'lazy3', dependsOn: ['lazy2'] },
          ],
        });
        clock.advance(1);
        await b.submitTasks([
          { type: 'x', priority: 'high', payload: { name: 'high standalone' } },
          { type: 'x', payload: { name: 'medium standalone 2' } },
          { type: 'x', priority: 'low', payload: { name: 'low standalone' } },
        ]);
        expect(await drainOrder(b, agent, byName)).toEqual([
          'critical in run',
          'high standalone',
          'medium chain head',
          'medium standalone 1',
          'medium standalone 2',
          'low chain head',
          'low standalone',
        ]);
      });
    });

    describe('capabilities', () => {
      it('an agent gets a task only when it has every required capability', async () => {
        const { b } = env.ctx();
        const pythonOnly = await registerAgent(b, ['python']);
        const superset = await registerAgent(b, ['docker', 'gpu', 'python']);
        const { id } = await submitOne(b, { type: 'train', requires: ['gpu', 'python'] });
        await expectNothingClaimable(b, pythonOnly, 'the task requires gpu, which the agent lacks');
        await claimExpecting(
          b,
          superset,
          id,
          'the gpu+python task, by an agent with a superset of its requirements',
        );
      });

      it('an agent without a capability skips that task and takes the next one it can run', async () => {
        const { b } = env.ctx();
        const plain = await registerAgent(b, []);
        const gpu = await submitOne(b, { type: 'train', requires: ['gpu'], priority: 'critical' });
        const any = await submitOne(b, { type: 'lint', priority: 'low' });
        await claimExpecting(
          b,
          plain,
          any.id,
          'the task with no requirements, past a higher-priority gpu task',
        );
        await expectNothingClaimable(b, plain, 'only the gpu task is left');
        await expectState(b, gpu.id, 'ready', 'a task no agent could take stays ready');
      });

      it('a task without requirements is claimable by any agent', async () => {
        const { b } = env.ctx();
        const specialist = await registerAgent(b, ['gpu']);
        const { id } = await submitOne(b, { type: 'anything' });
        await claimExpecting(b, specialist, id, 'a task that requires nothing');
      });
    });

    describe('delayed tasks', () => {
      it('are not claimable until the clock passes runAfter', async () => {
        const { b, clock } = env.ctx();
        const agent = await registerAgent(b);
        const { id } = await submitOne(b, { type: 'later', runAfter: clock.now() + 5_000 });
        await expectNothingClaimable(b, agent, 'runAfter is 5 s in the future');
        clock.advance(4_999);
        await sweep(b);
        await expectNothingClaimable(b, agent, 'runAfter is still 1 ms in the future');
        await expectState(b, id, 'delayed', 'before runAfter');
        clock.advance(2);
        const swept = await sweep(b);
        expect(swept.promoted, 'sweep promotes the delayed task once runAfter has passed').toBe(1);
        await expectState(b, id, 'ready', 'after runAfter');
        await claimExpecting(b, agent, id, 'the delayed task, after runAfter');
      });

      it('a runAfter in the past is ready at once', async () => {
        const { b, clock } = env.ctx();
        const agent = await registerAgent(b);
        const task = await submitOne(b, { type: 'now', runAfter: clock.now() - 1_000 });
        expect(task.state).toBe('ready');
        await claimExpecting(b, agent, task.id, 'a task whose runAfter already passed');
      });
    });
  });
}
