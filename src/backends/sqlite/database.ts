/**
 * The SQLite connection: opening it with the right pragmas, applying the numbered migrations,
 * loading the SQL statements (one per file in `sql/`) and running write transactions that
 * survive other processes holding the write lock for a moment.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { BatonError, StoreUnavailableError } from '../../core/errors.ts';

/** How long a statement waits for another connection's lock before SQLITE_BUSY. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * A folder shipped next to this module. After `tsc` builds `dist/`, the `.sql` files stay in
 * `src/` (package.json ships both), so look there too.
 */
function assetDir(name: string): string {
  const candidates = [
    new URL(`./${name}/`, import.meta.url),
    new URL(`../../../src/backends/sqlite/${name}/`, import.meta.url),
  ];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new BatonError(
    'BATON_STORE_UNAVAILABLE',
    `the SQLite backend cannot find its ${name}/ folder next to ${fileURLToPath(import.meta.url)}; reinstall the baton-queue package`,
  );
}

interface Migration {
  id: number;
  name: string;
  sql: string;
}

let migrations: Migration[] | null = null;
let statements: Map<string, string> | null = null;

/** The migration files `NNNNNN_name.sql`, in order; read from disk once per process. */
function loadMigrations(): Migration[] {
  if (migrations) return migrations;
  const dir = assetDir('migrations');
  migrations = readdirSync(dir)
    .filter((file) => /^\d{6}_[\w-]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      id: Number(file.slice(0, 6)),
      name: file.slice(7, -4),
      sql: readFileSync(dir + file, 'utf8'),
    }));
  return migrations;
}

/** The text of `sql/<name>.sql`; every file is read from disk once per process. */
export function sqlText(name: string): string {
  if (!statements) {
    const dir = assetDir('sql');
    statements = new Map();
    for (const file of readdirSync(dir)) {
      if (file.endsWith('.sql'))
        statements.set(file.slice(0, -4), readFileSync(dir + file, 'utf8'));
    }
  }
  const text = statements.get(name);
  if (text === undefined) {
    throw new BatonError(
      'BATON_STORE_UNAVAILABLE',
      `the SQLite backend has no statement sql/${name}.sql; reinstall the baton-queue package`,
    );
  }
  return text;
}

/** SQLITE_BUSY or SQLITE_LOCKED (any extended code): another connection holds the lock. */
export function isBusy(error: unknown): boolean {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  if (typeof code !== 'number') return false;
  const primary = code & 0xff;
  return primary === 5 || primary === 6;
}

/** Primary SQLite result codes that mean the store itself is unusable, not that a query is wrong. */
const STORE_FAILURES: ReadonlyMap<number, string> = new Map([
  [3, 'permission denied'],
  [7, 'out of memory'],
  [8, 'the database is read-only'],
  [10, 'disk I/O error'],
  [11, 'the database file is corrupt'],
  [13, 'the disk is full'],
  [14, 'cannot open the database file'],
  [15, 'locking protocol error'],
  [26, 'the file is not a database'],
]);

/**
 * Turn a SQLite error about the store itself (disk full, I/O error, read-only, corrupt …) into a
 * {@link StoreUnavailableError} naming the file; anything else is returned unchanged.
 */
export function storeError(error: unknown, path: string): unknown {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  if (typeof code !== 'number') return error;
  const what = STORE_FAILURES.get(code & 0xff);
  if (what === undefined) return error;
  return new StoreUnavailableError(
    `the SQLite store ${path} failed: ${what} (${(error as Error).message}); check the disk and the file's permissions`,
    error,
  );
}

/**
 * Open a database file (or `:memory:`): WAL so readers never block the writer and several
 * processes can share the file; `synchronous = NORMAL`, which in WAL mode never corrupts the
 * file and loses nothing when a process crashes (a power loss can undo the commits made since
 * the last checkpoint); and a busy timeout for the moments another process holds the lock.
 *
 * @throws BatonError (BATON_STORE_UNAVAILABLE) when the file cannot be opened.
 */
export function openDatabase(path: string, busyTimeoutMs: number): DatabaseSync {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: busyTimeoutMs, enableForeignKeyConstraints: false });
  } catch (error) {
    throw new BatonError(
      'BATON_STORE_UNAVAILABLE',
      `cannot open the SQLite store ${path}: ${(error as Error).message}. Check that its folder exists and is writable.`,
      { cause: error },
    );
  }
  try {
    // Switching to WAL needs a moment of exclusive access; another process opening the same new
    // file at the same time may hold it. The busy handler covers most of that, retry the rest.
    retrySync(() => db.exec('PRAGMA journal_mode = WAL'));
    db.exec('PRAGMA synchronous = NORMAL');
    // The claim path touches a few hot index pages; 16 MiB keeps big submissions in memory.
    db.exec('PRAGMA cache_size = -16384');
    db.exec('PRAGMA temp_store = MEMORY');
    // After a checkpoint empties the WAL, shrink a file grown by a huge batch back to 64 MiB.
    db.exec('PRAGMA journal_size_limit = 67108864');
    return db;
  } catch (error) {
    db.close();
    throw storeError(error, path);
  }
}

function retrySync(fn: () => void): void {
  for (let attempt = 0; ; attempt++) {
    try {
      fn();
      return;
    } catch (error) {
      if (!isBusy(error) || attempt >= 5) throw error;
    }
  }
}

/**
 * Apply the migrations this database has not seen, each in its own `BEGIN IMMEDIATE`
 * transaction together with its row in `migrations`, re-checking inside the transaction so two
 * processes opening a new file at once do not both apply one.
 *
 * @throws BatonError (BATON_STORE_UNAVAILABLE) when the file was migrated by a newer Baton.
 */
export function migrate(db: DatabaseSync, now: number): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const known = loadMigrations();
  const applied = db.prepare('SELECT 1 AS found FROM migrations WHERE id = ?');
  const record = db.prepare('INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)');
  const newest = db.prepare('SELECT max(id) AS id FROM migrations').get() as { id: number | null };
  const latest = known.at(-1)?.id ?? 0;
  if (newest.id !== null && newest.id > latest) {
    throw new BatonError(
      'BATON_STORE_UNAVAILABLE',
      `this SQLite store was migrated to schema ${newest.id} by a newer Baton; this one knows up to ${latest}. Upgrade baton to use it.`,
      { details: { schema: newest.id, known: latest } },
    );
  }
  for (const migration of known) {
    if (applied.get(migration.id)) continue;
    retrySync(() => db.exec('BEGIN IMMEDIATE'));
    try {
      if (!applied.get(migration.id)) {
        db.exec(migration.sql);
        record.run(migration.id, migration.name, now);
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw new BatonError(
        'BATON_STORE_UNAVAILABLE',
        `migration ${String(migration.id).padStart(6, '0')}_${migration.name}.sql failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
}

/** A write transaction is as patient as this many busy timeouts before giving up. */
const BUSY_RETRIES = 4;

/**
 * How long SQLite's own busy handler may wait to take the write lock within one try of a write
 * transaction, in ms. Its sleeps grow to 100 ms, and while a contender sleeps, the process that
 * holds the lock takes it again and again: one process once ran 37 110 of the 40 000 tasks three
 * processes drained. Short native waits, retried from JavaScript after a millisecond or two (the
 * event loop runs in between), make the processes that want the lock take turns.
 */
const TRY_BUSY_MS = 2;

/**
 * The switches of a connection's busy timeout around `BEGIN IMMEDIATE`: short while it takes the
 * write lock ({@link TRY_BUSY_MS}), the configured one for everything else (a read during another
 * process's recovery still waits as long as it always did). About 2 µs per write transaction.
 */
export interface LockWaits {
  short: StatementSync;
  normal: StatementSync;
}

export function lockWaits(db: DatabaseSync, busyTimeoutMs: number): LockWaits {
  const normal = Math.max(0, Math.floor(busyTimeoutMs));
  return {
    short: db.prepare(`PRAGMA busy_timeout = ${Math.min(TRY_BUSY_MS, normal)}`),
    normal: db.prepare(`PRAGMA busy_timeout = ${normal}`),
  };
}

/**
 * Run `fn` inside `BEGIN IMMEDIATE … COMMIT` (the write lock is taken up front, so the
 * transaction never fails half-way to upgrade a read lock). Rolls back when `fn` throws. While
 * another process holds the lock, tries again every millisecond or two (with `waits`; see
 * {@link lockWaits}) for up to `(BUSY_RETRIES + 1) × busyTimeoutMs`, then reports the store as
 * unavailable (retryable). Without `waits`, each try waits the connection's own busy timeout.
 *
 * The first try runs synchronously: an uncontended write costs no extra tick.
 */
export async function writeTransaction<T>(
  db: DatabaseSync,
  path: string,
  fn: () => T,
  busyTimeoutMs: number = DEFAULT_BUSY_TIMEOUT_MS,
  waits?: LockWaits,
): Promise<T> {
  let deadline: number | null = null;
  for (;;) {
    try {
      return transactionOnce(db, fn, waits);
    } catch (error) {
      if (!isBusy(error)) throw storeError(error, path);
      if (!db.isOpen)
        throw new BatonError(
          'BATON_CLOSED',
          'the SQLite store was closed while a write waited for its lock',
        );
      const now = performance.now();
      deadline ??= now + busyTimeoutMs * (BUSY_RETRIES + 1);
      if (now >= deadline) {
        throw new StoreUnavailableError(
          'the SQLite store stayed locked by another process past the busy timeout; try again, or check for a stuck process holding the database',
          error,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1 + Math.random()));
      if (!db.isOpen)
        throw new BatonError(
          'BATON_CLOSED',
          'the SQLite store was closed while a write waited for its lock',
        );
    }
  }
}

function transactionOnce<T>(db: DatabaseSync, fn: () => T, waits: LockWaits | undefined): T {
  if (waits) {
    waits.short.run();
    try {
      db.exec('BEGIN IMMEDIATE');
    } finally {
      waits.normal.run();
    }
  } else {
    db.exec('BEGIN IMMEDIATE');
  }
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
