import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import type { ValidationError } from '../../../src/core/errors.ts';
import type { AgentRecord, AgentSpec } from '../../../src/core/types.ts';
import { AGENT_LIMITS } from '../../../src/backends/inputs.ts';
import type { SuiteEnv } from '../context.ts';
import {
  PAST_QUICK_BACKOFF_MS,
  QUICK_BACKOFF,
  attemptOutcomes,
  claimExpecting,
  complete,
  expectBatonError,
  expectLeaseLost,
  expectState,
  mustClaim,
  readAllEvents,
  registerAgent,
  submitOne,
  sweep,
} from '../helpers.ts';

const TTL = 10_000;

async function agentById(b: Backend, id: string): Promise<AgentRecord> {
  const agent = (await b.listAgents()).find((a) => a.id === id);
  if (!agent) throw new Error(`listAgents does not list agent ${id}`);
  return agent;
}

export function agentCases(env: SuiteEnv): void {
  describe('agents', () => {
    it('register stores the agent as active, with a joined event', async () => {
      const { b, clock } = env.ctx();
      const record = await b.registerAgent({
        name: 'coder-1',
        capabilities: ['git', 'node'],
        concurrency: 3,
        labels: { zone: 'eu' },
        host: 'box',
        pid: 1234,
        version: '1.2.3',
      });
      expect(record.id, 'an id is generated when none is given').toMatch(/\S/);
      expect(record).toMatchObject({
        name: 'coder-1',
        concurrency: 3,
        labels: { zone: 'eu' },
        host: 'box',
        pid: 1234,
        version: '1.2.3',
        state: 'active',
        startedAt: clock.now(),
        lastHeartbeatAt: clock.now(),
        inFlight: [],
      });
      expect([...record.capabilities].sort()).toEqual(['git', 'node']);
      const listed = await agentById(b, record.id);
      expect([...listed.capabilities].sort(), 'listAgents shows the capabilities').toEqual([
        'git',
        'node',
      ]);
      expect(listed.state).toBe('active');
      const joined = (await readAllEvents(b)).filter((e) => e.type === 'agent.joined');
      expect(
        joined.map((e) => e.agentId),
        'an agent.joined event',
      ).toEqual([record.id]);
    });

    it('keeps a given id, and a second register with it updates the same agent', async () => {
      const { b } = env.ctx();
      const first = await registerAgent(b, ['a'], { id: 'agt_fixed' });
      expect(first.id).toBe('agt_fixed');
      await registerAgent(b, ['a', 'b'], { id: 'agt_fixed' });
      const agents = (await b.listAgents()).filter((a) => a.id === 'agt_fixed');
      expect(agents, 'one agent per id').toHaveLength(1);
      expect([...agents[0]!.capabilities].sort()).toEqual(['a', 'b']);
    });

    it('register refuses names, capabilities and labels over the limits, and stores nothing', async () => {
      const { b } = env.ctx();
      const L = AGENT_LIMITS;
      const long = 'x'.repeat(L.maxLabelLength + 1);
      const base = { capabilities: ['a'], concurrency: 1 };
      const refused: [string, AgentSpec][] = [
        ['agent.name', { ...base, name: 'n'.repeat(1_000_000) }],
        ['agent.host', { ...base, host: 'h'.repeat(L.maxTextLength + 1) }],
        ['agent.version', { ...base, version: 'v'.repeat(L.maxTextLength + 1) }],
        ['agent.capabilities[1]', { ...base, capabilities: ['a', long] }],
        [
          'agent.capabilities',
          {
            ...base,
            capabilities: Array.from({ length: L.maxCapabilities + 1 }, (_, i) => `c${i}`),
          },
        ],
        ['agent.labels.zone', { ...base, labels: { zone: long } }],
        ['agent.labels', { ...base, labels: { [long]: 'eu' } }],
        [
          'agent.labels',
          {
            ...base,
            labels: Object.fromEntries(
              Array.from({ length: L.maxLabels + 1 }, (_, i) => [`l${i}`, 'v']),
            ),
          },
        ],
      ];
      for (const [path, spec] of refused) {
        const error = await expectBatonError<ValidationError>(
          b.registerAgent(spec),
          'ValidationError',
          'BATON_VALIDATION',
          `registerAgent with a too long ${path}`,
        );
        expect(
          error.issues.map((i) => i.path),
          path,
        ).toContain(path);
      }
      expect(await b.listAgents(), 'no agent stored').toEqual([]);
      // At the limits, all is well.
      const at = 'y'.repeat(L.maxLabelLength);
      const record = await b.registerAgent({
        name: 'n'.repeat(L.maxNameLength),
        capabilities: Array.from({ length: L.maxCapabilities }, (_, i) =>
          `${i}${at}`.slice(0, L.maxCapabilityLength),
        ),
        labels: Object.fromEntries(
          Array.from({ length: L.maxLabels }, (_, i) => [
            `${i}${at}`.slice(0, L.maxLabelLength),
            at,
          ]),
        ),
        host: 'h'.repeat(L.maxTextLength),
        concurrency: 1,
      });
      expect(record.name).toHaveLength(L.maxNameLength);
      expect(record.capabilities).toHaveLength(L.maxCapabilities);
    });

    it('heartbeat moves lastHeartbeatAt to the clock', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      clock.advance(3_000);
      await b.heartbeat(agent.id);
      expect((await agentById(b, agent.id)).lastHeartbeatAt).toBe(clock.now());
    });

    it('heartbeat of an agent that never registered throws AgentLostError', async () => {
      const { b } = env.ctx();
      await expectBatonError(
        b.heartbeat('agt_nobody'),
        'AgentLostError',
        'BATON_AGENT_LOST',
        'heartbeat of an unknown agent',
      );
    });

    it('listAgents shows the tasks in flight', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const submitted = await b.submitTasks([{ type: 'x' }, { type: 'x' }]);
      const one = await mustClaim(b, agent, 'task 1');
      const two = await mustClaim(b, agent, 'task 2');
      expect(
        [...(await agentById(b, agent.id)).inFlight].sort(),
        'both leased tasks are in flight',
      ).toEqual(submitted.map((t) => t.id).sort());
      await complete(b, one);
      expect((await agentById(b, agent.id)).inFlight, 'a completed task leaves inFlight').toEqual([
        two.taskId,
      ]);
    });

    it('an agent that keeps heartbeating is never declared lost', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      for (let i = 0; i < 5; i++) {
        clock.advance(TTL - 1_000);
        await b.heartbeat(agent.id);
        expect((await b.sweep({ agentTtlMs: TTL })).agentsLost, 'a heartbeating agent').toEqual([]);
      }
      clock.advance(TTL - 1);
      expect((await b.sweep({ agentTtlMs: TTL })).agentsLost, 'just inside the TTL').toEqual([]);
      expect((await agentById(b, agent.id)).state).toBe('active');
    });

    it('renew counts as a heartbeat', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, agent, 'the task', 60_000);
      clock.advance(TTL - 1_000);
      await b.renew(agent.id, [lease], 60_000);
      clock.advance(TTL - 1_000);
      expect((await b.sweep({ agentTtlMs: TTL })).agentsLost, 'renewed within the TTL').toEqual([]);
    });

    it('a silent agent is declared lost after the TTL: event, leases released at once, heartbeat and claim refused', async () => {
      const { b, clock } = env.ctx();
      const silent = await registerAgent(b, ['gpu']);
      const { id } = await submitOne(b, { type: 'x', requires: ['gpu'], backoff: QUICK_BACKOFF });
      const lease = await mustClaim(b, silent, 'the gpu task', 60 * 60_000);

      clock.advance(TTL + 1);
      const swept = await b.sweep({ agentTtlMs: TTL });
      expect(swept.agentsLost, 'the silent agent is declared lost').toEqual([silent.id]);
      expect(swept.released, 'its lease is released with it').toBe(1);
      expect(swept.expired, 'the lease itself had not expired').toBe(0);
      expect((await agentById(b, silent.id)).state).toBe('lost');
      expect((await agentById(b, silent.id)).inFlight, 'a lost agent holds no leases').toEqual([]);
      const lost = (await readAllEvents(b)).filter((e) => e.type === 'agent.lost');
      expect(
        lost.map((e) => e.agentId),
        'an agent.lost event',
      ).toEqual([silent.id]);
      expect(await attemptOutcomes(b, id), 'the attempt ended as agent_lost').toEqual([
        'agent_lost',
      ]);
      const task = await b.getTask(id);
      expect(
        ['ready', 'delayed'],
        'the task is back in the queue, long before its lease would expire',
      ).toContain(task?.state);

      await expectBatonError(
        b.heartbeat(silent.id),
        'AgentLostError',
        'BATON_AGENT_LOST',
        'heartbeat of a lost agent',
      );
      await expectBatonError(
        b.claim({ agentId: silent.id, capabilities: ['gpu'], max: 1, leaseTtlMs: 60_000 }),
        'AgentLostError',
        'BATON_AGENT_LOST',
        'claim by a lost agent',
      );
      const [late] = await b.complete([
        { taskId: id, token: lease.token, agentId: lease.agentId, result: 'late' },
      ]);
      expectLeaseLost(late, lease.token, 'complete by a lost agent');

      clock.advance(PAST_QUICK_BACKOFF_MS);
      await sweep(b);
      const rescuer = await registerAgent(b, ['gpu']);
      const next = await claimExpecting(b, rescuer, id, 'the lost agent’s task, by another agent');
      expect(next.attempt, 'the lost attempt counts').toBe(2);
      expect(next.token > lease.token, 'the new lease has a larger token').toBe(true);
    });

    it('sweeping again does not declare the same agent lost twice', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      clock.advance(TTL + 1);
      expect((await b.sweep({ agentTtlMs: TTL })).agentsLost).toEqual([agent.id]);
      expect((await b.sweep({ agentTtlMs: TTL })).agentsLost, 'sweep is idempotent').toEqual([]);
      const lost = (await readAllEvents(b)).filter((e) => e.type === 'agent.lost');
      expect(lost, 'one agent.lost event').toHaveLength(1);
    });

    it('spare: a silent agent the caller spares keeps its state and leases in that sweep; it is asked about once, with what it registered', async () => {
      const { b, clock } = env.ctx();
      const kept = await registerAgent(b, [], { host: 'box-1', pid: 4242 });
      const gone = await registerAgent(b, [], { host: 'box-1', pid: 4343 });
      const busy = await registerAgent(b);
      await submitOne(b, { type: 'work' });
      const lease = await mustClaim(b, kept, 'the task');
      clock.advance(TTL + 1);
      await b.heartbeat(busy.id);
      const asked: unknown[] = [];
      const first = await b.sweep({
        agentTtlMs: TTL,
        spare: (agent) => {
          asked.push(agent);
          return agent.id === kept.id;
        },
      });
      expect(first.agentsLost).toEqual([gone.id]);
      expect(first.released, 'the spared agent keeps its lease').toBe(0);
      const byId = new Map((asked as { id: string }[]).map((a) => [a.id, a] as [string, unknown]));
      expect(byId.size, 'each silent agent asked about once, and only those').toBe(2);
      expect(asked).toHaveLength(2);
      expect(byId.get(kept.id)).toEqual({
        id: kept.id,
        host: 'box-1',
        pid: 4242,
        startedAt: kept.startedAt,
        lastHeartbeatAt: kept.lastHeartbeatAt,
      });
      expect((await agentById(b, kept.id)).state).toBe('active');
      await expectState(b, lease.taskId, 'running', 'its agent was spared');

      // Not spared any more: declared lost, its lease released.
      const second = await b.sweep({ agentTtlMs: TTL, spare: () => false });
      expect(second.agentsLost).toEqual([kept.id]);
      expect(second.released).toBe(1);
      expect((await agentById(b, kept.id)).state).toBe('lost');
    });

    it('a lost agent may register again and work', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b, [], { id: 'agt_phoenix' });
      clock.advance(TTL + 1);
      await b.sweep({ agentTtlMs: TTL });
      const again = await registerAgent(b, [], { id: 'agt_phoenix' });
      expect(again.state, 'registering again makes it active').toBe('active');
      await b.heartbeat(agent.id);
      const { id } = await submitOne(b, { type: 'x' });
      await claimExpecting(b, again, id, 'a task, by the re-registered agent');
    });

    it('deregister stops the agent and releases its leases at once', async () => {
      const { b } = env.ctx();
      const leaving = await registerAgent(b);
      const { id } = await submitOne(b, { type: 'x' });
      const lease = await mustClaim(b, leaving, 'the task');
      await b.deregisterAgent(leaving.id);
      expect((await agentById(b, leaving.id)).state, 'a deregistered agent is stopped').toBe(
        'stopped',
      );
      await expectState(b, id, 'ready', 'its lease was released at once, without a sweep');
      expect(await attemptOutcomes(b, id), 'the attempt ended as released').toEqual(['released']);
      const events = await readAllEvents(b);
      expect(
        events.filter((e) => e.type === 'agent.left').map((e) => e.agentId),
        'an agent.left event',
      ).toEqual([leaving.id]);
      const [late] = await b.complete([
        { taskId: id, token: lease.token, agentId: lease.agentId, result: 'late' },
      ]);
      expectLeaseLost(late, lease.token, 'complete after the agent left');
      const other = await registerAgent(b);
      const next = await claimExpecting(b, other, id, 'the released task, by another agent');
      expect(next.token > lease.token).toBe(true);
    });
  });
}
