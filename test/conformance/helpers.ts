/**
 * Small steps the conformance cases repeat, each with a failure message that names the
 * behaviour it expected. They use only the `Backend` interface.
 */
import { expect } from 'vitest';
import {
  outcomeError,
  type Backend,
  type FailInput,
  type SettleOutcome,
  type SubmittedTask,
} from '../../src/backends/backend.ts';
import { BatonError, type ErrorCode } from '../../src/core/errors.ts';
import type {
  AgentRecord,
  AgentSpec,
  AttemptOutcome,
  BatonEvent,
  EventType,
  Json,
  Lease,
  TaskError,
  TaskRecord,
  TaskSpec,
  TaskState,
} from '../../src/core/types.ts';

/** Lease length for claims in tests: long, so leases only expire when a test moves the clock on purpose. */
export const LEASE_TTL_MS = 60_000;
/** Agent TTL for sweeps that are not about agents: a day, so no agent is declared lost by accident. */
export const LONG_AGENT_TTL_MS = 24 * 60 * 60 * 1000;
/** A small, exact backoff for tests that need a retry to become claimable after a short clock move. */
export const QUICK_BACKOFF = { baseMs: 100, maxMs: 100, factor: 1, jitter: 'none' } as const;
/** Clock move that is surely past {@link QUICK_BACKOFF}. */
export const PAST_QUICK_BACKOFF_MS = 1_000;
/** A well-formed id that no backend has handed out. */
export const UNKNOWN_TASK_ID = 'tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV';
export const UNKNOWN_RUN_ID = 'run_01ARZ3NDEKTSV4RRFFQ69G5FAV';

export async function registerAgent(
  b: Backend,
  capabilities: string[] = [],
  spec: Partial<AgentSpec> = {},
): Promise<AgentRecord> {
  return b.registerAgent({ capabilities, concurrency: 4, ...spec });
}

/** Claim up to `max` tasks for `agent` with its registered capabilities. */
export async function claim(
  b: Backend,
  agent: AgentRecord,
  max = 10,
  leaseTtlMs = LEASE_TTL_MS,
): Promise<Lease[]> {
  const leases = await b.claim({
    agentId: agent.id,
    capabilities: agent.capabilities,
    max,
    leaseTtlMs,
  });
  expect(
    leases.length,
    `claim(max ${max}) returned more leases than asked for`,
  ).toBeLessThanOrEqual(max);
  return leases;
}

/** Claim at most one task; null when nothing is claimable. */
export async function claimOne(
  b: Backend,
  agent: AgentRecord,
  leaseTtlMs = LEASE_TTL_MS,
): Promise<Lease | null> {
  const [lease] = await claim(b, agent, 1, leaseTtlMs);
  return lease ?? null;
}

/** Claim one task and fail the test, saying `what` was expected, when there is none. */
export async function mustClaim(
  b: Backend,
  agent: AgentRecord,
  what: string,
  leaseTtlMs = LEASE_TTL_MS,
): Promise<Lease> {
  const lease = await claimOne(b, agent, leaseTtlMs);
  if (!lease)
    throw new Error(
      `expected agent [${agent.capabilities.join(', ')}] to claim ${what}, but claim returned nothing`,
    );
  return lease;
}

/** Claim one task and check it is the expected one. */
export async function claimExpecting(
  b: Backend,
  agent: AgentRecord,
  taskId: string,
  what: string,
  leaseTtlMs = LEASE_TTL_MS,
): Promise<Lease> {
  const lease = await mustClaim(b, agent, what, leaseTtlMs);
  expect(lease.taskId, `expected to claim ${what}`).toBe(taskId);
  return lease;
}

export async function expectNothingClaimable(
  b: Backend,
  agent: AgentRecord,
  why: string,
): Promise<void> {
  const leases = await claim(b, agent, 10);
  expect(
    leases.map((l) => `${l.task.key ?? l.task.type} (${l.taskId})`),
    `nothing should be claimable: ${why}`,
  ).toEqual([]);
}

function describeOutcome(outcome: SettleOutcome | undefined): string {
  return outcome ? JSON.stringify(outcome) : 'no outcome';
}

export async function complete(
  b: Backend,
  lease: Lease,
  result: Json = null,
): Promise<SettleOutcome> {
  const [outcome] = await b.complete([
    { taskId: lease.taskId, token: lease.token, agentId: lease.agentId, result },
  ]);
  expect(
    outcome?.status,
    `complete of a held lease must succeed, got ${describeOutcome(outcome)}`,
  ).toBe('ok');
  return outcome!;
}

export async function fail(
  b: Backend,
  lease: Lease,
  error: TaskError = { message: 'boom' },
  extra: Partial<Omit<FailInput, 'taskId' | 'token' | 'error'>> = {},
): Promise<SettleOutcome> {
  const [outcome] = await b.fail([
    { taskId: lease.taskId, token: lease.token, agentId: lease.agentId, error, ...extra },
  ]);
  expect(
    outcome?.status,
    `fail of a held lease must be accepted, got ${describeOutcome(outcome)}`,
  ).toBe('ok');
  return outcome!;
}

/** Assert a settle outcome is `lease_lost` and maps to `LeaseLostError` (BATON_LEASE_LOST). */
export function expectLeaseLost(
  outcome: SettleOutcome | undefined,
  token: number,
  what: string,
): void {
  expect(
    outcome?.status,
    `${what}: expected status lease_lost, got ${describeOutcome(outcome)}`,
  ).toBe('lease_lost');
  const error = outcomeError(outcome!, token);
  expect(error?.name, `${what}: outcomeError should be a LeaseLostError`).toBe('LeaseLostError');
  expect(error?.code, `${what}: outcomeError code`).toBe('BATON_LEASE_LOST');
}

/** Run housekeeping with an agent TTL long enough that no agent is lost unless a test wants it. */
export async function sweep(b: Backend, agentTtlMs = LONG_AGENT_TTL_MS) {
  return b.sweep({ agentTtlMs });
}

export async function submitOne(b: Backend, spec: TaskSpec): Promise<SubmittedTask> {
  const [task] = await b.submitTasks([spec]);
  if (!task) throw new Error('submitTasks([spec]) returned no task');
  return task;
}

export async function getTask(b: Backend, taskId: string): Promise<TaskRecord> {
  const task = await b.getTask(taskId);
  if (!task) throw new Error(`getTask(${taskId}) returned null for a task that was submitted`);
  return task;
}

export async function expectState(
  b: Backend,
  taskId: string,
  state: TaskState,
  why: string,
): Promise<TaskRecord> {
  const task = await getTask(b, taskId);
  expect(task.state, `task ${task.key ?? taskId} state: ${why}`).toBe(state);
  return task;
}

export async function attemptOutcomes(b: Backend, taskId: string): Promise<AttemptOutcome[]> {
  const attempts = await b.getAttempts(taskId);
  return attempts.map((a) => a.outcome);
}

/** Every event in the stream from the start (or after `since`), paging through it. */
export async function readAllEvents(b: Backend, since?: string): Promise<BatonEvent[]> {
  const all: BatonEvent[] = [];
  let cursor = since;
  for (;;) {
    const page = await b.readEvents(
      cursor === undefined ? { limit: 500 } : { since: cursor, limit: 500 },
    );
    all.push(...page);
    const last = page.at(-1);
    if (page.length < 500 || !last) return all;
    cursor = last.id;
  }
}

/** Types of the events about one task, in stream order. */
export function typesOf(events: BatonEvent[], taskId: string): EventType[] {
  return events.filter((e) => e.taskId === taskId).map((e) => e.type);
}

/**
 * The milestones of a task's life. `task.ready` and `task.delayed` are transitions a backend may
 * or may not announce separately (a promotion is implied by the claim that follows), so the
 * lifecycle assertions leave them out.
 */
export function milestonesOf(events: BatonEvent[], taskId: string): EventType[] {
  return typesOf(events, taskId).filter((t) => t !== 'task.ready' && t !== 'task.delayed');
}

/**
 * Await a promise expected to reject with a named Baton error, check its class name and code,
 * and return it for further checks.
 */
export async function expectBatonError<E extends BatonError = BatonError>(
  promise: Promise<unknown>,
  name: string,
  code: ErrorCode,
  what: string,
): Promise<E> {
  const settled = await promise.then(
    (value: unknown) => ({ rejected: false as const, value }),
    (error: unknown) => ({ rejected: true as const, error }),
  );
  if (!settled.rejected) {
    throw new Error(
      `${what}: expected a ${name} (${code}), but it resolved with ${JSON.stringify(settled.value)}`,
    );
  }
  const thrown = settled.error;
  expect(thrown, `${what}: should reject with a BatonError, got ${String(thrown)}`).toBeInstanceOf(
    BatonError,
  );
  const error = thrown as BatonError;
  expect(error.name, `${what}: error class (message: ${error.message})`).toBe(name);
  expect(error.code, `${what}: error code (message: ${error.message})`).toBe(code);
  return error as E;
}

/** The store holds nothing at all: no tasks, no runs, no events. */
export async function expectStoreEmpty(b: Backend, why: string): Promise<void> {
  const tasks = await b.listTasks();
  expect(
    tasks.tasks.map((t) => t.key ?? t.type),
    `no task should be stored: ${why}`,
  ).toEqual([]);
  const runs = await b.listRuns();
  expect(
    runs.runs.map((r) => r.name),
    `no run should be stored: ${why}`,
  ).toEqual([]);
  const events = await b.readEvents();
  expect(
    events.map((e) => e.type),
    `no event should be written: ${why}`,
  ).toEqual([]);
  const stats = await b.stats();
  expect(
    Object.values(stats.byState).every((n) => n === 0),
    `stats should count no task: ${why}`,
  ).toBe(true);
}

/** Map a submitted run's tasks by key. */
export function byKey(tasks: SubmittedTask[]): Record<string, SubmittedTask> {
  const out: Record<string, SubmittedTask> = {};
  for (const t of tasks) if (t.key !== null) out[t.key] = t;
  return out;
}

/** The id of the task with `key` in a submitted run, failing clearly when it is missing. */
export function idOf(tasks: SubmittedTask[], key: string): string {
  const task = tasks.find((t) => t.key === key);
  if (!task)
    throw new Error(
      `the submitted tasks have no key ${key} (keys: ${tasks.map((t) => t.key).join(', ')})`,
    );
  return task.id;
}
