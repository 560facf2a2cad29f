import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import {
  decideScale,
  eligibleDepth,
  formatBytes,
  formatMs,
  scaleLimitIssues,
  workersWanted,
  type ScaleInput,
  type ScaleWorker,
} from '../../src/core/scaling.ts';

const NOW = 1_000_000;
const limits = { min: 1, max: 4, spawnThreshold: 5, idleTimeoutMs: 60_000 };

const busy = (id: string): ScaleWorker => ({ id, busy: true, idleSinceMs: null });
const idleFor = (id: string, ms: number): ScaleWorker => ({
  id,
  busy: false,
  idleSinceMs: NOW - ms,
});
const decide = (input: Partial<ScaleInput>) =>
  decideScale({ ...limits, eligibleDepth: 0, workers: [], now: NOW, ...input });

describe('eligibleDepth', () => {
  const ready = [
    { requires: [], count: 3 },
    { requires: ['shell'], count: 4 },
    { requires: ['gpu', 'shell'], count: 5 },
    { requires: ['python'], count: 7 },
  ];
  it('counts the groups whose requires are all among the capabilities', () => {
    expect(eligibleDepth(ready, ['shell'])).toBe(7);
    expect(eligibleDepth(ready, ['gpu', 'shell'])).toBe(12);
    expect(eligibleDepth(ready, ['gpu', 'python', 'shell'])).toBe(19);
  });
  it('counts only tasks that require nothing for an agent without capabilities', () => {
    expect(eligibleDepth(ready, [])).toBe(3);
    expect(eligibleDepth([], ['shell'])).toBe(0);
  });
});

describe('decideScale: scaling up', () => {
  it('starts workers up to min, with the reason', () => {
    expect(decide({ min: 2 })).toEqual([
      { kind: 'scale_up', cause: 'below_min', reason: '0 workers < min 2' },
      { kind: 'scale_up', cause: 'below_min', reason: '0 workers < min 2' },
    ]);
  });

  it('starts as many as the backlog calls for at once, up to max', () => {
    const decisions = decide({ eligibleDepth: 40, workers: [busy('a'), busy('b')] });
    expect(decisions).toHaveLength(2); // 40 / 5 = 8 wanted, capped at max 4
    expect(decisions[0]).toEqual({
      kind: 'scale_up',
      cause: 'backlog',
      reason: 'eligible depth 40 over 2 agents = 20 > threshold 5',
    });
  });

  it('starts just enough to bring the depth per worker to the threshold', () => {
    const decisions = decide({ max: 50, eligibleDepth: 23, workers: [busy('a')] });
    expect(decisions).toHaveLength(4); // ceil(23 / 5) = 5 workers
    expect(decisions.every((d) => d.kind === 'scale_up' && d.cause === 'backlog')).toBe(true);
  });

  it('does nothing while the depth per worker is at or below the threshold', () => {
    expect(decide({ eligibleDepth: 10, workers: [busy('a'), busy('b')] })).toEqual([]);
  });

  it('does nothing at max however long the backlog', () => {
    const workers = ['a', 'b', 'c', 'd'].map(busy);
    expect(decide({ eligibleDepth: 1_000, workers })).toEqual([]);
  });

  it('starts one worker for any eligible task when there is none, even with min 0', () => {
    expect(decide({ min: 0, eligibleDepth: 2 })).toEqual([
      { kind: 'scale_up', cause: 'backlog', reason: 'eligible depth 2 with no worker' },
    ]);
    expect(decide({ min: 0, eligibleDepth: 0 })).toEqual([]);
  });

  it('fills min first, then adds for the backlog on the same tick', () => {
    const decisions = decide({ min: 1, eligibleDepth: 100 });
    expect(decisions.map((d) => d.cause)).toEqual(['below_min', 'backlog', 'backlog', 'backlog']);
    expect(decisions[1]?.reason).toBe('eligible depth 100 over 1 agent = 100 > threshold 5');
  });

  it('with threshold 0, any eligible task per worker calls for max', () => {
    expect(decide({ spawnThreshold: 0, eligibleDepth: 1, workers: [busy('a')] })).toHaveLength(3);
  });
});

describe('decideScale: scaling down', () => {
  it('stops workers idle past the timeout, idle longest first, down to min', () => {
    const workers = [idleFor('a', 61_000), idleFor('b', 90_000), idleFor('c', 70_000)];
    const decisions = decide({ workers });
    expect(decisions).toEqual([
      { kind: 'scale_down', workerId: 'b', cause: 'idle', reason: 'idle 90s >= idle timeout 60s' },
      { kind: 'scale_down', workerId: 'c', cause: 'idle', reason: 'idle 70s >= idle timeout 60s' },
    ]);
  });

  it('keeps busy workers and workers not idle long enough', () => {
    const workers = [busy('a'), idleFor('b', 59_999), idleFor('c', 60_000)];
    expect(decide({ workers }).map((d) => d.kind === 'scale_down' && d.workerId)).toEqual(['c']);
  });

  it('never goes below min', () => {
    expect(decide({ min: 2, workers: [idleFor('a', 1e6), idleFor('b', 1e6)] })).toEqual([]);
  });

  it('never stops a worker the backlog still needs', () => {
    // 12 eligible tasks at threshold 5 need 3 workers: only one of the four may go.
    const workers = [busy('a'), idleFor('b', 1e6), idleFor('c', 2e6), busy('d')];
    const decisions = decide({ eligibleDepth: 12, workers });
    expect(decisions.map((d) => d.kind === 'scale_down' && d.workerId)).toEqual(['c']);
  });

  it('scales to min 0 when everything is idle', () => {
    expect(decide({ min: 0, workers: [idleFor('a', 1e6)] })).toHaveLength(1);
  });
});

describe('limits', () => {
  it('refuses min above max, and numbers out of range, naming each field', () => {
    expect(() => decide({ min: 5, max: 2 })).toThrow(ValidationError);
    expect(() => decide({ min: 5, max: 2 })).toThrow(/min \(5\) is above max \(2\)/);
    const issues = scaleLimitIssues({ min: -1, max: 0, spawnThreshold: -2, idleTimeoutMs: NaN });
    expect(issues.map((i) => i.path)).toEqual(['min', 'max', 'spawnThreshold', 'idleTimeoutMs']);
    expect(
      scaleLimitIssues({ min: 1.5, max: 4, spawnThreshold: 5, idleTimeoutMs: 1 }),
    ).toHaveLength(1);
    expect(scaleLimitIssues(limits)).toEqual([]);
  });

  it('workersWanted caps at max and wants one for any backlog', () => {
    expect(workersWanted(0, limits)).toBe(0);
    expect(workersWanted(1, limits)).toBe(1);
    expect(workersWanted(11, limits)).toBe(3);
    expect(workersWanted(1_000, limits)).toBe(4);
  });
});

describe('formatting', () => {
  it('formats durations and sizes the way limits are written', () => {
    expect(formatMs(250)).toBe('250ms');
    expect(formatMs(1500)).toBe('1.5s');
    expect(formatMs(60_000)).toBe('60s');
    expect(formatBytes(600 * 1024 * 1024)).toBe('600MB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5GB');
    expect(formatBytes(512)).toBe('512B');
  });
});
