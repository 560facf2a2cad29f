/**
 * What is particular to the SQLite backend (the shared behaviour is in test/conformance/):
 * store URLs, the schema and its migrations, the WAL and its checkpoints, several processes on
 * one file, lock contention, and the task counters it maintains instead of counting.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.ts';
import { checkedBackend } from '../../src/backends/checked.ts';
import { DEFAULT_STORE_URL, openBackend, parseStoreUrl } from '../../src/backends/open.ts';
import {
  SqliteBackend,
  type SqliteBackendOptions,
} from '../../src/backends/sqlite/sqlite-backend.ts';
import { BatonError } from '../../src/core/errors.ts';
import { TASK_STATES, type TaskRecord, type TaskState } from '../../src/core/types.ts';
import { ManualClock } from '../helpers/clock.ts';

const CHILD = join(import.meta.dirname, 'sqlite-child.ts');

let dir: string;
let opened: Backend[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-sqlite-'));
  opened = [];
});

afterEach(async () => {
  await Promise.allSettled(opened.map((b) => b.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function open(
  file = join(dir, 'baton.db'),
  options: Partial<SqliteBackendOptions> = {},
): Promise<Backend> {
  // Behind the checking layer, as openBackend opens it.
  const backend = checkedBackend(new SqliteBackend({ path: file, ...options }));
  opened.push(backend);
  return Promise.resolve(backend);
}

/** Run the child script in a separate Node process; resolve with its JSON output. */
function child(file: string, job: 'drain' | 'submit' | 'leave'): Promise<Record<string, unknown>> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [CHILD, file, job], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => {
      if (code !== 0) reject(new Error(`child ${job} exited with ${code}: ${err}`));
      else
        resolvePromise(
          JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>,
        );
    });
  });
}

async function allTasks(b: Backend, filter: { runId?: string } = {}): Promise<TaskRecord[]> {
  const tasks: TaskRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = await b.listTasks(
      cursor === null ? { ...filter, limit: 500 } : { ...filter, limit: 500, cursor },
    );
    tasks.push(...page.tasks);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return tasks;
}

function countStates(tasks: TaskRecord[]): Record<TaskState, number> {
  const counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  for (const task of tasks) counts[task.state]++;
  return counts;
}

describe('store URLs', () => {
  it('accepts sqlite:<path> relative to the working directory, sqlite::memory: and a bare .db path', () => {
    expect(DEFAULT_STORE_URL).toBe('sqlite:.baton/baton.db');
    expect(parseStoreUrl('sqlite:.baton/baton.db')).toEqual({
      kind: 'sqlite',
      path: resolve('.baton/baton.db'),
    });
    expect(parseStoreUrl('sqlite:/var/lib/baton.db')).toEqual({
      kind: 'sqlite',
      path: '/var/lib/baton.db',
    });
    expect(parseStoreUrl('sqlite:///var/lib/baton.db')).toEqual({
      kind: 'sqlite',
      path: '/var/lib/baton.db',
    });
    expect(parseStoreUrl('sqlite::memory:')).toEqual({ kind: 'sqlite', path: ':memory:' });
    expect(parseStoreUrl('data/queue.db')).toEqual({
      kind: 'sqlite',
      path: resolve('data/queue.db'),
    });
  });

  it('refuses an unknown scheme naming the URL and the accepted forms', () => {
    for (const url of ['postgres://localhost/baton', 'queue.sqlite', 'sqlite:', '']) {
      let error: unknown;
      try {
        parseStoreUrl(url);
      } catch (e) {
        error = e;
      }
      expect(error, url).toBeInstanceOf(BatonError);
      expect((error as BatonError).code, url).toBe('BATON_STORE_URL');
      if (url === 'postgres://localhost/baton') {
        expect((error as BatonError).message).toContain(url);
        expect((error as BatonError).message).toContain('sqlite:<path>');
      }
    }
  });

  it('openBackend creates the parent folders of the file', async () => {
    const file = join(dir, 'deep', 'er', 'baton.db');
    const backend = await openBackend(`sqlite:${file}`);
    opened.push(backend);
    expect(backend.name).toBe('sqlite');
    expect(backend.features.multiProcess).toBe(true);
    await backend.submitTasks([{ type: 'x' }]);
    expect(statSync(file).isFile()).toBe(true);
  });

  it('sqlite::memory: is a working store of its own, not shared between processes', async () => {
    const backend = await openBackend('sqlite::memory:');
    opened.push(backend);
    expect(backend.features.multiProcess).toBe(false);
    const agent = await backend.registerAgent({ capabilities: [], concurrency: 1 });
    const [task] = await backend.submitTasks([{ type: 'x' }]);
    const [lease] = await backend.claim({
      agentId: agent.id,
      capabilities: [],
      max: 1,
      leaseTtlMs: 1000,
    });
    expect(lease?.taskId).toBe(task?.id);
  });
});

describe('schema', () => {
  it('is in WAL mode with one migration row per file, applied once across reopens', async () => {
    const file = join(dir, 'baton.db');
    await (await open(file)).close();
    await (await open(file)).close();
    const db = new DatabaseSync(file);
    try {
      expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
      const rows = db.prepare('SELECT id, name FROM migrations ORDER BY id').all();
      expect(rows[0]).toEqual({ id: 1, name: 'init' });
      expect(new Set(rows.map((r) => r.id)).size, 'each migration recorded once').toBe(rows.length);
    } finally {
      db.close();
    }
  });

  it("a task's log goes with it: deleting the task row deletes its lines and bounds", async () => {
    const file = join(dir, 'baton.db');
    const b = await open(file);
    const agent = await b.registerAgent({ capabilities: [], concurrency: 1 });
    const [kept, removed] = await b.submitTasks([{ type: 'x' }, { type: 'x' }]);
    for (const lease of await b.claim({
      agentId: agent.id,
      capabilities: [],
      max: 2,
      leaseTtlMs: 60_000,
    })) {
      // Enough lines that the claim keeps a row of its bounds (a few lines keep none).
      const lines = Array.from({ length: 70 }, (_, i) => ({ text: `${i} of ${lease.taskId}` }));
      await b.appendLogs([{ ...lease, lines }]);
    }
    await b.close();
    const db = new DatabaseSync(file);
    try {
      const count = (table: string): number =>
        (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      expect([count('task_logs'), count('task_log_claims')]).toEqual([140, 2]);
      db.prepare('DELETE FROM attempts WHERE task_seq = (SELECT seq FROM tasks WHERE id = ?)').run(
        removed!.id,
      );
      db.prepare('DELETE FROM tasks WHERE id = ?').run(removed!.id);
      expect([count('task_logs'), count('task_log_claims')]).toEqual([70, 1]);
    } finally {
      db.close();
    }
    const again = await open(file);
    const left = await again.readLogs({ taskId: kept!.id });
    expect(left.lines.map((l) => l.text)).toEqual(
      Array.from({ length: 70 }, (_, i) => `${i} of ${kept!.id}`),
    );
  });

  it('says which file could not be opened, and why', async () => {
    const missing = join(dir, 'no', 'such', 'folder', 'baton.db');
    let error: unknown;
    try {
      await open(missing);
    } catch (e) {
      error = e;
    }
    expect((error as BatonError).code).toBe('BATON_STORE_UNAVAILABLE');
    expect((error as BatonError).message).toContain(missing);
  });

  it('refuses a file migrated by a newer Baton instead of guessing', async () => {
    const file = join(dir, 'baton.db');
    await (await open(file)).close();
    const db = new DatabaseSync(file);
    db.prepare('INSERT INTO migrations (id, name, applied_at) VALUES (999999, ?, 0)').run(
      'from-the-future',
    );
    db.close();
    let error: unknown;
    try {
      await open(file);
    } catch (e) {
      error = e;
    }
    expect((error as BatonError).code).toBe('BATON_STORE_UNAVAILABLE');
    expect((error as BatonError).message).toMatch(/newer Baton/);
  });
});

describe('operations', () => {
  it('a closed backend refuses every call with BATON_CLOSED', async () => {
    const backend = await open();
    await backend.close();
    await expect(backend.submitTasks([{ type: 'x' }])).rejects.toMatchObject({
      code: 'BATON_CLOSED',
    });
    await expect(backend.getTask('tsk_x')).rejects.toMatchObject({ code: 'BATON_CLOSED' });
    await backend.close(); // idempotent
  });

  it('writes events in emission order, across the multi-row inserts of a large transaction', async () => {
    const backend = await open();
    const submitted = await backend.submitTasks(
      Array.from({ length: 150 }, (_, i) => ({ type: 'x', payload: i })),
    );
    const events = await backend.readEvents({ limit: 1000 });
    expect(events.map((e) => e.taskId)).toEqual(submitted.map((t) => t.id));
    const ids = events.map((e) => Number(e.id));
    expect(ids, 'ids increase one by one').toEqual(ids.map((_, i) => ids[0]! + i));
  });

  it('keeps run and namespace counters equal to the tasks, through a busy history', async () => {
    const clock = new ManualClock();
    const backend = await open(join(dir, 'baton.db'), { clock: clock.now });
    const agent = await backend.registerAgent({ capabilities: ['gpu'], concurrency: 10 });
    const runs: string[] = [];
    for (let r = 0; r < 3; r++) {
      const run = await backend.submitRun({
        tasks: [
          { type: 'x', key: 'a', maxAttempts: 2, backoff: { baseMs: 10, jitter: 'none' } },
          { type: 'x', key: 'b', dependsOn: ['a'], requires: ['gpu'] },
          { type: 'x', key: 'c', dependsOn: [{ key: 'b', soft: true }] },
          { type: 'x', key: 'd', dependsOn: ['c'], runAfter: clock.now() + 50 },
          { type: 'x', key: 'e' },
          { type: 'x', key: 'f', dependsOn: ['e'], timeoutMs: 20, maxAttempts: 1 },
        ],
      });
      runs.push(run.runId);
    }
    await backend.submitTasks([{ type: 'solo' }, { type: 'solo', runAfter: clock.now() + 5 }]);
    // Drive everything to the end with every kind of outcome.
    const released = new Set<string>();
    for (let round = 0; round < 40; round++) {
      clock.advance(7);
      await backend.sweep({ agentTtlMs: 60_000 });
      const leases = await backend.claim({
        agentId: agent.id,
        capabilities: ['gpu'],
        max: 4,
        leaseTtlMs: 10_000,
      });
      for (const [i, lease] of leases.entries()) {
        if (lease.task.key === 'a' && lease.attempt === 1)
          await backend.fail([{ ...lease, error: { message: 'once' } }]);
        else if (lease.task.key === 'f')
          continue; // left running: times out in a later sweep
        else if (lease.task.key === 'b' && lease.task.runId === runs[1])
          await backend.cancelTask(lease.taskId);
        else if (i === 1 && !released.has(lease.taskId)) {
          released.add(lease.taskId);
          await backend.release([lease]);
        } else
          await backend.complete([
            { taskId: lease.taskId, token: lease.token, agentId: lease.agentId, result: i },
          ]);
      }
      if (round === 3) await backend.cancelRun(runs[2]!);
    }
    const tasks = await allTasks(backend);
    expect((await backend.stats()).byState, 'namespace counters').toEqual(countStates(tasks));
    for (const runId of runs) {
      const run = await backend.getRun(runId);
      const own = tasks.filter((t) => t.runId === runId);
      expect(run?.progress.byState, `counters of run ${runId}`).toEqual(countStates(own));
      expect(run?.progress.total).toBe(own.length);
    }
    expect(
      tasks.every(
        (t) =>
          t.state === 'succeeded' ||
          t.state === 'failed' ||
          t.state === 'cancelled' ||
          t.state === 'skipped',
      ),
    ).toBe(true);
    expect((await backend.getRun(runs[2]!))?.state).toBe('cancelled');
  });

  it('a task added to a run whose hard dependency already failed is skipped at once, and so are its dependents', async () => {
    const backend = await open();
    const agent = await backend.registerAgent({ capabilities: [], concurrency: 1 });
    const run = await backend.submitRun({
      tasks: [
        { type: 'x', key: 'broken', maxAttempts: 1 },
        { type: 'x', key: 'slow' },
      ],
    });
    const [lease] = await backend.claim({
      agentId: agent.id,
      capabilities: [],
      max: 1,
      leaseTtlMs: 60_000,
    });
    expect(lease?.task.key).toBe('broken');
    await backend.fail([
      {
        taskId: lease!.taskId,
        token: lease!.token,
        agentId: lease!.agentId,
        error: { message: 'no' },
      },
    ]);
    const added = await backend.submitTasks(
      [
        { type: 'x', key: 'needs-broken', dependsOn: ['broken'] },
        { type: 'x', key: 'after-that', dependsOn: ['needs-broken'] },
        { type: 'x', key: 'tolerant', dependsOn: [{ key: 'broken', soft: true }] },
      ],
      { runId: run.runId },
    );
    expect(added.map((t) => [t.key, t.state])).toEqual([
      ['needs-broken', 'skipped'],
      ['after-that', 'skipped'],
      ['tolerant', 'ready'],
    ]);
    const skipped = await backend.getTask(added[0]!.id);
    expect(skipped?.error?.message).toContain('broken');
    expect(skipped?.finishedAt).not.toBeNull();
  });

  it('lists tasks by each state, page by page, in submission order', async () => {
    const clock = new ManualClock();
    const backend = await open(join(dir, 'baton.db'), { clock: clock.now });
    const agent = await backend.registerAgent({ capabilities: [], concurrency: 100 });
    // Two tasks in every state.
    const expected = Object.fromEntries(TASK_STATES.map((s) => [s, [] as string[]])) as Record<
      TaskState,
      string[]
    >;
    for (let round = 0; round < 2; round++) {
      const run = await backend.submitRun({
        tasks: [
          { type: 'x', key: 'done', priority: 1 },
          { type: 'x', key: 'broken', priority: 1, maxAttempts: 1 },
          { type: 'x', key: 'busy', priority: 1 },
          { type: 'x', key: 'skipped', dependsOn: ['broken'] },
          { type: 'x', key: 'blocked', dependsOn: ['busy'] },
          { type: 'x', key: 'doomed' },
          { type: 'x', key: 'later', runAfter: clock.now() + 60_000 },
          { type: 'x', key: 'waiting', priority: 4 },
        ],
      });
      const id = (key: string) => run.tasks.find((t) => t.key === key)!.id;
      const leases = await backend.claim({
        agentId: agent.id,
        capabilities: [],
        max: 3,
        leaseTtlMs: 60_000,
      });
      const lease = (key: string) => leases.find((l) => l.task.key === key)!;
      await backend.complete([
        {
          taskId: id('done'),
          token: lease('done').token,
          agentId: lease('done').agentId,
          result: 1,
        },
      ]);
      await backend.fail([
        {
          taskId: id('broken'),
          token: lease('broken').token,
          agentId: lease('broken').agentId,
          error: { message: 'x' },
        },
      ]);
      await backend.cancelTask(id('doomed'));
      expected.succeeded.push(id('done'));
      expected.failed.push(id('broken'));
      expected.running.push(id('busy'));
      expected.skipped.push(id('skipped'));
      expected.blocked.push(id('blocked'));
      expected.cancelled.push(id('doomed'));
      expected.delayed.push(id('later'));
      expected.ready.push(id('waiting'));
    }
    for (const state of TASK_STATES) {
      const first = await backend.listTasks({ state, limit: 1 });
      expect(first.nextCursor, `${state}: a second page`).not.toBeNull();
      const second = await backend.listTasks({ state, limit: 1, cursor: first.nextCursor! });
      const third = await backend.listTasks({ state, limit: 1, cursor: second.nextCursor ?? '0' });
      expect(
        [...first.tasks, ...second.tasks].map((t) => t.id),
        `tasks in state ${state}`,
      ).toEqual(expected[state]);
      expect(
        second.nextCursor === null || third.tasks.length === 0,
        `${state}: nothing after the last page`,
      ).toBe(true);
    }
    await expect(backend.listTasks({ state: 'nonsense' as TaskState })).rejects.toMatchObject({
      code: 'BATON_VALIDATION',
    });
  });

  it('a batch naming one idempotency key twice stores one task', async () => {
    const backend = await open();
    const answers = await backend.submitTasks([
      { type: 'x', idempotencyKey: 'twice', payload: 1 },
      { type: 'x', idempotencyKey: 'twice', payload: 2 },
    ]);
    expect(answers[1]?.id).toBe(answers[0]?.id);
    expect(answers.map((a) => a.existing)).toEqual([false, true]);
    expect((await allTasks(backend)).map((t) => t.payload)).toEqual([1]);
  });

  it('a batch mixing requires sets is claimed in one order across them', async () => {
    const backend = await open();
    const agent = await backend.registerAgent({ capabilities: ['a', 'b'], concurrency: 10 });
    await backend.submitTasks([
      { type: 'x', requires: ['a'], payload: 'a-low', priority: 'low' },
      { type: 'x', requires: ['b', 'a'], payload: 'ab-high', priority: 'high' },
      { type: 'x', payload: 'none-medium' },
      { type: 'x', requires: ['c'], payload: 'c-critical', priority: 'critical' },
      { type: 'x', requires: ['a'], payload: 'a-critical', priority: 'critical' },
    ]);
    const leases = await backend.claim({
      agentId: agent.id,
      capabilities: ['a', 'b'],
      max: 3,
      leaseTtlMs: 60_000,
    });
    expect(leases.map((l) => l.task.payload)).toEqual(['a-critical', 'ab-high', 'none-medium']);
  });
});

describe('write locks', () => {
  it('a write waits for another connection holding the lock, and retries after the busy timeout', async () => {
    const file = join(dir, 'baton.db');
    const backend = await open(file, { busyTimeoutMs: 20 });
    const other = new DatabaseSync(file);
    other.exec('BEGIN IMMEDIATE');
    // Let go of the lock while the backend waits between two tries.
    const release = setTimeout(() => other.exec('COMMIT'), 5);
    try {
      const [task] = await backend.submitTasks([{ type: 'x' }]);
      expect(task?.state).toBe('ready');
    } finally {
      clearTimeout(release);
      if (other.isTransaction) other.exec('ROLLBACK');
      other.close();
    }
  });

  it('reports the store unavailable (retryable) when the lock is never released', async () => {
    const file = join(dir, 'baton.db');
    const backend = await open(file, { busyTimeoutMs: 5 });
    const other = new DatabaseSync(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      const error = await backend.submitTasks([{ type: 'x' }]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(BatonError);
      expect((error as BatonError).code).toBe('BATON_STORE_UNAVAILABLE');
      expect((error as BatonError).retryable).toBe(true);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(await allTasks(backend), 'nothing was stored').toEqual([]);
  });
});

describe('sweeps of several instances', () => {
  it('one sweeps while it holds the lock, without the others taking the write lock; another takes over after', async () => {
    const file = join(dir, 'baton.db');
    const clock = new ManualClock();
    const one = await open(file, { clock: clock.now, sweepLockMs: 60_000 });
    const two = await open(file, { clock: clock.now, sweepLockMs: 60_000 });
    const agent = await one.registerAgent({ capabilities: [], concurrency: 2 });
    await one.submitTasks([{ type: 'x' }, { type: 'y' }]);
    await one.claim({ agentId: agent.id, capabilities: [], max: 2, leaseTtlMs: 1000 });
    expect((await one.sweep({ agentTtlMs: 1e9 })).expired, 'nothing expired yet').toBe(0);
    clock.advance(1001);
    // While another connection holds the write lock, a skipped sweep still answers at once:
    // it only reads.
    const other = new DatabaseSync(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      expect((await two.sweep({ agentTtlMs: 1e9 })).expired, 'two skips: one sweeps').toBe(0);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect((await one.sweep({ agentTtlMs: 1e9 })).expired, 'the holder sweeps').toBe(2);
    await one.claim({ agentId: agent.id, capabilities: [], max: 2, leaseTtlMs: 1000 });
    clock.advance(1001);
    await one.close();
    expect((await two.sweep({ agentTtlMs: 1e9 })).expired, 'after the holder closed').toBe(2);
  });

  it('a holder that stops sweeping loses the lock when it runs out', async () => {
    const file = join(dir, 'baton.db');
    const clock = new ManualClock();
    const one = await open(file, { clock: clock.now, sweepLockMs: 2000 });
    const two = await open(file, { clock: clock.now, sweepLockMs: 2000 });
    const agent = await one.registerAgent({ capabilities: [], concurrency: 1 });
    await one.submitTasks([{ type: 'x' }]);
    await one.claim({ agentId: agent.id, capabilities: [], max: 1, leaseTtlMs: 1000 });
    await one.sweep({ agentTtlMs: 1e9 });
    clock.advance(1001);
    expect((await two.sweep({ agentTtlMs: 1e9 })).expired, 'the lock still lasts').toBe(0);
    clock.advance(1000);
    expect((await two.sweep({ agentTtlMs: 1e9 })).expired, 'one went quiet').toBe(1);
  });
});

describe('WAL checkpoints', () => {
  it('are made off the event loop: the database file grows without any commit checkpointing', async () => {
    const file = join(dir, 'baton.db');
    const backend = await open(file);
    const before = statSync(file).size;
    await backend.submitTasks(
      Array.from({ length: 2000 }, (_, i) => ({ type: 'x', payload: { i, pad: 'x'.repeat(200) } })),
    );
    // Commits never checkpoint (wal_autocheckpoint = 0): only the worker copies pages into the file.
    for (let i = 0; i < 500 && statSync(file).size <= before; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(
      statSync(file).size,
      'the checkpoint worker copied the WAL into the database file',
    ).toBeGreaterThan(before);
  });
});

describe('closing', () => {
  it('leaves only the database file behind, with every commit in it', async () => {
    const file = join(dir, 'baton.db');
    const backend = await open(file);
    await backend.submitTasks(Array.from({ length: 500 }, (_, i) => ({ type: 'x', payload: i })));
    await backend.close();
    expect(readdirSync(dir), 'the WAL was checkpointed and removed').toEqual(['baton.db']);
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM tasks').get()).toEqual({ n: 500 });
    } finally {
      db.close();
    }
  });

  it('a process that never closes its backend still exits, and its commits are kept', async () => {
    const file = join(dir, 'baton.db');
    const { submitted } = await child(file, 'leave');
    const backend = await open(file);
    expect((await backend.getTask(submitted as string))?.type).toBe('left-behind');
  });
});

describe('several processes on one file', () => {
  it('share the work: every task is leased and completed exactly once', async () => {
    const file = join(dir, 'baton.db');
    const backend = await open(file);
    const submitted = await backend.submitTasks(
      Array.from({ length: 300 }, (_, i) => ({ type: 'x', payload: i })),
    );
    const agent = await backend.registerAgent({ capabilities: [], concurrency: 10 });
    const mine: string[] = [];
    const drainHere = (async () => {
      for (;;) {
        const leases = await backend.claim({
          agentId: agent.id,
          capabilities: [],
          max: 10,
          leaseTtlMs: 60_000,
        });
        if (leases.length === 0) return;
        const outcomes = await backend.complete(
          leases.map((l) => ({
            taskId: l.taskId,
            token: l.token,
            agentId: l.agentId,
            result: 'parent',
          })),
        );
        for (const o of outcomes) if (o.status === 'ok') mine.push(o.taskId);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const children = await Promise.all([child(file, 'drain'), child(file, 'drain')]);
    await drainHere;
    const theirs = children.flatMap((c) => c.completed as string[]);
    const all = [...mine, ...theirs];
    expect(all.length, 'no task completed twice').toBe(new Set(all).size);
    expect([...all].sort()).toEqual(submitted.map((t) => t.id).sort());
    const events = await backend.readEvents({ limit: 10_000 });
    const claims = events.filter((e) => e.type === 'task.claimed');
    expect(claims.length, 'one claim per task').toBe(300);
    expect((await backend.stats()).byState.succeeded).toBe(300);
  });

  it('a waiting worker wakes when another process submits', async () => {
    const file = join(dir, 'baton.db');
    const backend = await open(file);
    const agent = await backend.registerAgent({ capabilities: [], concurrency: 1 });
    // A timeout longer than the test's own: if the wait ends, a commit woke it.
    const waiting = backend.waitForWork({ capabilities: [], timeoutMs: 120_000 });
    const { submitted } = await child(file, 'submit');
    await waiting;
    const [lease] = await backend.claim({
      agentId: agent.id,
      capabilities: [],
      max: 1,
      leaseTtlMs: 60_000,
    });
    expect(lease?.taskId).toBe(submitted);
  });

  it('a blocked readEvents wakes when another process writes an event', async () => {
    const file = join(dir, 'baton.db');
    const backend = await open(file);
    const reading = backend.readEvents({ blockMs: 120_000 });
    const { submitted } = await child(file, 'submit');
    const events = await reading;
    expect(events.map((e) => e.taskId)).toContain(submitted);
  });
});
