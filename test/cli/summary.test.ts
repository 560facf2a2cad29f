import { describe, expect, it } from 'vitest';
import { summarizeRun, taskBusyMs } from '../../src/cli/summary.ts';
import type { AttemptRecord, RunRecord, TaskRecord } from '../../src/core/types.ts';
import { countStates } from '../../src/cli/render.ts';

function task(key: string, deps: string[], over: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id: `tsk_${key}`,
    runId: 'run_1',
    type: 'shell',
    payload: null,
    key,
    title: null,
    epic: 'e',
    requires: [],
    priority: 3,
    maxAttempts: 3,
    timeoutMs: null,
    backoff: { baseMs: 1000, maxMs: 60_000, factor: 2, jitter: 'equal' },
    idempotencyKey: null,
    runAfter: null,
    dependsOn: deps.map((d) => ({ key: d, soft: false })),
    affinity: [],
    criticalPath: 1,
    failedAgents: [],
    state: 'succeeded',
    attempts: 1,
    agentId: 'agt_a',
    leaseExpiresAt: null,
    result: null,
    error: null,
    createdAt: 0,
    updatedAt: 0,
    startedAt: null,
    finishedAt: null,
    ...over,
  };
}

function attempt(
  taskId: string,
  n: number,
  start: number,
  end: number | null,
  agentId = 'agt_a',
): AttemptRecord {
  return {
    taskId,
    attempt: n,
    agentId,
    startedAt: start,
    finishedAt: end,
    outcome: end === null ? 'running' : 'succeeded',
    error: null,
  };
}

const run: RunRecord = {
  id: 'run_1',
  name: 'demo',
  state: 'succeeded',
  createdAt: 1000,
  finishedAt: 2000,
  progress: { total: 4, done: 1, byState: { ...countStates([]), succeeded: 4 } },
};

describe('taskBusyMs', () => {
  it('adds up every finished attempt', () => {
    const t = task('a', []);
    expect(taskBusyMs(t, [attempt(t.id, 1, 0, 100), attempt(t.id, 2, 200, 500)])).toBe(400);
  });
  it('falls back to the task times, and is null for a task that never ran', () => {
    expect(taskBusyMs(task('a', [], { startedAt: 10, finishedAt: 60 }), [])).toBe(50);
    expect(taskBusyMs(task('a', []), [])).toBeNull();
  });
});

describe('summarizeRun', () => {
  // a ─┬─ b (600) ─┐
  //    └─ c (100) ─┴─ d
  const tasks = [task('a', []), task('b', ['a']), task('c', ['a']), task('d', ['b', 'c'])];
  const attempts = new Map<string, AttemptRecord[]>([
    ['tsk_a', [attempt('tsk_a', 1, 1000, 1200, 'agt_1')]],
    ['tsk_b', [attempt('tsk_b', 1, 1200, 1500, 'agt_1'), attempt('tsk_b', 2, 1500, 1800, 'agt_2')]],
    ['tsk_c', [attempt('tsk_c', 1, 1200, 1300, 'agt_2')]],
    ['tsk_d', [attempt('tsk_d', 1, 1800, 1900, 'agt_1')]],
  ]);
  const labels: Record<string, string> = { agt_1: 'agent-1', agt_2: 'agent-2' };
  const summary = summarizeRun({ run, tasks, attempts, agentLabel: (id) => labels[id] ?? id });

  it('reports each task with the agent of its last attempt', () => {
    expect(summary.tasks.map((t) => [t.key, t.agent, t.attempts, t.durationMs])).toEqual([
      ['a', 'agent-1', 1, 200],
      ['b', 'agent-2', 2, 600],
      ['c', 'agent-2', 1, 100],
      ['d', 'agent-1', 1, 100],
    ]);
  });
  it('computes wall time, sum of task times and speed-up', () => {
    expect(summary.wallMs).toBe(1000);
    expect(summary.sumTaskMs).toBe(1000);
    expect(summary.speedup).toBe(1);
    expect(summary.counts.succeeded).toBe(4);
  });
  it('finds the heaviest chain with actual durations as weights', () => {
    expect(summary.criticalPath).toEqual({ keys: ['a', 'b', 'd'], ms: 900 });
  });
  it('lists the given agents first, even idle ones, then any other agent that ran an attempt', () => {
    const withAgents = summarizeRun({
      run,
      tasks,
      attempts,
      agentLabel: (id) => labels[id] ?? id,
      agents: [
        { id: 'agt_2', name: 'agent-2', capabilities: ['shell', 'gpu'], labels: { region: 'eu' } },
        { id: 'agt_9', name: 'idle', capabilities: ['shell'], labels: {} },
      ],
    });
    expect(withAgents.agents).toEqual([
      // b's second attempt and c: two tasks, 300 + 100 ms.
      {
        id: 'agt_2',
        name: 'agent-2',
        capabilities: ['gpu', 'shell'],
        labels: { region: 'eu' },
        tasks: 2,
        busyMs: 400,
      },
      { id: 'agt_9', name: 'idle', capabilities: ['shell'], labels: {}, tasks: 0, busyMs: 0 },
      // Not given: named by its label, capabilities unknown. a, b's first attempt and d.
      { id: 'agt_1', name: 'agent-1', capabilities: null, labels: {}, tasks: 3, busyMs: 600 },
    ]);
    expect(summary.agents.map((a) => a.name)).toEqual(['agent-1', 'agent-2']);
  });
  it('uses the last task end when the run has not finished, and never divides by zero', () => {
    const open = summarizeRun({
      run: { ...run, finishedAt: null, createdAt: 0 },
      tasks: [task('x', [], { finishedAt: 0, startedAt: 0 })],
      attempts: new Map(),
      agentLabel: (id) => id,
    });
    expect(open.wallMs).toBe(0);
    expect(open.speedup).toBeNull();
  });
});
