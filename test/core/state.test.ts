import { describe, expect, it } from 'vitest';
import {
  canTransition,
  emptyStateCounts,
  initialState,
  runStateOf,
  TRANSITIONS,
} from '../../src/core/state.ts';
import { TASK_STATES, TERMINAL_STATES, type TaskState } from '../../src/core/types.ts';

function counts(partial: Partial<Record<TaskState, number>>): Record<TaskState, number> {
  return { ...emptyStateCounts(), ...partial };
}

describe('TRANSITIONS', () => {
  it('lists exactly the transitions of the design', () => {
    const allowed = TASK_STATES.flatMap((from) => TRANSITIONS[from].map((to) => `${from}->${to}`));
    expect(allowed.sort()).toEqual(
      [
        'blocked->ready',
        'blocked->delayed',
        'blocked->skipped',
        'blocked->cancelled',
        'delayed->ready',
        'delayed->cancelled',
        'ready->running',
        'ready->cancelled',
        'running->succeeded',
        'running->failed',
        'running->delayed',
        'running->ready',
        'running->cancelled',
        'failed->ready',
        'skipped->blocked',
      ].sort(),
    );
  });

  it('lets every non-terminal state be cancelled, and a terminal one leave only by a replay', () => {
    // Backend.retryTask: the failed task is ready again, the tasks it skipped wait again.
    const replays: Partial<Record<TaskState, TaskState[]>> = {
      failed: ['ready'],
      skipped: ['blocked'],
    };
    for (const state of TASK_STATES) {
      if (TERMINAL_STATES.has(state)) {
        const allowed = replays[state] ?? [];
        expect(TRANSITIONS[state], state).toEqual(allowed);
        for (const to of TASK_STATES) expect(canTransition(state, to)).toBe(allowed.includes(to));
      } else {
        expect(canTransition(state, 'cancelled')).toBe(true);
      }
    }
  });

  it('answers canTransition from the table', () => {
    expect(canTransition('ready', 'running')).toBe(true);
    expect(canTransition('blocked', 'running')).toBe(false);
    expect(canTransition('ready', 'delayed')).toBe(false);
    expect(canTransition('delayed', 'skipped')).toBe(false);
    expect(canTransition('running', 'running')).toBe(false);
    expect(canTransition('succeeded', 'ready')).toBe(false);
    expect(canTransition('cancelled', 'ready'), 'a cancelled task is never replayed').toBe(false);
    expect(canTransition('failed', 'ready'), 'retry').toBe(true);
    expect(canTransition('failed', 'running'), 'a retried task is claimed as any').toBe(false);
    expect(canTransition('skipped', 'blocked'), 'revive').toBe(true);
    expect(canTransition('skipped', 'ready'), 'a revived task waits first').toBe(false);
  });
});

describe('initialState', () => {
  const now = 1_000_000;
  it('is blocked while dependencies are unmet, even with a future runAfter', () => {
    expect(initialState({ dependsOnCount: 2, runAfter: null }, now)).toBe('blocked');
    expect(initialState({ dependsOnCount: 1, runAfter: now + 10 }, now)).toBe('blocked');
  });
  it('is delayed while runAfter is in the future', () => {
    expect(initialState({ dependsOnCount: 0, runAfter: now + 1 }, now)).toBe('delayed');
  });
  it('is ready otherwise', () => {
    expect(initialState({ dependsOnCount: 0, runAfter: null }, now)).toBe('ready');
    expect(initialState({ dependsOnCount: 0, runAfter: now }, now)).toBe('ready');
    expect(initialState({ dependsOnCount: 0, runAfter: now - 1 }, now)).toBe('ready');
  });
});

describe('runStateOf', () => {
  it('is running while any task is not terminal', () => {
    for (const state of ['blocked', 'delayed', 'ready', 'running'] as const) {
      expect(runStateOf(counts({ succeeded: 5, failed: 1, [state]: 1 }))).toBe('running');
    }
  });
  it('is succeeded iff every task succeeded', () => {
    expect(runStateOf(counts({ succeeded: 3 }))).toBe('succeeded');
    expect(runStateOf(counts({}))).toBe('succeeded');
  });
  it('is failed when any task failed, even if others were cancelled', () => {
    expect(runStateOf(counts({ succeeded: 3, failed: 1, skipped: 2 }))).toBe('failed');
    expect(runStateOf(counts({ failed: 1, cancelled: 4 }))).toBe('failed');
  });
  it('is cancelled when tasks were cancelled and none failed', () => {
    expect(runStateOf(counts({ succeeded: 2, cancelled: 1, skipped: 1 }))).toBe('cancelled');
  });
  it('is failed when tasks were skipped without a recorded cause', () => {
    expect(runStateOf(counts({ succeeded: 2, skipped: 1 }))).toBe('failed');
  });
});
