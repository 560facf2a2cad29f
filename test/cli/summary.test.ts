import { describe, expect, it } from 'vitest';
import { summarizeRun, taskBusyMs, type SummaryAgent } from '../../src/cli/summary.ts';
import type { AttemptRecord, RunRecord, TaskRecord } from '../../src/core/types.ts';
import { countStates, renderSummary } from '../../src/cli/render.ts';

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
    runMs: null,
    model: null,
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

/** An attempt whose worker reported how long its handler ran. */
function ran(
  taskId: string,
  n: number,
  start: number,
  end: number,
  runMs: number,
  agentId = 'agt_a',
): AttemptRecord {
  return { ...attempt(taskId, n, start, end, agentId), runMs };
}

describe('taskBusyMs', () => {
  it('counts the handler time a worker reported, else the attempt’s stamps', () => {
    const t = task('a', []);
    // Claim at 0, outcome stored at 100, but the handler ran 30 ms of that; the retry (no
    // report) counts its stamps.
    expect(taskBusyMs(t, [ran(t.id, 1, 0, 100, 30), attempt(t.id, 2, 200, 260)])).toBe(90);
    expect(taskBusyMs(t, [ran(t.id, 1, 0, 100, 0)])).toBe(0);
  });
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
        concurrency: null,
        tasks: 2,
        busyMs: 400,
      },
      {
        id: 'agt_9',
        name: 'idle',
        capabilities: ['shell'],
        labels: {},
        concurrency: null,
        tasks: 0,
        busyMs: 0,
      },
      // Not given: named by its label, capabilities unknown. a, b's first attempt and d.
      {
        id: 'agt_1',
        name: 'agent-1',
        capabilities: null,
        labels: {},
        concurrency: null,
        tasks: 3,
        busyMs: 600,
      },
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

describe('summarizeRun with attempts that overlap on one-slot agents', () => {
  /**
   * What a worker that claims before its last outcome is stored records: on each one-slot agent,
   * every attempt is stamped from its claim to its stored outcome, and the next claim comes
   * before that outcome, so the stamps of one agent overlap. Their handlers ran one at a time,
   * `handlerMs` each.
   */
  function overlapping(
    agents: number,
    perAgent: number,
    handlerMs: number | null,
  ): { tasks: TaskRecord[]; attempts: Map<string, AttemptRecord[]> } {
    const tasks: TaskRecord[] = [];
    const attempts = new Map<string, AttemptRecord[]>();
    for (let a = 0; a < agents; a++) {
      for (let i = 0; i < perAgent; i++) {
        const key = `t${a}-${i}`;
        // Claimed every 40 ms, each outcome stored 65 ms after its claim (overlapping the next).
        const start = 1000 + i * 40;
        const t = task(key, [], { agentId: `agt_${a}`, startedAt: start, finishedAt: start + 65 });
        tasks.push(t);
        const stamps = attempt(t.id, 1, start, start + 65, `agt_${a}`);
        attempts.set(t.id, [handlerMs === null ? stamps : { ...stamps, runMs: handlerMs }]);
      }
    }
    return { tasks, attempts };
  }
  const oneSlot = (n: number): SummaryAgent[] =>
    Array.from({ length: n }, (_, a) => ({
      id: `agt_${a}`,
      name: `agent-${a + 1}`,
      capabilities: ['shell'],
      labels: {},
      concurrency: 1,
    }));

  it('counts handler times: busy within wall × slots, speed-up within the slots', () => {
    // 16 agents × 25 tasks; the run took 1000 ms (createdAt 1000 → 2000); each handler 35 ms.
    const { tasks, attempts } = overlapping(16, 25, 35);
    const summary = summarizeRun({
      run: { ...run, createdAt: 1000, finishedAt: 2000 },
      tasks,
      attempts,
      agents: oneSlot(16),
      agentLabel: (id) => id,
    });
    expect(summary.tasks.every((t) => t.durationMs === 35)).toBe(true);
    for (const agent of summary.agents) {
      expect(agent.busyMs, `${agent.name}: 25 handlers of 35 ms`).toBe(25 * 35);
      expect(agent.busyMs).toBeLessThanOrEqual(summary.wallMs * agent.concurrency!);
    }
    expect(summary.sumTaskMs).toBe(16 * 25 * 35);
    expect(summary.speedup).toBeCloseTo(14, 5);
    expect(summary.speedup!).toBeLessThanOrEqual(16);
  });

  it('never reports more than the slots allow when only stamps are known', () => {
    // No handler times: 25 stamps of 65 ms per agent sum to 1625 ms in a 1000 ms run.
    const { tasks, attempts } = overlapping(16, 25, null);
    const summary = summarizeRun({
      run: { ...run, createdAt: 1000, finishedAt: 2000 },
      tasks,
      attempts,
      agents: oneSlot(16),
      agentLabel: (id) => id,
    });
    expect(summary.wallMs).toBe(1000);
    for (const agent of summary.agents)
      expect(agent.busyMs, `${agent.name} is busy at most the wall time`).toBe(1000);
    expect(summary.sumTaskMs, 'the stamps, as recorded').toBe(16 * 25 * 65);
    expect(summary.speedup, 'at most one per slot').toBe(16);
    expect(renderSummary(summary)).toMatch(/^speed-up\s+16\.00x/m);
  });

  it('does not bound the speed-up by slots it does not know', () => {
    const { tasks, attempts } = overlapping(2, 25, null);
    const summary = summarizeRun({
      run: { ...run, createdAt: 1000, finishedAt: 2000 },
      tasks,
      attempts,
      // Only the first agent is known; the other ran tasks too.
      agents: oneSlot(1),
      agentLabel: (id) => id,
    });
    expect(summary.agents.map((a) => [a.name, a.concurrency, a.busyMs])).toEqual([
      ['agent-1', 1, 1000],
      ['agt_1', null, 25 * 65],
    ]);
    expect(summary.speedup).toBe((2 * 25 * 65) / 1000);
  });
});
