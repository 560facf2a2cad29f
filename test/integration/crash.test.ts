/**
 * Two `baton worker` processes share one SQLite store; one is killed with SIGKILL while it holds
 * leases. Its agent is declared lost, its leases are released, the other worker runs those tasks
 * again, and every attempt's outcome is recorded exactly once.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { AttemptRecord } from '../../src/core/types.ts';
import { useCli } from '../helpers/cli.ts';

const cli = useCli();

const TASKS = 20;
/** Short heartbeat and agent TTL so the dead agent is declared lost within the test. */
const WORKER_FLAGS = ['--concurrency', '4', '--heartbeat', '200ms', '--agent-ttl', '1500ms'];

describe('a worker process killed mid-task', () => {
  it('loses no task and records each attempt once', async () => {
    const plan = join(cli.dir, 'many.yaml');
    const lines = ['name: crash', 'tasks:'];
    for (let i = 1; i <= TASKS; i++) {
      lines.push(`  - key: t${i}`, '    command: sleep', "    args: ['0.4']");
    }
    await writeFile(plan, `${lines.join('\n')}\n`);

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
    const deadline = Date.now() + 20_000;
    let held: string[] = [];
    while (held.length === 0) {
      if (Date.now() > deadline)
        throw new Error(`the victim worker never claimed a task\n${victim.stderr}`);
      held = (await baton.tasks({ state: 'running', agentId: 'agt_victim' })).tasks.map(
        (t) => t.id,
      );
      if (held.length === 0) await sleep(20);
    }
    victim.child.kill('SIGKILL');
    const killed = await victim.exited;
    expect(killed.signal).toBe('SIGKILL');

    const run = await baton.wait(runId, { timeoutMs: 25_000 });
    expect(run.state).toBe('succeeded');

    const { tasks } = await baton.tasks({ runId, limit: 100 });
    expect(tasks).toHaveLength(TASKS);
    const victimAttempts: AttemptRecord[] = [];
    for (const task of tasks) {
      expect(task.state).toBe('succeeded');
      const attempts = await baton.attempts(task.id);
      const numbers = attempts.map((a) => a.attempt);
      expect(new Set(numbers).size, `attempt numbers of ${task.key}: ${numbers.join(',')}`).toBe(
        numbers.length,
      );
      expect(
        attempts.filter((a) => a.outcome === 'succeeded'),
        `succeeded attempts of ${task.key}`,
      ).toHaveLength(1);
      expect(attempts.every((a) => a.finishedAt !== null && a.outcome !== 'running')).toBe(true);
      victimAttempts.push(...attempts.filter((a) => a.agentId === 'agt_victim'));
    }

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
