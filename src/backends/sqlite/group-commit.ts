/**
 * Group commit of small submissions. A submission that arrives while the event loop is busy (an
 * HTTP server reads many `POST /v1/tasks` in one poll phase) waits for `setImmediate`, and every
 * submission gathered by then is written in ONE write transaction: one `BEGIN IMMEDIATE … COMMIT`,
 * one WAL commit and one round of wake-ups instead of one each. A lone submission waits one
 * `setImmediate` (microseconds) and is written as before.
 *
 * Each submission runs inside its own SAVEPOINT with its own {@link WriteTx}, in arrival order, so
 * the group behaves as the same submissions one after the other: a later one sees what an earlier
 * one stored (a repeated idempotency key answers `existing: true`, a queue it registered is found
 * by the queue-insert's `ON CONFLICT`), and one that throws inside the transaction is rolled back
 * alone (its rows, events, counts; its WriteTx is dropped) and rejects alone, while the others
 * commit. When the transaction itself fails (the lock never came, the disk is full, the file is
 * corrupt) every submission of the group rejects with that error and nothing of any is stored.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { isBusy, storeError } from './database.ts';
import type { WriteTx } from './transaction.ts';

/**
 * At most this many submissions share a transaction, so that one flush cannot hold the event
 * loop (and the write lock) for long; the next ones start a new group.
 */
export const GROUP_MAX_SUBMISSIONS = 256;
/**
 * At most this many tasks in one group. A submission this large or larger is not worth
 * grouping: it is written at once, in a transaction of its own, as it always was.
 */
export const GROUP_MAX_TASKS = 1024;

export interface GroupCommitOptions {
  db: DatabaseSync;
  /** The database file, for error messages. */
  path: string;
  /**
   * Run `fn` in one write transaction (`writeTransaction` with the backend's busy settings:
   * it retries the whole of `fn` while another process holds the lock, and maps store errors).
   */
  transaction: (fn: () => void) => Promise<void>;
  /**
   * A fresh transaction state for one submission, stamped with the time read inside the
   * transaction (so a group that waited for the lock is not stamped with the time it was called).
   */
  begin: () => WriteTx;
  /** After the commit, with the state of every submission that was kept (in order). */
  committed: (txs: readonly WriteTx[]) => void;
}

/** One submission waiting in a group, and what became of it. */
interface Member {
  work: (tx: WriteTx) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Set once its savepoint was released (kept); null when rolled back or not run yet. */
  tx: WriteTx | null;
  value: unknown;
  error: unknown;
}

export class GroupCommit {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #transaction: (fn: () => void) => Promise<void>;
  readonly #begin: () => WriteTx;
  readonly #committed: (txs: readonly WriteTx[]) => void;
  readonly #savepoint: StatementSync;
  readonly #release: StatementSync;
  readonly #rollback: StatementSync;
  #pending: Member[] = [];
  #pendingTasks = 0;
  /** The runs the waiting submissions add tasks to. */
  readonly #pendingRuns = new Set<string>();
  #immediate: NodeJS.Immediate | null = null;

  constructor(options: GroupCommitOptions) {
    this.#db = options.db;
    this.#path = options.path;
    this.#transaction = options.transaction;
    this.#begin = options.begin;
    this.#committed = options.committed;
    this.#savepoint = this.#db.prepare('SAVEPOINT baton_submission');
    this.#release = this.#db.prepare('RELEASE baton_submission');
    this.#rollback = this.#db.prepare('ROLLBACK TO baton_submission');
  }

  /**
   * Queue a submission of `tasks` tasks (to the run `runId`, or null): `work` runs inside the
   * group's transaction, in its own savepoint, and the promise settles once the group committed
   * (or failed).
   */
  add<T>(tasks: number, runId: string | null, work: (tx: WriteTx) => T): Promise<T> {
    if (
      this.#pending.length >= GROUP_MAX_SUBMISSIONS ||
      (this.#pending.length > 0 && this.#pendingTasks + tasks > GROUP_MAX_TASKS)
    ) {
      this.flush();
    }
    const promise = new Promise<T>((resolve, reject) => {
      this.#pending.push({
        work,
        resolve: resolve as (value: unknown) => void,
        reject,
        tx: null,
        value: undefined,
        error: undefined,
      });
    });
    this.#pendingTasks += tasks;
    if (runId !== null) this.#pendingRuns.add(runId);
    if (this.#pendingTasks >= GROUP_MAX_TASKS) this.flush();
    else this.#immediate ??= setImmediate(this.#flushSoon);
    return promise;
  }

  /**
   * Write the waiting submissions now. The backend calls this before any other read or write,
   * so that the operations of one process keep the order they were called in. When the lock is
   * free, the group is committed before this returns.
   */
  flush(): void {
    if (this.#pending.length === 0) return;
    const members = this.#pending;
    this.#pending = [];
    this.#pendingTasks = 0;
    this.#pendingRuns.clear();
    if (this.#immediate !== null) {
      clearImmediate(this.#immediate);
      this.#immediate = null;
    }
    void this.#commit(members);
  }

  /**
   * Write the waiting submissions now if one of them adds tasks to `runId`: a submission to a
   * run is validated against the run's keys before it joins a group, and must see those.
   */
  flushRun(runId: string): void {
    if (this.#pendingRuns.has(runId)) this.flush();
  }

  readonly #flushSoon = (): void => {
    this.#immediate = null;
    this.flush();
  };

  /** Never rejects: every member's promise settles. */
  async #commit(members: Member[]): Promise<void> {
    try {
      await this.#transaction(() => this.#runAll(members));
    } catch (error) {
      // The transaction failed as a whole (already mapped to a store error): nothing is stored.
      for (const member of members) member.reject(error);
      return;
    }
    const kept: WriteTx[] = [];
    for (const member of members) if (member.tx !== null) kept.push(member.tx);
    try {
      this.#committed(kept);
    } catch (error) {
      // As a lone write does: the caller hears of a failure after the commit.
      for (const member of members) member.reject(error);
      return;
    }
    for (const member of members) {
      if (member.tx !== null) member.resolve(member.value);
      else member.reject(storeError(member.error, this.#path));
    }
  }

  /**
   * Run every member in its own savepoint, inside the group's transaction. Runs again from the
   * start when the transaction is retried, so each run starts from a clean slate.
   */
  #runAll(members: readonly Member[]): void {
    for (const member of members) {
      member.tx = null;
      member.value = undefined;
      member.error = undefined;
      this.#savepoint.run();
      try {
        const tx = this.#begin();
        member.value = member.work(tx);
        tx.finish();
        this.#release.run();
        member.tx = tx;
      } catch (error) {
        // A failure of the store (busy, disk full, I/O …), or one after which SQLite already
        // rolled the whole transaction back, fails the group; anything else fails this member.
        if (isBusy(error) || storeError(error, this.#path) !== error || !this.#db.isTransaction)
          throw error;
        this.#rollback.run();
        this.#release.run();
        member.error = error;
      }
    }
  }
}
