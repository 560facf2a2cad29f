/**
 * The summary of `baton run` reports what its agents' slots could have done, never more (issue
 * 11, item 12): busy time and speed-up come from how long handlers ran, as the workers measured
 * it. The real command, as a child process, on a real SQLite file in a fresh temp dir.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/cli/render.ts';
import { useCli } from '../helpers/cli.ts';

const cli = useCli();

const AGENTS = 16;
const TASKS = 400;

describe('baton run: the summary of many short tasks on one-slot agents', () => {
  it(
    'reports a speed-up within the slots and each agent busy within wall time × its slots',
    { timeout: 180_000 },
    async () => {
      const plan = join(cli.dir, 'many.yaml');
      const tasks = Array.from(
        { length: TASKS },
        (_, i) => `  - key: t${i}\n    command: 'true'\n`,
      );
      await writeFile(plan, `name: many\ntasks:\n${tasks.join('')}`);

      const result = await cli.run([
        'run',
        plan,
        '--store',
        cli.store,
        '--concurrency',
        String(AGENTS),
        '--json',
      ]);
      // No stderr check: on a starved machine a worker may log a lost agent, and that is not
      // what this test is about.
      expect(result.code).toBe(0);
      const summary = JSON.parse(result.stdout) as RunSummary;
      expect(summary.state).toBe('succeeded');
      expect(summary.tasks).toHaveLength(TASKS);
      expect(summary.agents).toHaveLength(AGENTS);

      const slots = summary.agents.reduce((sum, a) => sum + (a.concurrency ?? Infinity), 0);
      expect(slots, 'one slot per agent').toBe(AGENTS);
      expect(summary.speedup, 'a speed-up').not.toBeNull();
      expect(summary.speedup!, 'never more than one per slot').toBeLessThanOrEqual(slots);
      for (const agent of summary.agents) {
        expect(agent.busyMs, `${agent.name} busy within the wall time`).toBeLessThanOrEqual(
          summary.wallMs * agent.concurrency!,
        );
      }
      const busy = summary.agents.reduce((sum, a) => sum + a.busyMs, 0);
      expect(busy, 'the agents were busy at most as long as the tasks took').toBeLessThanOrEqual(
        summary.sumTaskMs,
      );

      // Every attempt a worker ended says how long its handler ran: the summary's times are
      // handler times. (On a starved machine an agent may be declared lost and a task run
      // again: an attempt the store ended has no handler time.)
      const baton = await cli.open();
      for (const task of summary.tasks.slice(0, 50)) {
        const attempts = await baton.attempts(task.id);
        const reported = attempts.filter(
          (a) => a.outcome === 'succeeded' || a.outcome === 'failed',
        );
        expect(reported.length, `${task.key} succeeded`).toBeGreaterThan(0);
        expect(
          reported.map((a) => typeof a.runMs),
          `${task.key}: its worker reported the handler's time`,
        ).toEqual(reported.map(() => 'number'));
        if (reported.length === attempts.length)
          expect(task.durationMs).toBe(attempts.reduce((sum, a) => sum + a.runMs!, 0));
      }
    },
  );
});
