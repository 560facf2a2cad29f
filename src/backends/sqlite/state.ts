/**
 * Shared state on SQLite (docs/mcp.md; the table is in `migrations/000015_state_and_views.sql`).
 * Writes run inside the backend's write transaction, so a compare-and-set's read of the version
 * and its write are one atomic step across every process on the file, and so is the check of the
 * writer's lease (the backend makes it, in the same transaction, before calling here). An expired
 * row is treated as absent by every statement, and writes delete expired rows as they go.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Json } from '../../core/types.ts';
import type { StateDelete, StateEntry, StateOutcome } from '../backend.ts';
import type { CheckedStateList, CheckedStateWrite } from '../state.ts';
import { sqlText } from './database.ts';

const FILES = {
  get: 'state-get',
  row: 'state-row',
  put: 'state-put',
  remove: 'state-delete',
  list: 'state-list',
  expire: 'state-expire',
} as const;

type StateStatements = Record<keyof typeof FILES, StatementSync>;

interface EntryRow {
  key?: string;
  value: string;
  version: number;
  expires_at: number | null;
  updated_at: number;
}

export class SqliteState {
  readonly #st: StateStatements;
  readonly #ns: string;

  constructor(db: DatabaseSync, namespace: string) {
    const st = {} as StateStatements;
    for (const [name, file] of Object.entries(FILES) as [keyof typeof FILES, string][]) {
      st[name] = db.prepare(sqlText(file));
    }
    this.#st = st;
    this.#ns = namespace;
  }

  get(scope: string, key: string, now: number): StateEntry | null {
    const row = this.#st.get.get(this.#ns, scope, key, now) as EntryRow | undefined;
    return row === undefined ? null : toEntry(scope, key, row);
  }

  list(scope: string, options: CheckedStateList, now: number): StateEntry[] {
    const rows = this.#st.list.all(
      this.#ns,
      scope,
      options.prefix,
      options.after ?? '',
      now,
      options.limit,
    ) as unknown as EntryRow[];
    return rows.map((row) => toEntry(scope, row.key!, row));
  }

  /** The version of the live entry, or null when there is none. */
  #version(scope: string, key: string, now: number): number | null {
    const row = this.#st.row.get(this.#ns, scope, key) as
      { version: number; expires_at: number | null } | undefined;
    if (row === undefined) return null;
    return row.expires_at !== null && row.expires_at <= now ? null : row.version;
  }

  /** Apply a write inside a write transaction at `now` (its lease already checked). */
  set(input: CheckedStateWrite, now: number): StateOutcome {
    this.#st.expire.run(this.#ns, now);
    const current = this.#version(input.scope, input.key, now);
    if (input.expectedVersion !== undefined && input.expectedVersion !== (current ?? 0))
      return { status: 'version_mismatch', version: current };
    const version = (current ?? 0) + 1;
    const expiresAt = input.ttlMs === undefined ? null : now + input.ttlMs;
    this.#st.put.run(this.#ns, input.scope, input.key, input.json, version, expiresAt, now);
    return {
      status: 'ok',
      entry: {
        scope: input.scope,
        key: input.key,
        value: JSON.parse(input.json) as Json,
        version,
        expiresAt,
        updatedAt: now,
      },
    };
  }

  /** Apply a delete inside a write transaction at `now` (its lease already checked). */
  delete(input: StateDelete, now: number): StateOutcome {
    this.#st.expire.run(this.#ns, now);
    const entry = this.get(input.scope, input.key, now);
    const current = entry?.version ?? null;
    if (input.expectedVersion !== undefined && input.expectedVersion !== current)
      return { status: 'version_mismatch', version: current };
    if (entry !== null) this.#st.remove.run(this.#ns, input.scope, input.key);
    return { status: 'ok', entry };
  }
}

function toEntry(scope: string, key: string, row: EntryRow): StateEntry {
  return {
    scope,
    key,
    value: JSON.parse(row.value) as Json,
    version: row.version,
    expiresAt: row.expires_at,
    updatedAt: row.updated_at,
  };
}
