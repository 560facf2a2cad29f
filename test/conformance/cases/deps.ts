import { describe, expect, it } from 'vitest';
import type { SuiteEnv } from '../context.ts';
import {
  claimExpecting,
  complete,
  expectNothingClaimable,
  expectState,
  fail,
  idOf,
  mustClaim,
  readAllEvents,
  registerAgent,
  sweep,
  typesOf,
} from '../helpers.ts';

export function dependencyCases(env: SuiteEnv): void {
  describe('dependencies', () => {
    it('a hard dependent is blocked until its dependency succeeds, then claimable at once', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a' },
          { type: 'x', key: 'b', dependsOn: ['a'] },
        ],
      });
      const a = await claimExpecting(b, agent, idOf(run.tasks, 'a'), 'a, the only ready task');
      await expectNothingClaimable(b, agent, 'b waits for a');
      await expectState(b, idOf(run.tasks, 'b'), 'blocked', 'its dependency is running');
      await complete(b, a, 'a-result');
      // No sweep: the dependent is released in the same step that records the success.
      await expectState(
        b,
        idOf(run.tasks, 'b'),
        'ready',
        'right after its only dependency succeeded',
      );
      await claimExpecting(b, agent, idOf(run.tasks, 'b'), 'b, right after a completed');
    });

    it('a released dependent whose runAfter is still ahead waits as delayed', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a' },
          { type: 'x', key: 'b', dependsOn: ['a'], runAfter: clock.now() + 60_000 },
        ],
      });
      await complete(b, await claimExpecting(b, agent, idOf(run.tasks, 'a'), 'a'));
      await expectState(
        b,
        idOf(run.tasks, 'b'),
        'delayed',
        'its dependency succeeded but its runAfter is ahead',
      );
      await expectNothingClaimable(b, agent, 'b waits for its runAfter');
      clock.advance(60_001);
      await sweep(b);
      await claimExpecting(b, agent, idOf(run.tasks, 'b'), 'b, once its runAfter passed');
    });

    it('a task with several dependencies waits for the last one', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a' },
          { type: 'x', key: 'b' },
          { type: 'x', key: 'c', dependsOn: ['a', 'b'] },
        ],
      });
      const first = await mustClaim(b, agent, 'a or b');
      const second = await mustClaim(b, agent, 'the other of a and b');
      await complete(b, first, 1);
      await expectState(
        b,
        idOf(run.tasks, 'c'),
        'blocked',
        'one of its two dependencies is still running',
      );
      await complete(b, second, 2);
      await expectState(b, idOf(run.tasks, 'c'), 'ready', 'both dependencies succeeded');
    });

    it('hands the results of its dependencies to the dependent in lease.dependencies', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'research' },
          { type: 'x', key: 'outline' },
          { type: 'x', key: 'write', dependsOn: ['research', 'outline'] },
        ],
      });
      await complete(b, await claimExpecting(b, agent, idOf(run.tasks, 'research'), 'research'), {
        facts: [1, 2],
      });
      await complete(
        b,
        await claimExpecting(b, agent, idOf(run.tasks, 'outline'), 'outline'),
        'intro, body',
      );
      const write = await claimExpecting(b, agent, idOf(run.tasks, 'write'), 'write');
      expect(write.dependencies, 'each dependency by key, with its outcome').toEqual({
        research: {
          taskId: idOf(run.tasks, 'research'),
          key: 'research',
          state: 'succeeded',
          soft: false,
          result: { facts: [1, 2] },
          error: null,
        },
        outline: {
          taskId: idOf(run.tasks, 'outline'),
          key: 'outline',
          state: 'succeeded',
          soft: false,
          result: 'intro, body',
          error: null,
        },
      });
    });

    it('a hard dependency still retrying keeps its dependent blocked', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a', maxAttempts: 2 },
          { type: 'x', key: 'b', dependsOn: ['a'] },
        ],
      });
      await fail(b, await mustClaim(b, agent, 'a'));
      await expectState(
        b,
        idOf(run.tasks, 'b'),
        'blocked',
        'its dependency failed but will be retried',
      );
    });

    it('a failed hard dependency skips everything downstream, through every level', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a', maxAttempts: 1 },
          { type: 'x', key: 'b', dependsOn: ['a'] },
          { type: 'x', key: 'c', dependsOn: ['b'] },
          { type: 'x', key: 'd', dependsOn: ['c', 'other'] },
          { type: 'x', key: 'other' },
        ],
      });
      await fail(b, await claimExpecting(b, agent, idOf(run.tasks, 'a'), 'a'), {
        message: 'a broke',
      });
      for (const key of ['b', 'c', 'd']) {
        await expectState(
          b,
          idOf(run.tasks, key),
          'skipped',
          `${key} is downstream of the failed task a`,
        );
      }
      await expectState(
        b,
        idOf(run.tasks, 'other'),
        'ready',
        'an unrelated branch is not affected',
      );
      const events = await readAllEvents(b);
      for (const key of ['b', 'c', 'd']) {
        expect(typesOf(events, idOf(run.tasks, key)), `a task.skipped event for ${key}`).toContain(
          'task.skipped',
        );
      }
      expect((await b.getRun(run.runId))?.state, 'the run goes on while "other" is not done').toBe(
        'running',
      );
      await complete(
        b,
        await claimExpecting(b, agent, idOf(run.tasks, 'other'), 'the unrelated task'),
      );
      await expectNothingClaimable(b, agent, 'every other task was skipped');
      const finished = await b.getRun(run.runId);
      expect(finished?.state, 'a run with a failed task ends failed').toBe('failed');
    });

    it('a cancelled hard dependency skips its dependents', async () => {
      const { b } = env.ctx();
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a' },
          { type: 'x', key: 'b', dependsOn: ['a'] },
        ],
      });
      await b.cancelTask(idOf(run.tasks, 'a'));
      await expectState(b, idOf(run.tasks, 'b'), 'skipped', 'its hard dependency was cancelled');
    });

    it('a soft dependency releases its dependent on failure too, and hands over the outcome', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'optional', maxAttempts: 1 },
          { type: 'x', key: 'needed' },
          { type: 'x', key: 'report', dependsOn: [{ key: 'optional', soft: true }, 'needed'] },
        ],
      });
      await fail(b, await claimExpecting(b, agent, idOf(run.tasks, 'optional'), 'optional'), {
        message: 'no data',
        code: 'EMPTY',
      });
      await expectState(
        b,
        idOf(run.tasks, 'report'),
        'blocked',
        'its hard dependency has not succeeded yet',
      );
      await complete(b, await claimExpecting(b, agent, idOf(run.tasks, 'needed'), 'needed'), 'n');
      const report = await claimExpecting(
        b,
        agent,
        idOf(run.tasks, 'report'),
        'report, after a soft failure',
      );
      expect(
        report.dependencies.optional,
        'the soft dependency outcome is handed over',
      ).toMatchObject({
        key: 'optional',
        state: 'failed',
        soft: true,
        result: null,
        error: { message: 'no data', code: 'EMPTY' },
      });
      expect(report.dependencies.needed).toMatchObject({
        state: 'succeeded',
        soft: false,
        result: 'n',
      });
    });

    it('a soft dependency still retrying keeps its dependent blocked', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a', maxAttempts: 2 },
          { type: 'x', key: 'b', dependsOn: [{ key: 'a', soft: true }] },
        ],
      });
      await fail(b, await mustClaim(b, agent, 'a'));
      await expectState(
        b,
        idOf(run.tasks, 'b'),
        'blocked',
        'a soft dependency releases only when terminal',
      );
    });

    it('a soft dependency on a skipped task releases the dependent', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'a', maxAttempts: 1 },
          { type: 'x', key: 'b', dependsOn: ['a'] },
          { type: 'x', key: 'cleanup', dependsOn: [{ key: 'b', soft: true }] },
        ],
      });
      await fail(b, await mustClaim(b, agent, 'a'));
      await expectState(b, idOf(run.tasks, 'b'), 'skipped', 'downstream of a failure');
      const cleanup = await claimExpecting(
        b,
        agent,
        idOf(run.tasks, 'cleanup'),
        'cleanup, whose soft dependency was skipped',
      );
      expect(cleanup.dependencies.b?.state).toBe('skipped');
    });
  });
}
