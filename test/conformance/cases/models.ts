/**
 * Model selection's records (docs/llm.md#model-selection): the model `model: auto` chose for an
 * attempt, stored on the attempt with a `task.model_selected` event, and the history of how model
 * calls ended by task type, complexity and model.
 */
import { describe, expect, it } from 'vitest';
import {
  recordedModelChoice,
  type Backend,
  type ModelChoiceInput,
} from '../../../src/backends/backend.ts';
import type { ValidationError } from '../../../src/core/errors.ts';
import type { Lease } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import {
  PAST_QUICK_BACKOFF_MS,
  QUICK_BACKOFF,
  UNKNOWN_TASK_ID,
  claimExpecting,
  complete,
  expectBatonError,
  fail,
  idOf,
  mustClaim,
  readAllEvents,
  registerAgent,
  sweep,
} from '../helpers.ts';

function choiceOf(lease: Lease, extra: Partial<ModelChoiceInput> = {}): ModelChoiceInput {
  return {
    taskId: lease.taskId,
    token: lease.token,
    agentId: lease.agentId,
    model: 'anthropic:claude-haiku-4-5',
    tier: 'fast',
    complexity: 'low',
    reason: 'low complexity (declared): fast',
    ...extra,
  };
}

async function choose(b: Backend, input: ModelChoiceInput): Promise<number> {
  return recordedModelChoice(await b.recordModelChoice(input), input);
}

export function modelCases(env: SuiteEnv): void {
  describe('model selection records', () => {
    it('records each attempt’s model choice on the attempt, with a task.model_selected event', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b);
      const { runId, tasks } = await b.submitRun({
        tasks: [{ type: 'call', key: 'a', backoff: QUICK_BACKOFF }],
      });
      const first = await mustClaim(b, agent, 'the task');
      expect(await choose(b, choiceOf(first)), 'the attempt it was recorded on').toBe(1);
      const running = await b.getAttempts(first.taskId);
      expect(
        running.map((a) => [a.outcome, a.model]),
        'on the running attempt',
      ).toEqual([
        [
          'running',
          {
            model: 'anthropic:claude-haiku-4-5',
            tier: 'fast',
            complexity: 'low',
            reason: 'low complexity (declared): fast',
          },
        ],
      ]);
      await fail(b, first, { message: 'not valid against the output schema' });
      clock.advance(PAST_QUICK_BACKOFF_MS);
      const second = await claimExpecting(b, agent, idOf(tasks, 'a'), 'the retry');
      const moved = {
        model: 'anthropic:claude-sonnet-4-5',
        tier: 'balanced' as const,
        complexity: 'low' as const,
        reason: 'low complexity (declared): fast; the last attempt failed on fast: balanced',
      };
      expect(await choose(b, choiceOf(second, moved))).toBe(2);
      await complete(b, second, 'ok');
      const attempts = await b.getAttempts(first.taskId);
      expect(
        attempts.map((a) => [a.attempt, a.outcome, a.model?.tier]),
        'each attempt keeps its own choice',
      ).toEqual([
        [1, 'failed', 'fast'],
        [2, 'succeeded', 'balanced'],
      ]);
      expect(attempts[1]!.model).toEqual(moved);
      const events = (await readAllEvents(b)).filter((e) => e.type === 'task.model_selected');
      expect(events.map((e) => [e.taskId, e.runId, e.agentId])).toEqual([
        [first.taskId, runId, agent.id],
        [first.taskId, runId, agent.id],
      ]);
      expect(events[1]!.data).toEqual({ attempt: 2, ...moved });
    });

    it('records the choice of an attempt that was fenced out since; refuses one the agent never held', async () => {
      const { b, clock } = env.ctx();
      const first = await registerAgent(b, [], { id: 'first' });
      const second = await registerAgent(b, [], { id: 'second' });
      const { tasks } = await b.submitRun({
        tasks: [{ type: 'call', key: 'a', backoff: QUICK_BACKOFF }],
      });
      const stale = await mustClaim(b, first, 'the task', 1_000);
      clock.advance(5_000);
      expect((await sweep(b)).expired, 'the first lease expired').toBe(1);
      expect(await choose(b, choiceOf(stale)), 'the fenced-out attempt').toBe(1);
      clock.advance(PAST_QUICK_BACKOFF_MS);
      const current = await claimExpecting(b, second, idOf(tasks, 'a'), 'the retried task');
      await expectBatonError(
        b
          .recordModelChoice(choiceOf({ ...current, agentId: first.id }))
          .then((o) => recordedModelChoice(o, { ...current, agentId: first.id })),
        'ConflictError',
        'BATON_CONFLICT',
        'a choice for an attempt the agent never held',
      );
      await expectBatonError(
        b
          .recordModelChoice(choiceOf({ ...current, taskId: UNKNOWN_TASK_ID }))
          .then((o) => recordedModelChoice(o, { ...current, taskId: UNKNOWN_TASK_ID })),
        'NotFoundError',
        'BATON_NOT_FOUND',
        'a choice for a task that does not exist',
      );
      const attempts = await b.getAttempts(current.taskId);
      expect(attempts.map((a) => [a.attempt, a.model?.tier ?? null])).toEqual([
        [1, 'fast'],
        [2, null],
      ]);
      const events = (await readAllEvents(b)).filter((e) => e.type === 'task.model_selected');
      expect(events, 'only the recorded choice wrote an event').toHaveLength(1);
    });

    it('counts outcomes by task type, complexity and model; zeros where there are none', async () => {
      const { b } = env.ctx();
      const cheap = 'anthropic:claude-haiku-4-5';
      const dear = 'anthropic:claude-opus-4-1';
      for (const succeeded of [true, true, false]) {
        await b.recordModelOutcome({ taskType: 'llm', complexity: 'low', model: cheap, succeeded });
      }
      await b.recordModelOutcome({
        taskType: 'llm',
        complexity: 'high',
        model: cheap,
        succeeded: false,
      });
      await b.recordModelOutcome({
        taskType: 'llm|x',
        complexity: 'low',
        model: cheap,
        succeeded: true,
      });
      await b.recordModelOutcome({
        taskType: 'llm',
        complexity: 'low',
        model: 'x|' + cheap,
        succeeded: true,
      });
      expect(
        await b.modelHistory({ taskType: 'llm', complexity: 'low', models: [cheap, dear] }),
      ).toEqual([
        { model: cheap, runs: 3, succeeded: 2 },
        { model: dear, runs: 0, succeeded: 0 },
      ]);
      expect(
        await b.modelHistory({ taskType: 'llm', complexity: 'high', models: [cheap] }),
      ).toEqual([{ model: cheap, runs: 1, succeeded: 0 }]);
      expect(
        await b.modelHistory({ taskType: 'llm|x', complexity: 'low', models: [cheap] }),
        'a separator inside a type does not mix histories',
      ).toEqual([{ model: cheap, runs: 1, succeeded: 1 }]);
      expect(await b.modelHistory({ taskType: 'llm', complexity: 'low', models: [] })).toEqual([]);
    });

    it('refuses malformed choices, outcomes and queries, storing nothing', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      await b.submitRun({ tasks: [{ type: 'call', key: 'a' }] });
      const lease = await mustClaim(b, agent, 'the task');
      const bad = await expectBatonError<ValidationError>(
        b.recordModelChoice(choiceOf(lease, { tier: 'huge' as never, reason: '' })),
        'ValidationError',
        'BATON_VALIDATION',
        'an unknown tier and an empty reason',
      );
      expect(bad.issues.map((i) => i.path)).toEqual(['modelChoice.tier', 'modelChoice.reason']);
      await expectBatonError(
        b.recordModelOutcome({
          taskType: 'llm',
          complexity: 'extreme' as never,
          model: 'm',
          succeeded: true,
        }),
        'ValidationError',
        'BATON_VALIDATION',
        'an unknown complexity',
      );
      await expectBatonError(
        b.modelHistory({
          taskType: 'llm',
          complexity: 'low',
          models: Array.from({ length: 17 }, (_, i) => `m${i}`),
        }),
        'ValidationError',
        'BATON_VALIDATION',
        'too many models',
      );
      expect((await b.getAttempts(lease.taskId))[0]!.model).toBeNull();
      expect((await readAllEvents(b)).some((e) => e.type === 'task.model_selected')).toBe(false);
      expect(
        await b
          .modelHistory({ taskType: 'llm', complexity: 'extreme' as never, models: [] })
          .catch(() => 'refused'),
      ).toBe('refused');
    });
  });
}
