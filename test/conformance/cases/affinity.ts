/**
 * Routing between agents that can all take a task (docs/routing.md): a retry prefers agents it
 * has not failed on, label affinity, history per task type, and load; each preference lasts a
 * window and never makes a task wait for an agent that is not alive. The SQLite adapter applies
 * the rule in TypeScript (`src/core/routing.ts`), the Redis one in Lua
 * (`lua/includes/routing.lua`): these cases are what keeps the two the same rule.
 *
 * Every agent here claims once before any task exists ({@link pulling}): routing only counts
 * agents that pull work, since their claims say which tasks they take.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import { DEFAULT_ROUTING } from '../../../src/core/routing.ts';
import type { AgentRecord, AgentSpec, Lease, TaskSpec } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import {
  LEASE_TTL_MS,
  complete,
  expectBatonError,
  getTask,
  registerAgent,
  submitOne,
  sweep,
} from '../helpers.ts';

const PREFER_MS = DEFAULT_ROUTING.preferWindowMs;
const GRACE_MS = DEFAULT_ROUTING.fallbackGraceMs;
const LIVE_MS = DEFAULT_ROUTING.agentLiveMs;

/** Register an agent and make one (empty) claim, as a worker does when it starts. */
async function pulling(
  b: Backend,
  name: string,
  capabilities: string[] = [],
  spec: Partial<AgentSpec> = {},
): Promise<AgentRecord> {
  const agent = await registerAgent(b, capabilities, { id: `agt_${name}`, name, ...spec });
  const leases = await claimFor(b, agent, 1);
  expect(
    leases,
    `${name}'s first claim must find nothing: call pulling() before submitting`,
  ).toEqual([]);
  return agent;
}

async function claimFor(b: Backend, agent: AgentRecord, max = 10): Promise<Lease[]> {
  const leases = await b.claim({
    agentId: agent.id,
    capabilities: agent.capabilities,
    max,
    leaseTtlMs: LEASE_TTL_MS,
  });
  expect(leases.length, `claim(max ${max}) returned more than asked for`).toBeLessThanOrEqual(max);
  return leases;
}

/** Fail the attempt so that it is ready again at once. */
async function failNow(b: Backend, lease: Lease): Promise<void> {
  const [outcome] = await b.fail([
    {
      taskId: lease.taskId,
      token: lease.token,
      agentId: lease.agentId,
      error: { message: 'boom' },
      retryDelayMs: 0,
    },
  ]);
  expect(outcome, 'the failure is recorded and the task retried').toMatchObject({
    status: 'ok',
    state: 'ready',
  });
}

/** Heartbeat agents after the clock moved, so they still count as alive. */
async function alive(b: Backend, ...agents: AgentRecord[]): Promise<void> {
  for (const agent of agents) await b.heartbeat(agent.id);
}

async function submitMany(b: Backend, n: number, spec: TaskSpec): Promise<string[]> {
  const tasks = await b.submitTasks(Array.from({ length: n }, () => ({ ...spec })));
  return tasks.map((t) => t.id);
}

/** Whether `promise` is still pending after `ms` of real time. */
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

export function routingPolicyCases(env: SuiteEnv): void {
  describe('routing: fallback after a failure', () => {
    it('a retry skips the agent it failed on while another capable agent is alive; that agent gets it', async () => {
      const { b } = env.ctx();
      const first = await pulling(b, 'first');
      const second = await pulling(b, 'second');
      const { id } = await submitOne(b, { type: 'x' });
      const [lease] = await claimFor(b, first, 1);
      expect(lease?.taskId, 'two idle agents: the one that asks takes it').toBe(id);
      await failNow(b, lease!);
      expect((await getTask(b, id)).failedAgents, 'the backend records where it failed').toEqual([
        first.id,
      ]);

      expect(await claimFor(b, first), 'the agent it failed on leaves the retry').toEqual([]);
      expect((await getTask(b, id)).state, 'the retry stays ready').toBe('ready');
      const [retry] = await claimFor(b, second);
      expect(retry?.taskId, 'the other agent takes the retry').toBe(id);
      expect(retry?.attempt).toBe(2);
      expect(retry?.task.failedAgents, 'the lease shows where it failed').toEqual([first.id]);
    });

    it('with no other capable agent alive, the agent it failed on retries it at once', async () => {
      const { b } = env.ctx();
      const gpu = await pulling(b, 'gpu', ['gpu']);
      await pulling(b, 'cpu', []);
      const gone = await pulling(b, 'gone', ['gpu']);
      await b.deregisterAgent(gone.id);
      const { id } = await submitOne(b, { type: 'x', requires: ['gpu'] });
      await failNow(b, (await claimFor(b, gpu, 1))[0]!);
      const [retry] = await claimFor(b, gpu);
      expect(
        retry?.taskId,
        'the only other agents lack the capability or have left: no reason to wait',
      ).toBe(id);
    });

    it('a peer whose heartbeat is older than agentLiveMs does not count as alive', async () => {
      const { b, clock } = env.ctx();
      const first = await pulling(b, 'first');
      await pulling(b, 'silent');
      const { id } = await submitOne(b, { type: 'x' });
      await failNow(b, (await claimFor(b, first, 1))[0]!);
      expect(await claimFor(b, first), 'the silent agent is still alive').toEqual([]);
      clock.advance(LIVE_MS - 1);
      await alive(b, first);
      expect(await claimFor(b, first), 'its heartbeat is LIVE_MS - 1 old: alive').toEqual([]);
      clock.advance(2);
      await alive(b, first);
      expect(LIVE_MS + 1, 'the grace has not run out: only liveness changed').toBeLessThan(
        GRACE_MS,
      );
      const [retry] = await claimFor(b, first);
      expect(retry?.taskId, 'the silent agent no longer counts').toBe(id);
    });

    it('a stalled peer does not count as alive; once it makes progress it counts again', async () => {
      const { b, clock } = env.ctx();
      const stallMs = 2_000;
      const first = await pulling(b, 'first');
      const peer = await pulling(b, 'peer', [], { concurrency: 2 });
      await submitOne(b, { type: 'hold' });
      const [held] = await claimFor(b, peer, 1);
      expect(held, 'the peer holds a task').toBeDefined();
      clock.advance(stallMs + 1);
      await alive(b, first, peer);
      const swept = await b.sweep({ agentTtlMs: LIVE_MS * 10, stallAfterMs: stallMs });
      expect(swept.agentsStalled, 'no progress on its task past stallAfterMs').toEqual([peer.id]);

      const { id } = await submitOne(b, { type: 'x' });
      await failNow(b, (await claimFor(b, first, 1))[0]!);
      const [retry] = await claimFor(b, first, 1);
      expect(retry?.taskId, 'the only other agent is stalled: no reason to wait').toBe(id);

      clock.advance(1);
      await alive(b, first, peer);
      const [renewed] = await b.renew(peer.id, [held!], LEASE_TTL_MS);
      expect(renewed?.status, 'progress: the peer is no longer stalled').toBe('ok');
      await failNow(b, retry!);
      expect(await claimFor(b, first), 'the peer counts again: the retry is left to it').toEqual(
        [],
      );
    });

    it('after fallbackGraceMs the agent it failed on takes it, though another capable agent is alive', async () => {
      const { b, clock } = env.ctx();
      const first = await pulling(b, 'first');
      const second = await pulling(b, 'second');
      const { id } = await submitOne(b, { type: 'x' });
      await failNow(b, (await claimFor(b, first, 1))[0]!);
      expect(await claimFor(b, first)).toEqual([]);
      clock.advance(GRACE_MS - 100);
      await alive(b, first, second);
      expect(await claimFor(b, first), 'still within the grace period').toEqual([]);
      clock.advance(100);
      await alive(b, first, second);
      const [retry] = await claimFor(b, first);
      expect(retry?.taskId, 'the grace ran out: the task does not wait any longer').toBe(id);
    });

    it('a busy peer still counts: the retry waits for its free slot', async () => {
      const { b } = env.ctx();
      const first = await pulling(b, 'first', [], { concurrency: 1 });
      const busy = await pulling(b, 'busy', [], { concurrency: 1 });
      await submitOne(b, { type: 'hold' });
      const [held] = await claimFor(b, busy, 1);
      expect(held, 'the busy agent fills its only slot').toBeDefined();
      const { id } = await submitOne(b, { type: 'x' });
      const [lease] = await claimFor(b, first, 1);
      expect(lease?.taskId).toBe(id);
      await failNow(b, lease!);
      expect(await claimFor(b, first), 'the retry waits for the busy agent').toEqual([]);
      await complete(b, held!, 'done');
      const [retry] = await claimFor(b, busy, 1);
      expect(retry?.taskId, 'the busy agent takes it once it has a slot').toBe(id);
    });

    it('failedAgents lists where attempts failed, timed out, lost their lease or their agent, each once; a release adds nothing', async () => {
      const { b, clock } = env.ctx();
      const a = await registerAgent(b, [], { id: 'agt_a' });
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 10, timeoutMs: 5_000 });

      let [lease] = await claimFor(b, a, 1);
      await b.release([{ taskId: id, token: lease!.token, agentId: lease!.agentId }]);
      expect((await getTask(b, id)).failedAgents, 'a graceful release is no failure').toEqual([]);

      [lease] = await claimFor(b, a, 1);
      await failNow(b, lease!);
      [lease] = await claimFor(b, a, 1);
      await failNow(b, lease!);
      expect((await getTask(b, id)).failedAgents, 'each agent once').toEqual([a.id]);

      const timer = await registerAgent(b, [], { id: 'agt_timer' });
      [lease] = await claimFor(b, timer, 1);
      expect(lease?.taskId).toBe(id);
      clock.advance(5_001);
      await sweep(b);
      const timedOut = await getTask(b, id);
      expect(timedOut.failedAgents, 'a timed-out attempt counts').toEqual([a.id, timer.id]);

      clock.advance(timedOut.state === 'delayed' ? 120_000 : 0);
      await sweep(b);
      const expiring = await registerAgent(b, [], { id: 'agt_expiring' });
      const [short] = await b.claim({
        agentId: expiring.id,
        capabilities: [],
        max: 1,
        leaseTtlMs: 1_000,
      });
      expect(short?.taskId).toBe(id);
      clock.advance(1_001);
      await sweep(b);
      expect((await getTask(b, id)).failedAgents, 'an expired lease counts').toEqual([
        a.id,
        timer.id,
        expiring.id,
      ]);

      const lost = await registerAgent(b, [], { id: 'agt_lost' });
      const [held] = await claimFor(b, lost, 1);
      expect(held?.taskId).toBe(id);
      clock.advance(10_000);
      await sweep(b, 5_000);
      expect((await getTask(b, id)).failedAgents, 'an agent declared lost counts').toEqual([
        a.id,
        timer.id,
        expiring.id,
        lost.id,
      ]);
    });
  });

  describe('routing: label affinity', () => {
    it('a task prefers the agent whose labels match its affinity; another capable agent leaves it to that one', async () => {
      const { b } = env.ctx();
      const us = await pulling(b, 'us', [], { labels: { region: 'us' } });
      const eu = await pulling(b, 'eu', [], { labels: { region: 'eu' } });
      const { id } = await submitOne(b, {
        type: 'x',
        affinity: [{ label: 'region', value: 'eu' }],
      });
      expect(await claimFor(b, us), 'the us agent leaves it to the eu agent').toEqual([]);
      const [lease] = await claimFor(b, eu);
      expect(lease?.taskId).toBe(id);
      expect(lease?.task.affinity, 'affinity is stored with its default weight').toEqual([
        { label: 'region', value: 'eu', weight: 1 },
      ]);
    });

    it('after preferWindowMs the other agent takes it', async () => {
      const { b, clock } = env.ctx();
      const us = await pulling(b, 'us', [], { labels: { region: 'us' } });
      const eu = await pulling(b, 'eu', [], { labels: { region: 'eu' } });
      const { id } = await submitOne(b, {
        type: 'x',
        affinity: [{ label: 'region', value: 'eu' }],
      });
      expect(await claimFor(b, us)).toEqual([]);
      clock.advance(PREFER_MS - 50);
      await alive(b, us, eu);
      expect(await claimFor(b, us), 'still within the window').toEqual([]);
      clock.advance(50);
      await alive(b, us, eu);
      const [lease] = await claimFor(b, us);
      expect(lease?.taskId, 'the window ran out: anyone capable takes it').toBe(id);
    });

    it('the window runs from when the task became ready, not from its submission', async () => {
      const { b, clock } = env.ctx();
      const us = await pulling(b, 'us', [], { labels: { region: 'us' } });
      const eu = await pulling(b, 'eu', [], { labels: { region: 'eu' } });
      const { id } = await submitOne(b, {
        type: 'x',
        runAfter: clock.now() + 10_000,
        affinity: [{ label: 'region', value: 'eu' }],
      });
      clock.advance(10_000);
      await alive(b, us, eu);
      expect(
        await claimFor(b, us),
        'submitted long ago, but ready only now: the eu agent is still preferred',
      ).toEqual([]);
      expect((await claimFor(b, eu))[0]?.taskId).toBe(id);
    });

    it('nothing waits for a matching agent that is not there', async () => {
      const { b } = env.ctx();
      const us = await pulling(b, 'us', [], { labels: { region: 'us' } });
      const eu = await pulling(b, 'eu', [], { labels: { region: 'eu' } });
      await b.deregisterAgent(eu.id);
      const { id } = await submitOne(b, {
        type: 'x',
        affinity: [{ label: 'region', value: 'eu' }],
      });
      expect((await claimFor(b, us))[0]?.taskId, 'no eu agent is alive').toBe(id);
    });

    it('weights add up, and a negative weight steers a task away', async () => {
      const { b } = env.ctx();
      const euOnly = await pulling(b, 'eu-only', [], { labels: { region: 'eu' } });
      const a100 = await pulling(b, 'a100', [], { labels: { region: 'us', gpu: 'a100' } });
      const heavy = await submitOne(b, {
        type: 'x',
        affinity: [
          { label: 'region', value: 'eu', weight: 1 },
          { label: 'gpu', value: 'a100', weight: 3 },
        ],
      });
      expect(await claimFor(b, euOnly), 'weight 1 loses to weight 3').toEqual([]);
      expect((await claimFor(b, a100))[0]?.taskId).toBe(heavy.id);

      const avoid = await submitOne(b, {
        type: 'y',
        affinity: [{ label: 'gpu', value: 'a100', weight: -2 }],
      });
      expect(await claimFor(b, a100), 'a negative weight: the a100 agent leaves it').toEqual([]);
      expect((await claimFor(b, euOnly))[0]?.taskId).toBe(avoid.id);
    });

    it('affinity outranks load: the matching agent is preferred even when it is busier', async () => {
      const { b } = env.ctx();
      const eu = await pulling(b, 'eu', [], { labels: { region: 'eu' }, concurrency: 4 });
      await submitMany(b, 3, { type: 'busywork' });
      expect(
        await claimFor(b, eu, 3),
        'alone, the eu agent fills three of its four slots',
      ).toHaveLength(3);
      const us = await pulling(b, 'us', [], { labels: { region: 'us' }, concurrency: 4 });
      const { id } = await submitOne(b, {
        type: 'x',
        affinity: [{ label: 'region', value: 'eu' }],
      });
      expect(await claimFor(b, us), 'an idle us agent still leaves it').toEqual([]);
      expect((await claimFor(b, eu))[0]?.taskId).toBe(id);
    });

    it('fallback outranks affinity: a retry leaves the matching agent it failed on', async () => {
      const { b } = env.ctx();
      const us = await pulling(b, 'us', [], { labels: { region: 'us' } });
      const eu = await pulling(b, 'eu', [], { labels: { region: 'eu' } });
      const { id } = await submitOne(b, {
        type: 'x',
        affinity: [{ label: 'region', value: 'eu' }],
      });
      await failNow(b, (await claimFor(b, eu))[0]!);
      expect(await claimFor(b, eu), 'the eu agent failed on it').toEqual([]);
      expect((await claimFor(b, us))[0]?.taskId).toBe(id);
    });

    it('a claim looks past the tasks it leaves to others for one that is its own', async () => {
      const { b } = env.ctx();
      const us = await pulling(b, 'us', [], { labels: { region: 'us' }, concurrency: 50 });
      await pulling(b, 'eu', [], { labels: { region: 'eu' }, concurrency: 50 });
      await submitMany(b, 40, { type: 'x', affinity: [{ label: 'region', value: 'eu' }] });
      const mine = await submitOne(b, {
        type: 'x',
        affinity: [{ label: 'region', value: 'us' }],
      });
      const leases = await claimFor(b, us, 1);
      expect(
        leases.map((l) => l.taskId),
        'forty tasks for the eu agent come first in the queue; the us one is behind them',
      ).toEqual([mine.id]);
    });

    it('affinity rules are validated', async () => {
      const { b } = env.ctx();
      const error = await expectBatonError(
        b.submitTasks([
          {
            type: 'x',
            affinity: [
              { label: '', value: 'eu' },
              { label: 'region', value: 'eu', weight: 'heavy' as unknown as number },
              { label: 'region', value: 'eu', wieght: 2 } as unknown as {
                label: string;
                value: string;
              },
            ],
          },
        ]),
        'ValidationError',
        'BATON_VALIDATION',
        'bad affinity rules',
      );
      const issues = (error as unknown as { issues: { path: string; message: string }[] }).issues;
      expect(issues.map((i) => i.path)).toEqual([
        'tasks[0].affinity[0].label',
        'tasks[0].affinity[1].weight',
        'tasks[0].affinity[2]',
      ]);
      expect(issues[2]?.message).toMatch(/unknown field 'wieght'.*did you mean 'weight'/);
    });
  });

  describe('routing: history per task type', () => {
    it('an agent that failed 5 of 5 attempts of a type leaves it to one that succeeded 5 of 5', async () => {
      const { b } = env.ctx();
      const good = await pulling(b, 'good', [], { concurrency: 10 });
      const bad = await pulling(b, 'bad', [], { concurrency: 10 });
      await submitMany(b, 5, { type: 'x', maxAttempts: 1 });
      const wins = await claimFor(b, good, 5);
      expect(wins).toHaveLength(5);
      for (const lease of wins) await complete(b, lease, 'ok');
      await submitMany(b, 5, { type: 'x', maxAttempts: 1 });
      const losses = await claimFor(b, bad, 5);
      expect(losses, 'no history yet compares: the bad agent takes its five').toHaveLength(5);
      const failed = await b.fail(
        losses.map((l) => ({
          taskId: l.taskId,
          token: l.token,
          agentId: l.agentId,
          error: { message: 'no' },
        })),
      );
      expect(failed.map((o) => o.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);

      const { id } = await submitOne(b, { type: 'x' });
      expect(await claimFor(b, bad), 'the agent with the worse record leaves it').toEqual([]);
      expect((await claimFor(b, good))[0]?.taskId).toBe(id);

      const other = await submitOne(b, { type: 'y' });
      expect(
        (await claimFor(b, bad))[0]?.taskId,
        'history of type x says nothing about type y',
      ).toBe(other.id);
    });

    it('with equal success, an agent whose runs take far longer leaves the type to the faster one', async () => {
      const { b, clock } = env.ctx();
      const fast = await pulling(b, 'fast', [], { concurrency: 10 });
      const slow = await pulling(b, 'slow', [], { concurrency: 10 });
      for (const [agent, ms] of [
        [fast, 100],
        [slow, 1_000],
      ] as const) {
        await submitMany(b, 5, { type: 'x' });
        const leases = await claimFor(b, agent, 5);
        expect(leases).toHaveLength(5);
        clock.advance(ms);
        for (const lease of leases) await complete(b, lease, 'ok');
      }
      await alive(b, fast, slow);
      const { id } = await submitOne(b, { type: 'x' });
      expect(await claimFor(b, slow), 'ten times slower on x').toEqual([]);
      expect((await claimFor(b, fast))[0]?.taskId).toBe(id);
    });

    it('fewer than historyMinRuns attempts, or close records, do not count', async () => {
      const { b } = env.ctx();
      const good = await pulling(b, 'good', [], { concurrency: 10 });
      const bad = await pulling(b, 'bad', [], { concurrency: 10 });
      const runs = DEFAULT_ROUTING.historyMinRuns - 1;
      await submitMany(b, runs, { type: 'x', maxAttempts: 1 });
      for (const lease of await claimFor(b, good, runs)) await complete(b, lease, 'ok');
      await submitMany(b, runs, { type: 'x', maxAttempts: 1 });
      const losses = await claimFor(b, bad, runs);
      await b.fail(
        losses.map((l) => ({
          taskId: l.taskId,
          token: l.token,
          agentId: l.agentId,
          error: { message: 'no' },
        })),
      );
      const { id } = await submitOne(b, { type: 'x' });
      expect(
        (await claimFor(b, bad))[0]?.taskId,
        `${runs} attempts each are too few to judge`,
      ).toBe(id);
    });
  });

  describe('routing: load', () => {
    it('a batch claim leaves fresh tasks to an idle peer once it is half a set of slots ahead', async () => {
      const { b } = env.ctx();
      const first = await pulling(b, 'first', [], { concurrency: 2 });
      const peer = await pulling(b, 'peer', [], { concurrency: 2 });
      const ids = await submitMany(b, 6, { type: 'x' });
      const mine = await claimFor(b, first, 6);
      expect(mine.length, 'it does not take all six').toBeLessThan(6);
      expect(mine.length, 'it takes at least its own slots').toBeGreaterThanOrEqual(2);
      const theirs = await claimFor(b, peer, 6);
      expect(
        [...mine, ...theirs].map((l) => l.taskId).sort(),
        'the peer gets the rest at once',
      ).toEqual([...ids].sort());
    });

    it('recent claims count: an agent that has just run a set of slots leaves fresh tasks to one that ran none', async () => {
      const { b } = env.ctx();
      const first = await pulling(b, 'first', [], { concurrency: 2 });
      await submitMany(b, 2, { type: 'x' });
      const earlier = await claimFor(b, first, 2);
      expect(earlier, 'alone, it takes both').toHaveLength(2);
      for (const lease of earlier) await complete(b, lease, 'ok');
      const peer = await pulling(b, 'peer', [], { concurrency: 2 });
      const ids = await submitMany(b, 2, { type: 'x' });
      const mine = await claimFor(b, first, 2);
      expect(mine.length, 'its slots are free, but it has just claimed two').toBeLessThan(2);
      const theirs = await claimFor(b, peer, 2);
      expect([...mine, ...theirs].map((l) => l.taskId).sort()).toEqual([...ids].sort());
    });

    it('no task is left to a peer without a free slot, one that never claimed, or one that is not alive', async () => {
      const { b, clock } = env.ctx();
      const first = await pulling(b, 'first', [], { concurrency: 4 });
      const full = await pulling(b, 'full', [], { concurrency: 1 });
      await registerAgent(b, [], { id: 'agt_never', concurrency: 4 });
      const stale = await pulling(b, 'stale', [], { concurrency: 4 });
      await submitOne(b, { type: 'hold' });
      expect(await claimFor(b, full, 1)).toHaveLength(1);
      clock.advance(LIVE_MS + 1);
      await alive(b, first, full);
      expect(stale.id).toBe('agt_stale');
      const ids = await submitMany(b, 4, { type: 'x' });
      const mine = await claimFor(b, first, 4);
      expect(mine.map((l) => l.taskId).sort(), 'nobody else can take them now').toEqual(
        [...ids].sort(),
      );
    });

    it('past preferWindowMs, tasks left to a peer that did not come are taken', async () => {
      const { b, clock } = env.ctx();
      const first = await pulling(b, 'first', [], { concurrency: 2 });
      const peer = await pulling(b, 'peer', [], { concurrency: 2 });
      const ids = await submitMany(b, 6, { type: 'x' });
      const mine = await claimFor(b, first, 6);
      expect(mine.length).toBeLessThan(6);
      clock.advance(PREFER_MS);
      await alive(b, first, peer);
      const rest = await claimFor(b, first, 6);
      expect(
        [...mine, ...rest].map((l) => l.taskId).sort(),
        'the peer never came: after the window they are anyone’s',
      ).toEqual([...ids].sort());
    });
  });

  describe('routing: a bounded number of contenders', () => {
    // A routed claim weighs at most `contenders` peers, the least loaded by their latest claim,
    // found through an index: what a claim reads does not grow with the fleet. A better fit
    // outside them is not seen by that claim.
    async function fleet(contenders: number): Promise<{ b: Backend; us: AgentRecord }> {
      const b = await env.ctx().open({ routing: { contenders } });
      const us = await pulling(b, 'us', [], { labels: { region: 'us' } });
      const idle = [
        await pulling(b, 'idle1', [], { labels: { region: 'us' } }),
        await pulling(b, 'idle2', [], { labels: { region: 'us' } }),
      ];
      const eu = await pulling(b, 'eu', [], { labels: { region: 'eu' }, concurrency: 10 });
      // The eu agent is the most loaded of the three peers: it holds three tasks. (A backend may
      // index loads as of each agent's latest heartbeat: every agent heartbeats after that.)
      await submitMany(b, 3, { type: 'y' });
      expect(await claimFor(b, eu)).toHaveLength(3);
      await alive(b, us, eu, ...idle);
      await submitOne(b, { type: 'x', affinity: [{ label: 'region', value: 'eu' }] });
      return { b, us };
    }

    it('with contenders: 3, the busy eu agent is one of them, and the task is left to it', async () => {
      const { b, us } = await fleet(3);
      expect(await claimFor(b, us, 1)).toEqual([]);
    });

    it('with contenders: 2, the claim weighs only the two idle agents and takes the task', async () => {
      const { b, us } = await fleet(2);
      expect(await claimFor(b, us, 1)).toHaveLength(1);
    });

    it('with contenders: 0, a claim weighs no peer', async () => {
      const { b, us } = await fleet(0);
      expect(await claimFor(b, us, 1)).toHaveLength(1);
    });

    // A claim whose first `max` tasks are decided by load alone weighs only its `max` least
    // loaded contenders (core contendersWeighed): load leaves a task to the least loaded peer.
    // Here the least loaded peer has no free slot, and the next one is less loaded than us.
    async function loads(): Promise<{ b: Backend; us: AgentRecord }> {
      const { b } = env.ctx();
      const spec = { labels: { pool: 'a' }, concurrency: 1 };
      // Each joins (claims once) only after the one before ran its tasks alone, so that routing
      // leaves them nothing: us ran five (load 5), idle three (load 3), busy holds one (load 2).
      const us = await pulling(b, 'us', [], spec);
      await submitMany(b, 5, { type: 'w' });
      for (const lease of await claimFor(b, us, 5)) await complete(b, lease, 'ok');
      const idle = await pulling(b, 'idle', [], spec);
      await submitMany(b, 3, { type: 'w' });
      const three = await claimFor(b, idle, 3);
      expect(three, 'idle, the least loaded, takes its three').toHaveLength(3);
      for (const lease of three) await complete(b, lease, 'ok');
      const busy = await pulling(b, 'busy', [], spec);
      await submitOne(b, { type: 'w' });
      expect(await claimFor(b, busy, 1), 'busy takes its one and keeps it').toHaveLength(1);
      // The index learns each load as it is now: from a claim (Redis) or a heartbeat (SQLite).
      for (const agent of [us, idle, busy]) expect(await claimFor(b, agent, 1)).toEqual([]);
      await alive(b, us, idle, busy);
      return { b, us };
    }

    it('a one-task claim decided by load alone weighs only the least loaded contender', async () => {
      const { b, us } = await loads();
      await submitOne(b, { type: 'x' });
      expect(
        await claimFor(b, us, 1),
        'busy, the least loaded, has no slot; idle, less loaded than us, is not weighed',
      ).toHaveLength(1);
    });

    it('a task with affinity rules is weighed against every contender', async () => {
      const { b, us } = await loads();
      // Every agent matches the rule: affinity ties, and load decides, over all the contenders.
      await submitOne(b, { type: 'x', affinity: [{ label: 'pool', value: 'a' }] });
      expect(await claimFor(b, us, 1), 'left to idle, less loaded than us').toEqual([]);
    });
  });

  describe('routing: waiting and knobs', () => {
    it("an agent's wait does not return at once for the tasks its claim left to a peer", async () => {
      // A window far longer than any wait here (and the clock does not move): the wait can end
      // only by a wake-up, never by the window running out while a loaded machine is slow to
      // look. (With the default 300 ms window, an event loop held up for a few hundred ms could
      // read Redis's timed-out BZPOPMIN before its late 100 ms timer fired.) That the window does
      // end the wait is the next case.
      const b = await env.ctx().open({ routing: { preferWindowMs: 3_600_000 } });
      const us = await pulling(b, 'us', [], { labels: { region: 'us' } });
      const eu = await pulling(b, 'eu', [], { labels: { region: 'eu' } });
      const { id } = await submitOne(b, {
        type: 'x',
        affinity: [{ label: 'region', value: 'eu' }],
      });
      expect(await claimFor(b, us)).toEqual([]);
      const wait = b.waitForWork({ capabilities: [], agentId: us.id, timeoutMs: 30_000 });
      expect(await pendingAfter(wait, 100), 'the only ready task is the eu agent’s for now').toBe(
        true,
      );
      expect((await claimFor(b, eu))[0]?.taskId).toBe(id);
      // Work it can take wakes it (SQLite may have woken it at the eu agent's claim already:
      // any commit may change who should take the tasks it left).
      const { id: next } = await submitOne(b, { type: 'x' });
      await within(wait, 5_000, 'new work wakes the wait');
      expect((await claimFor(b, us))[0]?.taskId).toBe(next);
    });

    it('a wait for the tasks its claim left to a peer ends with the window', async () => {
      const { b, clock } = env.ctx();
      const us = await pulling(b, 'us', [], { labels: { region: 'us' } });
      const eu = await pulling(b, 'eu', [], { labels: { region: 'eu' } });
      const { id } = await submitOne(b, {
        type: 'x',
        affinity: [{ label: 'region', value: 'eu' }],
      });
      expect(await claimFor(b, us)).toEqual([]);
      // Nothing wakes it: it ends when the window does (preferWindowMs), not at its timeout.
      const wait = b.waitForWork({ capabilities: [], agentId: us.id, timeoutMs: 30_000 });
      await within(wait, 10_000, `the wait ends by the end of the ${PREFER_MS} ms window`);
      // Past the window by the store's clock, a wait returns at once: the task is its work too.
      clock.advance(PREFER_MS);
      await alive(b, us, eu);
      await within(
        b.waitForWork({ capabilities: [], agentId: us.id, timeoutMs: 30_000 }),
        10_000,
        'a wait after the window',
      );
      expect((await claimFor(b, us))[0]?.taskId, 'the eu agent did not come').toBe(id);
    });

    it('routing can be turned off: every claim takes the first tasks it can run', async () => {
      const ctx = env.ctx();
      const plain = await ctx.open({ routing: { enabled: false } });
      const us = await pulling(plain, 'us', [], { labels: { region: 'us' } });
      await pulling(plain, 'eu', [], { labels: { region: 'eu' } });
      const { id } = await submitOne(plain, {
        type: 'x',
        affinity: [{ label: 'region', value: 'eu' }],
      });
      expect((await claimFor(plain, us))[0]?.taskId).toBe(id);
    });

    it('refuses invalid routing knobs', async () => {
      const ctx = env.ctx();
      for (const routing of [
        { preferWindowMs: -1 },
        { fallbackGraceMs: Number.NaN },
        { enabled: 'yes' as unknown as boolean },
        { preferWindow: 10 } as unknown as { preferWindowMs: number },
      ]) {
        await expectBatonError(
          ctx.open({ routing }),
          'ValidationError',
          'BATON_VALIDATION',
          `routing ${JSON.stringify(routing)}`,
        );
      }
    });
  });
}
