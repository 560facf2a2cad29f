/**
 * The worker-crash scenario both crash tests share (SQLite in `crash.test.ts`, Redis in
 * `redis-crash.test.ts`): a plan of sleeping shell tasks, a victim worker killed with SIGKILL the
 * moment it holds leases, and the checks that every task still succeeded with each attempt's
 * outcome recorded once.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { AttemptRecord } from '../../src/core/types.ts';
import type { Baton } from '../../src/runtime/baton.ts';
import type { CliProcess } from './cli.ts';

/** Write a plan of `tasks` independent shell tasks that each sleep 0.4 s; returns its path. */
export async function writeSleepPlan(dir: string, tasks: number): Promise<string> {
  const plan = join(dir, 'many.yaml');
  const lines = ['name: crash', 'tasks:'];
  for (let i = 1; i <= tasks; i++) {
    lines.push(`  - key: t${i}`, '    command: sleep', "    args: ['0.4']");
  }
  await writeFile(plan, `${lines.join('\n')}\n`);
  return plan;
}

/**
 * Kill `victim` with SIGKILL as soon as its agent holds leases, so its attempts are cut off
 * mid-task. Returns the ids of the tasks it held.
 */
export async function killWhenHolding(
  baton: Baton,
  victim: CliProcess,
  agentId: string,
): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  let held: string[] = [];
  while (held.length === 0) {
    if (Date.now() > deadline) {
      throw new Error(`the victim worker never claimed a task\n${victim.stderr}`);
    }
    held = (await baton.tasks({ state: 'running', agentId })).tasks.map((t) => t.id);
    if (held.length === 0) await sleep(20);
  }
  victim.child.kill('SIGKILL');
  const killed = await victim.exited;
  expect(killed.signal).toBe('SIGKILL');
  return held;
}

/**
 * Every task of the run succeeded, no attempt number repeats, exactly one attempt per task
 * succeeded and none is left running. Returns the attempts `victimId` made.
 */
export async function expectEachAttemptOnce(
  baton: Baton,
  runId: string,
  tasks: number,
  victimId: string,
): Promise<AttemptRecord[]> {
  const page = await baton.tasks({ runId, limit: 100 });
  expect(page.tasks).toHaveLength(tasks);
  const victimAttempts: AttemptRecord[] = [];
  for (const task of page.tasks) {
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
    victimAttempts.push(...attempts.filter((a) => a.agentId === victimId));
  }
  return victimAttempts;
}
