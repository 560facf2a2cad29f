/**
 * Two `baton worker` processes share one SQLite store; one is killed with SIGKILL while it holds
 * leases. Its agent is declared lost, its leases are released, the other worker runs those tasks
 * again, and every attempt's outcome is recorded exactly once.
 */
import { describe, expect, it } from 'vitest';
import { useCli } from '../helpers/cli.ts';
import { expectEachAttemptOnce, killWhenHolding, writeSleepPlan } from '../helpers/crash.ts';

const cli = useCli();

const TASKS = 20;
/** Short heartbeat and agent TTL so the dead agent is declared lost within the test. */
const WORKER_FLAGS = ['--concurrency', '4', '--heartbeat', '200ms', '--agent-ttl', '1500ms'];

describe('a worker process killed mid-task', () => {
  it('loses no task and records each attempt once', async () => {
    const plan = await writeSleepPlan(cli.dir, TASKS);
    const submitted = await cli.run(['submit', plan, '--store', cli.store, '--json']);
    expect(submitted.code).toBe(0);
    const { runId } = JSON.parse(submitted.stdout) as { runId: string };

    const victim = cli.start([
      'worker',
      '--store',
      cli.store,
      '--agent-id',
      'agt_victim',
      '--name',
      'victim',
      ...WORKER_FLAGS,
    ]);
    const survivor = cli.start([
      'worker',
      '--store',
      cli.store,
      '--agent-id',
      'agt_survivor',
      '--name',
      'survivor',
      ...WORKER_FLAGS,
    ]);

    // Kill the victim the moment it holds leases, so its attempts are cut off mid-task.
    const baton = await cli.open();
    const held = await killWhenHolding(baton, victim, 'agt_victim');

    const run = await baton.wait(runId, { timeoutMs: 25_000 });
    expect(run.state).toBe('succeeded');

    const victimAttempts = await expectEachAttemptOnce(baton, runId, TASKS, 'agt_victim');

    // The tasks the victim held when it died were cut off, then run again by the survivor.
    for (const taskId of held) {
      const attempts = await baton.attempts(taskId);
      const cut = attempts.find((a) => a.agentId === 'agt_victim' && a.outcome !== 'succeeded');
      expect(cut?.outcome, `the victim's attempt on ${taskId}`).toMatch(
        /^(agent_lost|lease_expired)$/,
      );
      expect(attempts.find((a) => a.outcome === 'succeeded')?.agentId).toBe('agt_survivor');
    }
    for (const attempt of victimAttempts) {
      expect(['succeeded', 'agent_lost', 'lease_expired']).toContain(attempt.outcome);
    }
    const agents = await baton.agents();
    expect(agents.find((a) => a.id === 'agt_victim')?.state).toBe('lost');

    survivor.child.kill('SIGTERM');
    const stopped = await survivor.exited;
    expect(stopped.code).toBe(0);
  });
});
