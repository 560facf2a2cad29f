/**
 * A lease is tied to the agent that holds it: renew, complete, fail and release from any other
 * agent are refused (`lease_lost`, `BATON_LEASE_LOST`) even with the holder's token, and change
 * nothing: no event, no new expiry, no heartbeat or progress for anyone but the caller itself.
 * No refusal names a token. And an agent keeps the owner it was first registered with (what the
 * HTTP API binds agents to API tokens by).
 */
import { describe, expect, it } from 'vitest';
import type { Backend, SettleOutcome } from '../../../src/backends/backend.ts';
import type { ConflictError } from '../../../src/core/errors.ts';
import type { AgentRecord, Lease } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import {
  LEASE_TTL_MS,
  complete,
  expectBatonError,
  expectLeaseLost,
  getTask,
  mustClaim,
  registerAgent,
  submitOne,
} from '../helpers.ts';

/** What a refused call must leave as it was: the task, the holder's record, the event stream. */
async function snapshot(b: Backend, lease: Lease, holder: AgentRecord) {
  const task = await getTask(b, lease.taskId);
  const agent = (await b.listAgents()).find((a) => a.id === holder.id);
  return {
    task: {
      state: task.state,
      agentId: task.agentId,
      attempts: task.attempts,
      leaseExpiresAt: task.leaseExpiresAt,
      result: task.result,
      error: task.error,
    },
    attempts: (await b.getAttempts(lease.taskId)).map((a) => [a.attempt, a.outcome]),
    holder: {
      lastHeartbeatAt: agent?.lastHeartbeatAt,
      health: agent?.health,
      inFlight: agent?.inFlight,
      stats: agent?.stats,
    },
    lastEventId: await b.lastEventId(),
  };
}

/** The reason of a refusal must not name a token: besides ids, it has no digits at all. */
function expectNoToken(outcome: SettleOutcome | undefined, what: string): void {
  const reason = outcome && outcome.status !== 'ok' ? outcome.reason : '';
  expect(reason, `${what}: the refusal says why`).not.toBe('');
  expect(
    reason.replace(/\b(agt|tsk|run)_[0-9A-Z]+\b/g, '<id>'),
    `${what}: the refusal names no token (no number but ids)`,
  ).not.toMatch(/\d/);
}

export function holderCases(env: SuiteEnv): void {
  describe('a lease is held by its agent', () => {
    /** Agent A holds a lease; agent B is another registered agent; the clock moves on. */
    async function setup() {
      const { b, clock } = env.ctx();
      const a = await registerAgent(b, [], { name: 'a' });
      const other = await registerAgent(b, [], { name: 'b' });
      const { id } = await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, a, 'the task', LEASE_TTL_MS);
      expect(lease.taskId).toBe(id);
      clock.advance(1_000);
      return { b, clock, a, other, lease, before: await snapshot(b, lease, a) };
    }

    /** Each lease call, made by `agentId` with the holder's task id and token. */
    const calls: Record<
      string,
      (b: Backend, lease: Lease, agentId: string) => Promise<SettleOutcome[]>
    > = {
      renew: (b, lease, agentId) =>
        b.renew(agentId, [{ taskId: lease.taskId, token: lease.token }], LEASE_TTL_MS),
      complete: (b, lease, agentId) =>
        b.complete([{ taskId: lease.taskId, token: lease.token, agentId, result: 'stolen' }]),
      fail: (b, lease, agentId) =>
        b.fail([
          {
            taskId: lease.taskId,
            token: lease.token,
            agentId,
            error: { message: 'sabotage' },
            retryable: false,
          },
        ]),
      release: (b, lease, agentId) =>
        b.release([{ taskId: lease.taskId, token: lease.token, agentId, delayMs: 60_000 }]),
    };

    for (const [call, send] of Object.entries(calls)) {
      it(`${call} from another agent, with the holder's token, is refused and changes nothing`, async () => {
        const { b, a, other, lease, before } = await setup();
        const [outcome] = await send(b, lease, other.id);
        expectLeaseLost(outcome, lease.token, `${call} by agent ${other.id} of ${a.id}'s lease`);
        expectNoToken(outcome, call);
        expect(
          await snapshot(b, lease, a),
          `${call} from another agent leaves the task, its attempts, the holder and the event stream as they were`,
        ).toEqual(before);
        // The holder still holds it.
        await complete(b, lease, 'mine');
        expect((await getTask(b, lease.taskId)).result, 'the holder’s result is the one kept').toBe(
          'mine',
        );
      });

      it(`${call} from an agent that is not registered is refused and changes nothing`, async () => {
        const { b, a, lease, before } = await setup();
        const [outcome] = await send(b, lease, 'agt_nobody');
        expectLeaseLost(outcome, lease.token, `${call} by an unknown agent`);
        expectNoToken(outcome, call);
        expect(await snapshot(b, lease, a)).toEqual(before);
      });
    }

    it('renew from another agent of a cancelled task is refused as lease_lost, not cancelled', async () => {
      const { b, other, lease } = await setup();
      await b.cancelTask(lease.taskId, 'stop');
      const [outcome] = await calls.renew!(b, lease, other.id);
      expectLeaseLost(outcome, lease.token, 'renew by another agent of a cancelled task');
      const [own] = await calls.renew!(b, lease, lease.agentId);
      expect(own?.status, 'the holder hears that its task was cancelled').toBe('cancelled');
    });

    it('a refused item of another agent does not sink the holder’s items of the same batch', async () => {
      const { b, clock, a, other, lease } = await setup();
      const { id } = await submitOne(b, { type: 'y' });
      const theirs = await mustClaim(b, other, 'the second task');
      expect(theirs.taskId).toBe(id);
      clock.advance(1_000);
      const outcomes = await b.complete([
        { taskId: lease.taskId, token: lease.token, agentId: a.id, result: 1 },
        { taskId: theirs.taskId, token: theirs.token, agentId: a.id, result: 2 },
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'lease_lost']);
      expect((await getTask(b, theirs.taskId)).state, 'the other agent’s task is untouched').toBe(
        'running',
      );
    });

    it('no refusal of the holder names a token: a stale one, one never issued', async () => {
      const { b, lease } = await setup();
      const stale = await b.complete([
        { taskId: lease.taskId, token: lease.token - 1, agentId: lease.agentId, result: null },
      ]);
      expectLeaseLost(stale[0], lease.token - 1, 'complete with an older token');
      expectNoToken(stale[0], 'complete with an older token');
      const unissued = await b.renew(
        lease.agentId,
        [{ taskId: lease.taskId, token: lease.token + 5 }],
        LEASE_TTL_MS,
      );
      expectLeaseLost(unissued[0], lease.token + 5, 'renew with a token never issued');
      expectNoToken(unissued[0], 'renew with a token never issued');
    });
  });
}

export function ownerCases(env: SuiteEnv): void {
  describe('an agent keeps the owner it was registered with', () => {
    async function agentState(b: Backend, id: string) {
      const agent = (await b.listAgents()).find((a) => a.id === id);
      return { agent, lastEventId: await b.lastEventId(), owner: await b.agentOwner(id) };
    }

    it('agentOwner answers the owner, null for none, and null for no such agent', async () => {
      const { b } = env.ctx();
      const owned = await b.registerAgent({ capabilities: [], concurrency: 1, owner: 'tok_a' });
      const free = await b.registerAgent({ capabilities: [], concurrency: 1 });
      expect(await b.agentOwner(owned.id)).toEqual({ owner: 'tok_a' });
      expect(await b.agentOwner(free.id)).toEqual({ owner: null });
      expect(await b.agentOwner('agt_nobody')).toBeNull();
      expect(owned, 'the owner is not part of the agent record').not.toHaveProperty('owner');
    });

    for (const [what, first, again] of [
      ['another owner', 'tok_a', 'tok_b'],
      ['no owner, when it has one', 'tok_a', undefined],
      ['an owner, when it has none', undefined, 'tok_b'],
    ] as const) {
      it(`registering its id again with ${what} is refused, and nothing changes`, async () => {
        const { b, clock } = env.ctx();
        const agent = await b.registerAgent({
          name: 'first',
          capabilities: ['x'],
          concurrency: 1,
          ...(first === undefined ? {} : { owner: first }),
        });
        await b.deregisterAgent(agent.id); // an agent that left keeps its owner too
        clock.advance(1_000);
        const before = await agentState(b, agent.id);
        const error = await expectBatonError<ConflictError>(
          b.registerAgent({
            id: agent.id,
            name: 'impostor',
            capabilities: ['everything'],
            concurrency: 9,
            ...(again === undefined ? {} : { owner: again }),
          }),
          'ConflictError',
          'BATON_CONFLICT',
          `registering ${agent.id} again with ${what}`,
        );
        expect(error.details).toEqual({ agentId: agent.id, reason: 'owner' });
        expect(await agentState(b, agent.id), 'the agent is as it was').toEqual(before);
      });
    }

    it('registering again with the same owner makes it active again', async () => {
      const { b } = env.ctx();
      const agent = await b.registerAgent({ capabilities: [], concurrency: 1, owner: 'tok_a' });
      await b.deregisterAgent(agent.id);
      const again = await b.registerAgent({
        id: agent.id,
        name: 'back',
        capabilities: [],
        concurrency: 2,
        owner: 'tok_a',
      });
      expect(again).toMatchObject({ id: agent.id, name: 'back', state: 'active', concurrency: 2 });
      expect(await b.agentOwner(agent.id)).toEqual({ owner: 'tok_a' });
    });
  });
}
