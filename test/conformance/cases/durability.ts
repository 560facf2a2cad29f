import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import type { SuiteEnv } from '../context.ts';
import {
  claimExpecting,
  complete,
  fail,
  idOf,
  mustClaim,
  readAllEvents,
  registerAgent,
  submitOne,
} from '../helpers.ts';

/** Everything a backend can tell about its state, for before/after comparisons. */
async function snapshot(b: Backend, taskIds: string[], runIds: string[]) {
  return {
    tasks: await Promise.all(taskIds.map((id) => b.getTask(id))),
    attempts: await Promise.all(taskIds.map((id) => b.getAttempts(id))),
    runs: await Promise.all(runIds.map((id) => b.getRun(id))),
    agents: [...(await b.listAgents())].sort((x, y) => x.id.localeCompare(y.id)),
    events: await readAllEvents(b),
    stats: await b.stats(),
  };
}

export function durabilityCases(env: SuiteEnv): void {
  describe.skipIf(!env.options.reopen)('durability', () => {
    it('after closing and reopening the store, every task, run, attempt, agent and event is intact', async () => {
      const ctx = env.ctx();
      const { b } = ctx;
      const agent = await registerAgent(b, ['git'], { name: 'keeper' });
      const run = await b.submitRun({
        name: 'durable',
        tasks: [
          { type: 'x', key: 'a', payload: { n: 1 }, maxAttempts: 2 },
          { type: 'x', key: 'b', dependsOn: ['a'] },
          { type: 'x', key: 'c', requires: ['git'], idempotencyKey: 'durable-c' },
        ],
      });
      const a = await claimExpecting(b, agent, idOf(run.tasks, 'a'), 'a');
      await fail(b, a, { message: 'first try', code: 'E' });
      const c = await claimExpecting(b, agent, idOf(run.tasks, 'c'), 'c');
      await complete(b, c, { kept: true });
      const ids = run.tasks.map((t) => t.id);
      const before = await snapshot(b, ids, [run.runId]);

      const reopened = await ctx.reopen();
      const after = await snapshot(reopened, ids, [run.runId]);
      expect(after.tasks, 'tasks survive a restart').toEqual(before.tasks);
      expect(after.attempts, 'attempts survive a restart').toEqual(before.attempts);
      expect(after.runs, 'runs survive a restart').toEqual(before.runs);
      expect(after.agents, 'agents survive a restart').toEqual(before.agents);
      expect(after.events, 'the event stream survives a restart').toEqual(before.events);
      expect(after.stats, 'stats are the same after a restart').toEqual(before.stats);

      const again = await submitOne(reopened, {
        type: 'x',
        key: 'c',
        requires: ['git'],
        idempotencyKey: 'durable-c',
      });
      expect(again, 'idempotency keys survive a restart').toMatchObject({
        id: idOf(run.tasks, 'c'),
        existing: true,
      });
    });

    it('a lease taken before a restart is still valid after it, and tokens keep growing', async () => {
      const ctx = env.ctx();
      const agent = await registerAgent(ctx.b);
      const { id } = await submitOne(ctx.b, {
        type: 'x',
        maxAttempts: 3,
        backoff: { baseMs: 100, maxMs: 100, jitter: 'none' },
      });
      const first = await mustClaim(ctx.b, agent, 'the task');
      await fail(ctx.b, first);
      ctx.clock.advance(1_000);
      const reopened = await ctx.reopen();
      await reopened.sweep({ agentTtlMs: 24 * 60 * 60 * 1000 });
      const second = await claimExpecting(reopened, agent, id, 'the retry, after a restart');
      expect(second.attempt).toBe(2);
      expect(second.token > first.token, 'tokens keep growing across restarts').toBe(true);
      const lastSeen = (await readAllEvents(reopened)).at(-1)!.id;
      const third = await ctx.reopen();
      await complete(third, second, 'done after two restarts');
      expect((await third.getTask(id))?.state).toBe('succeeded');
      const newer = await third.readEvents({ since: lastSeen });
      expect(
        newer.map((e) => e.type),
        'an event id from before a restart resumes the stream after it',
      ).toEqual(['task.succeeded']);
    });
  });

  describe.skipIf(!env.options.reopen)('shared store', () => {
    it('namespaces sharing a store do not see each other', async () => {
      const ctx = env.ctx();
      const other = await ctx.open({ namespace: `${ctx.namespace}-other` });
      const mine = await submitOne(ctx.b, { type: 'x', idempotencyKey: 'same-key' });
      const theirs = await submitOne(other, { type: 'x', idempotencyKey: 'same-key' });
      expect(theirs.existing, 'an idempotency key is scoped to its namespace').toBe(false);
      expect(theirs.id).not.toBe(mine.id);
      expect(
        (await other.listTasks()).tasks.map((t) => t.id),
        'the other namespace lists only its task',
      ).toEqual([theirs.id]);
      expect(await other.getTask(mine.id), 'a task of another namespace is not found').toBeNull();
      const agent = await registerAgent(other);
      const lease = await mustClaim(other, agent, 'its own task');
      expect(lease.taskId, 'a claim never crosses namespaces').toBe(theirs.id);
      expect(
        (await ctx.b.listAgents()).map((a) => a.id),
        'agents are per namespace',
      ).not.toContain(agent.id);
      expect(
        (await ctx.b.readEvents()).every((e) => e.taskId !== theirs.id),
        'events are per namespace',
      ).toBe(true);
    });

    it('two instances on one store share the work and never lease a task twice', async () => {
      const ctx = env.ctx();
      const second = await ctx.open();
      const submitted = await ctx.b.submitTasks(
        Array.from({ length: 20 }, (_, i) => ({ type: 'x', payload: i })),
      );
      const agents = await Promise.all(
        Array.from({ length: 6 }, (_, i) => registerAgent(i % 2 === 0 ? ctx.b : second, [])),
      );
      const rounds = await Promise.all(
        agents.map((agent, i) =>
          (i % 2 === 0 ? ctx.b : second).claim({
            agentId: agent.id,
            capabilities: [],
            max: 5,
            leaseTtlMs: 60_000,
          }),
        ),
      );
      const leased = rounds.flat().map((l) => l.taskId);
      expect(leased.length, 'no task is leased twice').toBe(new Set(leased).size);
      expect(leased.length, '6 agents × 5 slots cover all 20 tasks').toBe(20);
      expect([...leased].sort()).toEqual(submitted.map((t) => t.id).sort());
      const tokens = rounds.flat().map((l) => [l.taskId, l.token, l.agentId] as const);
      for (const [taskId, token, agentId] of tokens) {
        const [outcome] = await second.complete([{ taskId, token, agentId, result: null }]);
        expect(
          outcome?.status,
          `a lease from either instance settles on the other (${taskId})`,
        ).toBe('ok');
      }
      expect((await ctx.b.stats()).byState.succeeded).toBe(20);
    });
  });
}
