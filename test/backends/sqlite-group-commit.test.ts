/**
 * Group commit in the SQLite backend (src/backends/sqlite/group-commit.ts): small submissions
 * called while the event loop is busy share one write transaction, each in its own savepoint.
 * Real database files in a fresh temp directory per test; a second backend on the same file
 * plays "another connection" where a test needs one to act between a submission and its commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SubmittedTask } from '../../src/backends/backend.ts';
import { GROUP_MAX_SUBMISSIONS } from '../../src/backends/sqlite/group-commit.ts';
import {
  SqliteBackend,
  type SqliteBackendOptions,
} from '../../src/backends/sqlite/sqlite-backend.ts';
import type { BatonEvent, TaskRecord } from '../../src/core/types.ts';

let dir: string;
let file: string;
let opened: SqliteBackend[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-group-commit-'));
  file = join(dir, 'baton.db');
  opened = [];
});

afterEach(async () => {
  await Promise.allSettled(opened.map((b) => b.close()));
  rmSync(dir, { recursive: true, force: true });
});

function open(options: Partial<SqliteBackendOptions> = {}): SqliteBackend {
  const backend = new SqliteBackend({ path: file, ...options });
  opened.push(backend);
  return backend;
}

async function allTasks(b: SqliteBackend): Promise<TaskRecord[]> {
  const tasks: TaskRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = await b.listTasks(cursor === null ? { limit: 500 } : { limit: 500, cursor });
    tasks.push(...page.tasks);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return tasks;
}

async function allEvents(b: SqliteBackend): Promise<BatonEvent[]> {
  const events: BatonEvent[] = [];
  for (;;) {
    const last = events.at(-1);
    const page = await b.readEvents(last === undefined ? {} : { since: last.id });
    if (page.length === 0) return events;
    events.push(...page);
  }
}

/** Submit one task, `{ i }` as payload; `extra` fields added to the spec. */
function submitOne(
  b: SqliteBackend,
  i: number,
  extra: Record<string, unknown> = {},
): Promise<SubmittedTask> {
  return b.submitTasks([{ type: 'job', payload: { i }, ...extra }]).then(([task]) => task!);
}

describe('group commit', () => {
  it('writes 200 concurrent submissions in one transaction, each stored once, in call order, with its events and counts', async () => {
    const b = open();
    const before = b.commits;
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => submitOne(b, i)));
    // Without group commit this is 200.
    expect(b.commits - before).toBe(1);

    expect(new Set(answers.map((a) => a.id)).size).toBe(200);
    for (const a of answers) expect(a).toMatchObject({ existing: false, state: 'ready' });
    // Stored in the order they were called (seq order), each with its own payload.
    const stored = await allTasks(b);
    expect(stored.map((t) => t.id)).toEqual(answers.map((a) => a.id));
    expect(stored.map((t) => (t.payload as { i: number }).i)).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );

    // One task.submitted per task, in the same order, with increasing ids.
    const events = await allEvents(b);
    expect(events.map((e) => e.type)).toEqual(Array(200).fill('task.submitted'));
    expect(events.map((e) => e.taskId)).toEqual(answers.map((a) => a.id));
    const ids = events.map((e) => Number(e.id));
    expect(ids.every((id, k) => k === 0 || id > ids[k - 1]!)).toBe(true);

    const stats = await b.stats();
    expect(stats.byState.ready).toBe(200);
    expect(stats.readyByRequires).toEqual([{ requires: [], count: 200, byType: { job: 200 } }]);
  });

  it(`holds at most ${GROUP_MAX_SUBMISSIONS} submissions per transaction, and writes a large submission on its own`, async () => {
    const b = open();
    let before = b.commits;
    await Promise.all(Array.from({ length: 600 }, (_, i) => submitOne(b, i)));
    expect(b.commits - before).toBe(Math.ceil(600 / GROUP_MAX_SUBMISSIONS));

    before = b.commits;
    const small = Array.from({ length: 5 }, (_, i) => submitOne(b, i));
    // Written at once, before the call returns: the five waiting submissions first, then this
    // one alone (another connection already sees all of them).
    const big = b.submitTasks(Array.from({ length: 2000 }, () => ({ type: 'bulk' })));
    const reader = new DatabaseSync(file);
    try {
      expect(reader.prepare('SELECT count(*) AS n FROM tasks').get()).toEqual({ n: 2605 });
    } finally {
      reader.close();
    }
    expect(await big).toHaveLength(2000);
    await Promise.all(small);
    expect(b.commits - before).toBe(2);
    expect((await b.stats()).byState.ready).toBe(600 + 5 + 2000);
  });

  it('writes submitRun and submitTasks of one tick together, each run with its own tasks and counts', async () => {
    const b = open();
    const before = b.commits;
    const [runs, singles] = await Promise.all([
      Promise.all(
        Array.from({ length: 20 }, (_, r) =>
          b.submitRun({
            name: `run-${r}`,
            tasks: [
              { type: 'a', key: 'a' },
              { type: 'b', key: 'b', dependsOn: ['a'] },
            ],
          }),
        ),
      ),
      Promise.all(Array.from({ length: 20 }, (_, i) => submitOne(b, i))),
    ]);
    expect(b.commits - before).toBe(1);
    expect(singles).toHaveLength(20);
    for (const [r, run] of runs.entries()) {
      const record = await b.getRun(run.runId);
      expect(record).toMatchObject({ name: `run-${r}`, state: 'running' });
      expect(record!.progress.total).toBe(2);
      expect(record!.progress.byState).toMatchObject({ ready: 1, blocked: 1 });
      expect(run.tasks.map((t) => t.state)).toEqual(['ready', 'blocked']);
    }
    expect((await b.stats()).byState).toMatchObject({ ready: 40, blocked: 20 });
  });

  it('rolls back and rejects only the submissions that fail inside the transaction; the rest of the group commits', async () => {
    const b = open();
    const other = open(); // another connection to the same file
    const { runId: doomedRun } = await b.submitRun({ tasks: [{ type: 'seed', key: 'a' }] });
    const { runId: openRun } = await b.submitRun({ tasks: [{ type: 'seed', key: 'a' }] });
    const before = b.commits;

    const first = Array.from({ length: 50 }, (_, i) => submitOne(b, i));
    // Valid when called (the run is open), refused inside the transaction (it was cancelled).
    // It registers a queue (new type and requires set) and holds an idempotency key: both must
    // be rolled back with it.
    const cancelled = b.submitTasks(
      [{ type: 'rare', requires: ['gpu'], key: 'b', dependsOn: ['a'], idempotencyKey: 'k1' }],
      { runId: doomedRun },
    );
    const middle = Array.from({ length: 50 }, (_, i) => submitOne(b, 50 + i));
    // Valid when called; the other connection adds the same key to that run before the commit.
    const clashing = b.submitTasks([{ type: 'job', key: 'x' }], { runId: openRun });
    // The same queue and idempotency key as the cancelled submission: new, since it was undone.
    const reused = submitOne(b, 100, { type: 'rare', requires: ['gpu'], idempotencyKey: 'k1' });
    const last = Array.from({ length: 50 }, (_, i) => submitOne(b, 101 + i));

    // The other connection adds 'x' and cancels the run before b's group is written (its cancel
    // writes its own waiting submission first).
    const added = other.submitTasks([{ type: 'job', key: 'x' }], { runId: openRun });
    await other.cancelRun(doomedRun);
    await added;

    await expect(cancelled).rejects.toMatchObject({ code: 'BATON_CONFLICT' });
    await expect(clashing).rejects.toMatchObject({ code: 'BATON_VALIDATION' });
    await expect(clashing).rejects.toThrow(/'x' was just added to run/);
    const kept = await Promise.all([...first, ...middle, reused, ...last]);
    expect(kept).toHaveLength(151);
    expect(kept.every((t) => !t.existing)).toBe(true);
    expect(b.commits - before).toBe(1);

    // Nothing of the failed submissions is stored: no task, no event, no count.
    const stored = await allTasks(b);
    expect(stored.filter((t) => t.runId === doomedRun).map((t) => t.key)).toEqual(['a']);
    expect(stored.filter((t) => t.runId === openRun).map((t) => t.key)).toEqual(['a', 'x']);
    expect(stored.filter((t) => t.runId === null).map((t) => t.id)).toEqual(kept.map((t) => t.id));
    const submitted = (await allEvents(b)).filter((e) => e.type === 'task.submitted');
    expect(submitted).toHaveLength(2 + 1 + 151);
    expect(new Set(submitted.map((e) => e.taskId)).size).toBe(submitted.length);
    const stats = await b.stats();
    expect(stats.byState).toMatchObject({ ready: 1 + 1 + 151, cancelled: 1 });
    expect(stats.readyByRequires).toEqual([
      { requires: [], count: 152, byType: { job: 151, seed: 1 } },
      { requires: ['gpu'], count: 1, byType: { rare: 1 } },
    ]);
    const run = await b.getRun(doomedRun);
    expect(run).toMatchObject({ state: 'cancelled' });
    expect(run!.progress.total).toBe(1);

    // The queue the kept submission registered is the one claims read.
    const agent = await b.registerAgent({ capabilities: ['gpu'], concurrency: 1 });
    const leases = await b.claim({
      agentId: agent.id,
      capabilities: ['gpu'],
      types: ['rare'],
      max: 5,
      leaseTtlMs: 1000,
    });
    expect(leases.map((l) => l.taskId)).toEqual([(await reused).id]);
  });

  it('undoes the rows a failing submission already wrote (its run, its new queue, its first tasks), and nothing else', async () => {
    const b = open();
    // A statement that fails half-way through a submission, as a constraint would: inserting a
    // task whose payload says so aborts, after the run row, the queue and earlier tasks exist.
    const admin = new DatabaseSync(file);
    admin.exec(`CREATE TRIGGER poison BEFORE INSERT ON tasks
      WHEN json_extract(NEW.payload, '$.poison') IS NOT NULL
      BEGIN SELECT RAISE(ABORT, 'poisoned task'); END`);
    admin.close();
    const before = b.commits;

    const first = Array.from({ length: 20 }, (_, i) => submitOne(b, i));
    const poisonedRun = b.submitRun({
      name: 'poisoned',
      tasks: [
        { type: 'fresh', requires: ['tpu'], key: 'a' },
        { type: 'fresh', requires: ['tpu'], key: 'b', payload: { poison: true } },
      ],
    });
    const middle = Array.from({ length: 20 }, (_, i) => submitOne(b, 20 + i));
    const poisonedTask = submitOne(b, 40, { payload: { poison: true }, idempotencyKey: 'p' });
    // The same queue as the poisoned run, and the same idempotency key as the poisoned task.
    const fresh = submitOne(b, 41, { type: 'fresh', requires: ['tpu'], idempotencyKey: 'p' });
    const last = Array.from({ length: 20 }, (_, i) => submitOne(b, 42 + i));

    await expect(poisonedRun).rejects.toThrow(/poisoned task/);
    await expect(poisonedTask).rejects.toThrow(/poisoned task/);
    const kept = await Promise.all([...first, ...middle, fresh, ...last]);
    expect(kept.every((t) => !t.existing)).toBe(true);
    expect(b.commits - before).toBe(1);

    expect((await b.listRuns()).runs).toEqual([]);
    expect((await allTasks(b)).map((t) => t.id)).toEqual(kept.map((t) => t.id));
    const events = await allEvents(b);
    expect(events.map((e) => e.type)).toEqual(Array(61).fill('task.submitted'));
    expect((await b.stats()).byState.ready).toBe(61);

    const agent = await b.registerAgent({ capabilities: ['tpu'], concurrency: 1 });
    const leases = await b.claim({
      agentId: agent.id,
      capabilities: ['tpu'],
      types: ['fresh'],
      max: 5,
      leaseTtlMs: 1000,
    });
    expect(leases.map((l) => l.taskId)).toEqual([(await fresh).id]);
  });

  it('answers a repeated idempotency key in one group as if the submissions were sequential', async () => {
    const b = open();
    const before = b.commits;
    const [one, two, three] = await Promise.all([
      submitOne(b, 1, { idempotencyKey: 'same' }),
      submitOne(b, 2, { idempotencyKey: 'same' }),
      submitOne(b, 3, { idempotencyKey: 'other' }),
    ]);
    expect(b.commits - before).toBe(1);
    expect(one).toMatchObject({ existing: false, state: 'ready' });
    expect(two).toEqual({ ...one, existing: true });
    expect(three.id).not.toBe(one.id);
    const stored = await allTasks(b);
    expect(stored.map((t) => (t.payload as { i: number }).i)).toEqual([1, 3]);
    expect((await allEvents(b)).map((e) => e.taskId)).toEqual([one.id, three.id]);
    expect((await b.stats()).byState.ready).toBe(2);
  });

  it('keeps the order of calls: a claim, a read or a cancel called after a submission sees it', async () => {
    const b = open();
    const agent = await b.registerAgent({ capabilities: [], concurrency: 1 });
    const submitted = submitOne(b, 1);
    const stats = b.stats();
    const leases = b.claim({ agentId: agent.id, capabilities: [], max: 1, leaseTtlMs: 1000 });
    expect((await stats).byState.ready).toBe(1);
    expect((await leases).map((l) => l.taskId)).toEqual([(await submitted).id]);

    const { runId } = await b.submitRun({ tasks: [{ type: 'seed', key: 'a' }] });
    const added = b.submitTasks([{ type: 'job', key: 'b', dependsOn: ['a'] }], { runId });
    const cancelled = b.cancelRun(runId);
    expect((await added)[0]).toMatchObject({ existing: false, state: 'blocked' });
    expect((await cancelled).progress.byState.cancelled).toBe(2);
  });

  it('a submission to a run sees the keys that submissions to that run called before it add', async () => {
    const b = open();
    const { runId } = await b.submitRun({ tasks: [{ type: 'seed', key: 'a' }] });
    const first = b.submitTasks([{ type: 'job', key: 'b', dependsOn: ['a'] }], { runId });
    const second = b.submitTasks([{ type: 'job', key: 'c', dependsOn: ['b'] }], { runId });
    const duplicate = b.submitTasks([{ type: 'job', key: 'b' }], { runId });
    expect((await first)[0]).toMatchObject({ key: 'b', state: 'blocked' });
    expect((await second)[0]).toMatchObject({ key: 'c', state: 'blocked' });
    await expect(duplicate).rejects.toMatchObject({ code: 'BATON_VALIDATION' });
  });

  it('rejects every submission of a group whose transaction fails, and stores none of them', async () => {
    const b = open({ busyTimeoutMs: 10 });
    // Another connection holds the write lock past the busy timeout.
    const holder = new DatabaseSync(file);
    holder.exec('BEGIN IMMEDIATE');
    let results: PromiseSettledResult<SubmittedTask>[];
    try {
      results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => submitOne(b, i)));
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toMatchObject({
        code: 'BATON_STORE_UNAVAILABLE',
        retryable: true,
      });
    }
    expect(await allTasks(b)).toEqual([]);
    expect(await allEvents(b)).toEqual([]);
    expect((await b.stats()).byState.ready).toBe(0);
    // The backend is still usable once the lock is free.
    await submitOne(b, 1);
    expect((await b.stats()).byState.ready).toBe(1);
  });

  it('close() writes the submissions called before it; later calls are refused', async () => {
    const b = open();
    const pending = Array.from({ length: 30 }, (_, i) => submitOne(b, i));
    await b.close();
    const answers = await Promise.all(pending);
    await expect(submitOne(b, 99)).rejects.toMatchObject({ code: 'BATON_CLOSED' });

    const reopened = open();
    expect((await allTasks(reopened)).map((t) => t.id)).toEqual(answers.map((a) => a.id));
  });

  it('close() rejects a group still waiting for another process to free the lock, with BATON_CLOSED', async () => {
    // A short busy timeout keeps close() quick: its last checkpoint waits for the lock too.
    const b = open({ busyTimeoutMs: 300 });
    const holder = new DatabaseSync(file);
    holder.exec('BEGIN IMMEDIATE');
    try {
      const pending = Promise.allSettled(Array.from({ length: 5 }, (_, i) => submitOne(b, i)));
      // Let the group try once and start waiting for the lock.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await b.close();
      for (const result of await pending) {
        expect(result.status).toBe('rejected');
        expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'BATON_CLOSED' });
      }
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(await allTasks(open())).toEqual([]);
  });
});
