/**
 * The agent registry beyond joining and leaving (cases/agents.ts): per-type counters written
 * with each attempt's end, the process report of heartbeats and renews, the tasks each agent
 * holds, and health: a stalled agent (alive, its loop making no progress) told apart from a lost
 * one (silent), as `SweepOptions.stallAfterMs` in backend.ts defines it.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import type { AgentRecord, BatonEvent } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import {
  LONG_AGENT_TTL_MS,
  complete,
  expectBatonError,
  fail,
  mustClaim,
  readAllEvents,
  registerAgent,
  submitOne,
} from '../helpers.ts';

/** Agent TTL of the health cases: every case heartbeats well within it unless it means not to. */
const TTL = 10_000;
/** The stall threshold the health cases sweep with. */
const STALL_MS = 2_000;

async function agentById(b: Backend, id: string): Promise<AgentRecord> {
  const agent = (await b.listAgents()).find((a) => a.id === id);
  if (!agent) throw new Error(`listAgents does not list agent ${id}`);
  return agent;
}

function eventsOf(events: BatonEvent[], type: BatonEvent['type'], agentId: string): BatonEvent[] {
  return events.filter((e) => e.type === type && e.agentId === agentId);
}

export function registryCases(env: SuiteEnv): void {
  describe('agent registry', () => {
    it('counts successes and failures per task type, with the mean run time by the clock', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const other = await registerAgent(b);
      expect(agent.stats, 'a new agent has no counters').toEqual({});

      // Two builds, taking 1 s and 3 s from claim to complete.
      for (const ms of [1_000, 3_000]) {
        await submitOne(b, { type: 'build' });
        const lease = await mustClaim(b, agent, 'a build');
        clock.advance(ms);
        await complete(b, lease);
      }
      // A lint the agent fails for good, one it reports as timed out, one the sweep times out.
      await submitOne(b, { type: 'lint', maxAttempts: 1 });
      await fail(b, await mustClaim(b, agent, 'lint 1'), { message: 'lint errors' });
      await submitOne(b, { type: 'lint', maxAttempts: 1 });
      await fail(
        b,
        await mustClaim(b, agent, 'lint 2'),
        { message: 'slow' },
        {
          outcome: 'timed_out',
        },
      );
      await submitOne(b, { type: 'lint', maxAttempts: 1, timeoutMs: 500 });
      await mustClaim(b, agent, 'lint 3');
      clock.advance(501);
      expect((await b.sweep({ agentTtlMs: LONG_AGENT_TTL_MS })).timedOut).toBe(1);
      // A lease that runs out is not the task type's failure: it is not counted.
      await submitOne(b, { type: 'lint', maxAttempts: 1 });
      await mustClaim(b, agent, 'lint 4', 1_000);
      clock.advance(1_001);
      expect((await b.sweep({ agentTtlMs: LONG_AGENT_TTL_MS })).expired).toBe(1);
      // Another agent's work counts for that agent only.
      await submitOne(b, { type: 'build' });
      const theirs = await mustClaim(b, other, 'a build by the other agent');
      clock.advance(10);
      await complete(b, theirs);

      expect((await agentById(b, agent.id)).stats).toEqual({
        build: { succeeded: 2, failed: 0, meanRunMs: 2_000 },
        lint: { succeeded: 0, failed: 3, meanRunMs: null },
      });
      expect((await agentById(b, other.id)).stats).toEqual({
        build: { succeeded: 1, failed: 0, meanRunMs: 10 },
      });
      const again = await registerAgent(b, [], { id: agent.id });
      expect(again.stats.build, 'counters belong to the agent id: kept on re-registering').toEqual({
        succeeded: 2,
        failed: 0,
        meanRunMs: 2_000,
      });
    });

    it('stores the process report of heartbeats and renews; without one the last is kept', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      expect(agent.process, 'nothing reported yet').toEqual({
        cpuPercent: null,
        rssBytes: null,
        abandonedHandlers: 0,
      });

      await b.heartbeat(agent.id, { cpuPercent: 12.34, rssBytes: 50_000_000 });
      expect((await agentById(b, agent.id)).process, 'CPU kept to 0.1 %').toEqual({
        cpuPercent: 12.3,
        rssBytes: 50_000_000,
        abandonedHandlers: 0,
      });
      await b.heartbeat(agent.id);
      expect((await agentById(b, agent.id)).process, 'a bare heartbeat keeps it').toEqual({
        cpuPercent: 12.3,
        rssBytes: 50_000_000,
        abandonedHandlers: 0,
      });
      await b.renew(agent.id, [], 60_000, { cpuPercent: 180, rssBytes: 60_000_000 });
      expect((await agentById(b, agent.id)).process, 'a renew carries one too').toEqual({
        cpuPercent: 180,
        rssBytes: 60_000_000,
        abandonedHandlers: 0,
      });
      await b.renew(agent.id, [], 60_000);
      await b.heartbeat(agent.id, { cpuPercent: null, rssBytes: 70_000_000 });
      expect((await agentById(b, agent.id)).process, 'null means unknown').toEqual({
        cpuPercent: null,
        rssBytes: 70_000_000,
        abandonedHandlers: 0,
      });

      await expectBatonError(
        b.heartbeat(agent.id, { cpuPercent: -1, rssBytes: 1.5 }),
        'ValidationError',
        'BATON_VALIDATION',
        'a negative CPU and a fractional RSS',
      );
      const again = await registerAgent(b, [], { id: agent.id });
      expect(again.process, 'a new registration is a new process').toEqual({
        cpuPercent: null,
        rssBytes: null,
        abandonedHandlers: 0,
      });
    });

    it('an agent reporting abandoned handlers is degraded until it reports none; stalled beats degraded', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      await b.heartbeat(agent.id, { cpuPercent: 1, rssBytes: 1000, abandonedHandlers: 2 });
      let seen = await agentById(b, agent.id);
      expect(seen.health).toBe('degraded');
      expect(seen.process.abandonedHandlers).toBe(2);
      await b.heartbeat(agent.id);
      expect((await agentById(b, agent.id)).health, 'a bare heartbeat keeps the report').toBe(
        'degraded',
      );
      await b.renew(agent.id, [], 60_000, { cpuPercent: 1, rssBytes: 1000 });
      seen = await agentById(b, agent.id);
      expect(seen.health, 'a report without the field means none').toBe('ok');
      expect(seen.process.abandonedHandlers).toBe(0);

      await b.renew(agent.id, [], 60_000, { cpuPercent: 1, rssBytes: 1, abandonedHandlers: 1 });
      expect((await agentById(b, agent.id)).health).toBe('degraded');
      // It holds a task and makes no progress: stalled, which says more than degraded.
      await submitOne(b, { type: 'work' });
      await mustClaim(b, agent, 'the task');
      clock.advance(STALL_MS + 1);
      await b.heartbeat(agent.id);
      const swept = await b.sweep({ agentTtlMs: TTL, stallAfterMs: STALL_MS });
      expect(swept.agentsStalled).toEqual([agent.id]);
      expect((await agentById(b, agent.id)).health).toBe('stalled');

      await expectBatonError(
        b.heartbeat(agent.id, { cpuPercent: 1, rssBytes: 1, abandonedHandlers: -1 }),
        'ValidationError',
        'BATON_VALIDATION',
        'a negative count',
      );
      const again = await registerAgent(b, [], { id: agent.id });
      expect(again.health, 'a new registration is a new process').toBe('ok');
      expect(again.process.abandonedHandlers).toBe(0);
    });

    it('inFlight lists the tasks each agent holds, and drops them as their attempts end', async () => {
      const { b, clock } = env.ctx();
      const one = await registerAgent(b);
      const two = await registerAgent(b);
      await b.submitTasks([{ type: 'x' }, { type: 'x' }, { type: 'x', timeoutMs: 100 }]);
      const a = await mustClaim(b, one, 'task a');
      const c = await mustClaim(b, two, 'task c');
      const d = await mustClaim(b, one, 'task d');
      expect([...(await agentById(b, one.id)).inFlight].sort()).toEqual(
        [a.taskId, d.taskId].sort(),
      );
      expect((await agentById(b, two.id)).inFlight).toEqual([c.taskId]);
      await fail(b, a);
      clock.advance(101);
      await b.sweep({ agentTtlMs: LONG_AGENT_TTL_MS });
      const left = await b.listAgents();
      expect(left.find((x) => x.id === one.id)?.inFlight, 'failed and timed out').toEqual([]);
      expect(left.find((x) => x.id === two.id)?.inFlight).toEqual([c.taskId]);
    });

    it('an agent holding a task with no progress past stallAfterMs is stalled, once; progress recovers it', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task');
      const sweep = () => b.sweep({ agentTtlMs: TTL, stallAfterMs: STALL_MS });

      clock.advance(STALL_MS);
      await b.heartbeat(agent.id);
      expect((await sweep()).agentsStalled, 'exactly stallAfterMs is not past it').toEqual([]);
      clock.advance(1);
      await b.heartbeat(agent.id);
      const swept = await sweep();
      expect(swept.agentsStalled, 'heartbeating, holding a task, no renew').toEqual([agent.id]);
      expect(swept.agentsLost, 'stalled is not lost').toEqual([]);
      const stalled = await agentById(b, agent.id);
      expect(stalled).toMatchObject({ state: 'active', health: 'stalled', stalledAt: clock.now() });
      expect(stalled.inFlight, 'it still holds its task').toEqual([lease.taskId]);

      clock.advance(1_000);
      await b.heartbeat(agent.id);
      expect((await sweep()).agentsStalled, 'declared once').toEqual([]);
      let events = await readAllEvents(b);
      const [event, ...more] = eventsOf(events, 'agent.stalled', agent.id);
      expect(more, 'one agent.stalled event').toEqual([]);
      expect(event?.data).toMatchObject({
        reason: 'no_progress',
        lastProgressAt: agent.startedAt,
        stallAfterMs: STALL_MS,
      });

      clock.advance(1_000);
      const [renewed] = await b.renew(agent.id, [lease], 60_000);
      expect(renewed?.status).toBe('ok');
      expect((await agentById(b, agent.id)).health, 'progress ends the stall at once').toBe('ok');
      const after = await sweep();
      expect(after.agentsRecovered).toEqual([agent.id]);
      expect(after.agentsStalled).toEqual([]);
      expect((await sweep()).agentsRecovered, 'recovered once').toEqual([]);
      events = await readAllEvents(b);
      const recovered = eventsOf(events, 'agent.recovered', agent.id);
      expect(recovered).toHaveLength(1);
      expect(recovered[0]?.data).toMatchObject({ stalledForMs: 2_000 });
      expect((await agentById(b, agent.id)).stalledAt).toBeNull();
    });

    it('past a task’s timeout, an agent that keeps heartbeating but reports nothing is stalled; one that stops heartbeating is lost', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x', timeoutMs: 5_000 });
      await mustClaim(b, agent, 'the task with a timeout');
      const sweep = () => b.sweep({ agentTtlMs: TTL, stallAfterMs: 10_000 });

      clock.advance(5_001);
      await b.heartbeat(agent.id);
      const timedOut = await sweep();
      expect(timedOut.timedOut, 'the sweep times the attempt out').toBe(1);
      expect(timedOut.agentsStalled, 'its report may still be on the way').toEqual([]);
      expect((await b.getTask(id))?.agentId).toBe(agent.id);
      expect((await agentById(b, agent.id)).inFlight).toEqual([]);

      for (let i = 0; i < 3; i++) {
        clock.advance(3_000);
        await b.heartbeat(agent.id);
        await sweep();
      }
      // 9 s after the timeout: not yet. 1 s more: stallAfterMs without a report.
      expect((await agentById(b, agent.id)).health).toBe('ok');
      clock.advance(1_001);
      await b.heartbeat(agent.id);
      expect((await sweep()).agentsStalled).toEqual([agent.id]);
      clock.advance(1_000);
      await b.heartbeat(agent.id);
      expect((await sweep()).agentsStalled, 'declared once').toEqual([]);
      const stalled = eventsOf(await readAllEvents(b), 'agent.stalled', agent.id);
      expect(stalled.map((e) => e.data['reason'])).toEqual(['timeout']);
      expect(await agentById(b, agent.id)).toMatchObject({ state: 'active', health: 'stalled' });

      // Now it goes silent too: past the TTL it is lost, which overrides stalled.
      clock.advance(TTL + 1);
      const lost = await sweep();
      expect(lost.agentsLost).toEqual([agent.id]);
      expect(lost.agentsStalled).toEqual([]);
      expect(await agentById(b, agent.id)).toMatchObject({ state: 'lost', health: 'lost' });
      expect(eventsOf(await readAllEvents(b), 'agent.lost', agent.id)).toHaveLength(1);

      const back = await registerAgent(b, [], { id: agent.id });
      expect(back, 'registering again resets its health').toMatchObject({
        state: 'active',
        health: 'ok',
        stalledAt: null,
      });
      clock.advance(1_000);
      await b.heartbeat(agent.id);
      const later = await sweep();
      expect(later.agentsStalled).toEqual([]);
      expect(later.agentsRecovered, 'no recovery event for a fresh registration').toEqual([]);
      expect((await agentById(b, agent.id)).health).toBe('ok');
    });

    it('an agent that reports after the sweep timed out its attempt, or renews, or holds nothing, is not stalled', async () => {
      const { b, clock } = env.ctx();
      const late = await registerAgent(b);
      const renewing = await registerAgent(b);
      const idle = await registerAgent(b);
      await submitOne(b, { type: 'x', timeoutMs: 1_000 });
      const timed = await mustClaim(b, late, 'the task with a timeout');
      await submitOne(b, { type: 'x' });
      const long = await mustClaim(b, renewing, 'a long task');
      const sweep = () => b.sweep({ agentTtlMs: TTL, stallAfterMs: STALL_MS });

      clock.advance(1_001);
      expect((await sweep()).timedOut).toBe(1);
      // The worker's own timeout report, a moment after the sweep's: refused, but its loop is
      // alive and its next renew (of no leases) says so.
      const [refused] = await b.fail([
        {
          taskId: timed.taskId,
          token: timed.token,
          agentId: timed.agentId,
          error: { message: 'timeout' },
        },
      ]);
      expect(refused?.status).toBe('lease_lost');
      await b.renew(late.id, [], 60_000);
      for (let i = 0; i < 5; i++) {
        clock.advance(1_000);
        await b.heartbeat(late.id);
        await b.heartbeat(idle.id);
        await b.renew(renewing.id, [long], 60_000);
        expect((await sweep()).agentsStalled).toEqual([]);
      }
      for (const a of await b.listAgents()) expect(a.health, a.id).toBe('ok');
      expect(eventsOf(await readAllEvents(b), 'agent.stalled', late.id)).toEqual([]);
    });

    it('a sweep without stallAfterMs declares no stall', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      await submitOne(b, { type: 'x' });
      await mustClaim(b, agent, 'the task');
      clock.advance(60_000);
      await b.heartbeat(agent.id);
      expect((await b.sweep({ agentTtlMs: TTL })).agentsStalled).toEqual([]);
      expect((await agentById(b, agent.id)).health).toBe('ok');
      await expectBatonError(
        b.sweep({ agentTtlMs: TTL, stallAfterMs: 0 }),
        'ValidationError',
        'BATON_VALIDATION',
        'stallAfterMs 0',
      );
    });
  });
}
