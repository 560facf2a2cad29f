import { describe, expect, it } from 'vitest';
import { RunProgress, nextState } from '../../src/cli/progress.ts';
import type { BatonEvent } from '../../src/core/types.ts';

let seq = 0;
function event(type: BatonEvent['type'], at: number, fields: Partial<BatonEvent> = {}): BatonEvent {
  seq += 1;
  return {
    id: String(seq),
    type,
    at,
    taskId: null,
    runId: 'run_1',
    agentId: null,
    data: {},
    ...fields,
  };
}

describe('RunProgress', () => {
  const names: Record<string, string> = { agt_a: 'agent-1', agt_b: 'agent-2' };
  const make = (): RunProgress =>
    new RunProgress(
      'demo',
      [
        { id: 't1', key: 'fetch', epic: 'ingest', state: 'ready' },
        { id: 't2', key: 'report', epic: 'report', state: 'blocked' },
      ],
      1000,
      (id) => names[id] ?? id,
    );

  it('follows states through claims, successes and releases of dependents', () => {
    const progress = make();
    expect(
      progress.apply(
        event('task.claimed', 1100, { taskId: 't1', agentId: 'agt_a', data: { attempt: 1 } }),
      ),
    ).toBe('[  0.10s] ▶ fetch  agent-1');
    // task.succeeded carries no agent: the line names the agent that claimed the task.
    expect(
      progress.apply(event('task.succeeded', 1510, { taskId: 't1', data: { attempt: 1 } })),
    ).toBe('[  0.51s] ✓ fetch  agent-1  0.41s');
    expect(progress.apply(event('task.ready', 1510, { taskId: 't2' }))).toBeNull();
    expect(progress.tasks.map((t) => t.state)).toEqual(['succeeded', 'ready']);
    expect(progress.frame(2000).split('\n')).toEqual([
      'demo  1.00s  1/2 done',
      '  ingest  ✓  1/1',
      '  report  ○  0/1',
      '1 ready · 1 succeeded',
    ]);
  });

  it('shows how long the handler ran when its worker said, not claim to outcome', () => {
    const progress = make();
    progress.apply(
      event('task.claimed', 1100, { taskId: 't1', agentId: 'agt_a', data: { attempt: 1 } }),
    );
    expect(
      progress.apply(
        event('task.succeeded', 1510, { taskId: 't1', data: { attempt: 1, runMs: 250 } }),
      ),
    ).toBe('[  0.51s] ✓ fetch  agent-1  0.25s');
  });

  it('shows a retry with its reason and moves the task back to waiting', () => {
    const progress = make();
    progress.apply(
      event('task.claimed', 1000, { taskId: 't1', agentId: 'agt_b', data: { attempt: 1 } }),
    );
    const line = progress.apply(
      event('task.retrying', 1200, {
        taskId: 't1',
        agentId: 'agt_b',
        data: { delayMs: 500, error: { message: 'flaky' } },
      }),
    );
    expect(line).toBe('[  0.20s] ↻ fetch  agent-2  0.20s  retrying: flaky');
    expect(progress.tasks[0]!.state).toBe('delayed');
  });

  it('learns tasks added to the run after submission', () => {
    const progress = make();
    expect(progress.has('t3')).toBe(false);
    progress.add({ id: 't3', key: 'extra', epic: 'report', state: 'blocked' });
    progress.add({ id: 't3', key: 'ignored', epic: 'x', state: 'ready' });
    expect(progress.tasks.map((t) => t.key)).toEqual(['fetch', 'report', 'extra']);
  });
});

describe('nextState', () => {
  it.each([
    ['task.ready', {}, 'ready'],
    ['task.released', {}, 'ready'],
    ['task.released', { delayMs: 0 }, 'ready'],
    ['task.released', { delayMs: 5000 }, 'delayed'],
    ['task.retried', { previousAttempts: 3 }, 'ready'],
    ['task.revived', {}, 'blocked'],
    ['task.delayed', {}, 'delayed'],
    ['task.claimed', {}, 'running'],
    ['task.succeeded', {}, 'succeeded'],
    ['task.retrying', { delayMs: 0 }, 'ready'],
    ['task.retrying', { delayMs: 10 }, 'delayed'],
    ['task.failed', {}, 'failed'],
    ['task.skipped', {}, 'skipped'],
    ['task.cancelled', {}, 'cancelled'],
    ['task.submitted', { state: 'blocked' }, 'blocked'],
    ['run.completed', {}, null],
  ] as const)('%s %j → %s', (type, data, state) => {
    expect(nextState(event(type, 0, { data: { ...data } }))).toBe(state);
  });
});
