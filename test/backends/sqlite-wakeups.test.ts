/**
 * The SQLite wake-ups across connections: a waiter notices another connection's commit through
 * `PRAGMA data_version`, including a commit that lands between its look at the store and its wait.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Wakeups } from '../../src/backends/sqlite/wakeups.ts';

let dir: string;
let reader: DatabaseSync;
let writer: DatabaseSync;
let wakeups: Wakeups;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-wakeups-'));
  const file = join(dir, 'w.db');
  writer = new DatabaseSync(file);
  writer.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (x)');
  reader = new DatabaseSync(file);
  const version = reader.prepare('PRAGMA data_version');
  wakeups = new Wakeups(
    {
      hasReadyWork: () => (reader.prepare('SELECT count(*) AS n FROM t').get()!.n as number) > 0,
      takes: () => true,
      nextDue: () => null,
      dataVersion: () => version.get()!.data_version as number,
      clock: () => Date.now(),
    },
    10,
  );
});

afterEach(() => {
  wakeups.close();
  reader.close();
  writer.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Whether `wait` ended before `ms` (a generous bound: the poll runs every 10 ms). */
async function endsWithin(wait: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const woke = await Promise.race([wait.then(() => true as const), timedOut]);
  clearTimeout(timer);
  return woke;
}

describe('Wakeups across connections', () => {
  it('an event waiter wakes on a commit made after it started waiting', async () => {
    const waiting = wakeups.waitForEvents(wakeups.version(), 60_000, undefined);
    writer.exec('INSERT INTO t VALUES (1)');
    expect(await endsWithin(waiting, 5_000)).toBe(true);
    expect(wakeups.waiting).toBe(false);
  });

  it('an event waiter wakes on a commit made between its look and its wait', async () => {
    const seen = wakeups.version();
    writer.exec('INSERT INTO t VALUES (1)'); // after the look, before the wait
    const waiting = wakeups.waitForEvents(seen, 60_000, undefined);
    expect(await endsWithin(waiting, 5_000)).toBe(true);
  });

  it('a work waiter wakes on a commit made between its look and its wait', async () => {
    const seen = wakeups.version();
    writer.exec('INSERT INTO t VALUES (1)');
    const waiting = wakeups.waitForWork(
      seen,
      { capabilities: [], types: undefined },
      null,
      60_000,
      undefined,
    );
    expect(await endsWithin(waiting, 5_000)).toBe(true);
  });

  it('without a commit, a waiter waits until its timeout', async () => {
    const waiting = wakeups.waitForEvents(wakeups.version(), 60_000, undefined);
    expect(await endsWithin(waiting, 300)).toBe(false);
    expect(wakeups.waiting).toBe(true);
  });
});
