/**
 * Two `baton worker` processes share one Redis namespace; one is killed with SIGKILL while it
 * holds leases. With the worker defaults (heartbeat 1 s, agent TTL 3 s, sweep every 500 ms) its
 * agent is declared lost, its leases are released, the other worker runs those tasks again, and
 * every attempt's outcome is recorded exactly once. Runs on the Redis at 127.0.0.1:6379 in a
 * namespace of its own, deleted afterwards; under CI a missing Redis fails the test.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Baton } from '../../src/runtime/baton.ts';
import { useCli } from '../helpers/cli.ts';
import { expectEachAttemptOnce, killWhenHolding, writeSleepPlan } from '../helpers/crash.ts';
import { REDIS_URL, deleteNamespaces, redisAnswers } from '../helpers/redis.ts';

const available = await redisAnswers();
const ci = process.env.CI === 'true';
const cli = useCli();

const TASKS = 20;
const NAMESPACE = `test-crash-${randomUUID()}`;
const STORE = ['--store', REDIS_URL, '--namespace', NAMESPACE];

describe.skipIf(!available && !ci)('a worker process on Redis killed mid-task', () => {
  let baton: Baton | undefined;
  beforeAll(() => {
    if (!available) {
      throw new Error(
        'CI=true and no Redis answers on 127.0.0.1:6379: the Redis crash test cannot run',
      );
    }
  });
  afterAll(async () => {
    await baton?.close();
    if (available) await deleteNamespaces([NAMESPACE]);
  });

  it('loses no task and records each attempt once', async () => {
    const plan = await writeSleepPlan(cli.dir, TASKS);
    const submitted = await cli.run(['submit', plan, ...STORE, '--json']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const { runId } = JSON.parse(submitted.stdout) as { runId: string };

    const worker = (id: string) =>
      cli.start(['worker', ...STORE, '--agent-id', id, '--name', id, '--concurrency', '4']);
    const victim = worker('agt_victim');
    const survivor = worker('agt_survivor');

    // Kill the victim the moment it holds leases, so its attempts are cut off mid-task.
    baton = await Baton.open(REDIS_URL, {
      namespace: NAMESPACE,
      logger: pino({ level: 'silent' }),
    });
    const held = await killWhenHolding(baton, victim, 'agt_victim');

    const run = await baton.wait(runId, { timeoutMs: 25_000 });
    expect(run.state).toBe('succeeded');

    const victimAttempts = await expectEachAttemptOnce(baton, runId, TASKS, 'agt_victim');

    // The tasks the victim held when it died were cut off, then run again by the survivor.
    for (const taskId of held) {
      const attempts = await baton.attempts(taskId);
      const cut = attempts.find((a) => a.agentId === 'agt_victim' && a.outcome !== 'succeeded');
      expect(cut?.outcome, `the victim's attempt on ${taskId}`).toBe('agent_lost');
      expect(attempts.find((a) => a.outcome === 'succeeded')?.agentId).toBe('agt_survivor');
    }
    for (const attempt of victimAttempts) {
      expect(['succeeded', 'agent_lost']).toContain(attempt.outcome);
    }

    // The dead agent is lost, once; each task's success is in the event stream once.
    const agents = await baton.agents();
    expect(agents.find((a) => a.id === 'agt_victim')?.state).toBe('lost');
    const successes = new Map<string, number>();
    let lostEvents = 0;
    for await (const event of baton.events({ follow: false })) {
      if (event.type === 'agent.lost' && event.agentId === 'agt_victim') lostEvents++;
      if (event.type === 'task.succeeded' && event.taskId !== null) {
        successes.set(event.taskId, (successes.get(event.taskId) ?? 0) + 1);
      }
    }
    expect(lostEvents, 'agent.lost events of the victim').toBe(1);
    expect(successes.size).toBe(TASKS);
    expect([...successes.values()].every((n) => n === 1)).toBe(true);

    survivor.child.kill('SIGTERM');
    const stopped = await survivor.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    expect((await baton.stats()).byState.running).toBe(0);
  });
});
