/**
 * The read-only SQL of the `query` tool, on SQLite stores: one SELECT over a read-only
 * connection, through views that keep the caller to its namespace (and to its run, for an
 * attempt).
 *
 * What SQLite itself decides, not a regex:
 * - the connection is opened read-only (`SQLITE_OPEN_READONLY`): no statement can write;
 * - an authorizer (`sqlite3_set_authorizer`) allows only SELECT, reads and function calls:
 *   ATTACH, PRAGMA (read or write), writes, DDL and transactions are refused when the statement
 *   is prepared; reads are allowed only of this connection's views (`tasks`, `runs`, `attempts`,
 *   `agents`, `costs`) and, through them, of the stable views of migration 000015 — never of an
 *   internal table or of `sqlite_master` directly;
 * - one statement only: SQLite prepares the first statement of the text and tells where it
 *   ends; anything but blanks and comments after it is refused.
 * - rows and time are capped: the views check the deadline on every row they produce, and rows
 *   are read one by one up to the cap. Recursive CTEs are refused (a loop without rows of the
 *   views would escape the deadline).
 */
import { DatabaseSync, constants, type SQLInputValue, type StatementSync } from 'node:sqlite';

import { ToolError } from './errors.ts';

/** The caps of `query`. */
export const QUERY_LIMITS = {
  /** Rows returned at most (more are cut, `truncated: true`). */
  maxRows: 1000,
  /** Characters of a statement. */
  maxSqlLength: 10_000,
  /** How long a statement may run, in ms. */
  timeoutMs: 2000,
} as const;

/** The views offered, and the stable views of migration 000015 they read. */
const VIEWS: Record<string, { source: string; columns: string; run: string | null }> = {
  tasks: {
    source: 'baton_tasks',
    columns:
      'id, run_id, key, type, title, epic, state, priority, attempts, max_attempts, agent_id, payload, result, error, depends_on, created_at, updated_at, started_at, finished_at',
    run: 'run_id',
  },
  runs: {
    source: 'baton_runs',
    columns:
      'id, name, state, created_at, finished_at, n_blocked, n_delayed, n_ready, n_running, n_succeeded, n_failed, n_skipped, n_cancelled',
    run: 'id',
  },
  attempts: {
    source: 'baton_attempts',
    columns:
      'task_id, run_id, attempt, agent_id, started_at, finished_at, outcome, error, run_ms, cost_usd',
    run: 'run_id',
  },
  agents: {
    source: 'baton_agents',
    columns:
      'id, name, capabilities, labels, concurrency, host, state, started_at, last_heartbeat_at',
    run: null,
  },
  costs: {
    source: 'baton_costs',
    columns:
      'task_id, attempt, run_id, epic, agent_id, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, cost_basis, at',
    run: 'run_id',
  },
};

/** The views `query` offers, with their columns (docs/mcp.md). */
export const QUERY_VIEWS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(VIEWS).map(([name, v]) => [name, v.columns]),
);

const SOURCES = new Set(Object.values(VIEWS).map((v) => v.source));
const OFFERED = new Set(Object.keys(VIEWS));

/** Who a query runs for. */
export interface QueryScope {
  namespace: string;
  /** Only this run's rows (an attempt's query); null: the whole namespace. */
  runId: string | null;
}

export interface QueryResult {
  columns: string[];
  rows: Record<string, unknown>[];
  /** More rows matched than were returned. */
  truncated: boolean;
}

function refuse(message: string): never {
  throw new ToolError('BATON_SQL_REFUSED', message);
}

/** Blanks and comments only. */
function isBlank(text: string): boolean {
  return text.replace(/--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/|\s+|;/g, '') === '';
}

/** Runs `query` statements on one read-only connection to a SQLite store file. */
export class QueryRunner {
  readonly #db: DatabaseSync;
  #scope: QueryScope = { namespace: '', runId: null };
  #deadline = 0;

  /** @param path the SQLite store file (a store opened by Baton, migrated to 000015). */
  constructor(path: string) {
    this.#db = new DatabaseSync(path, { readOnly: true, timeout: 1000 });
    const checkDeadline = (): void => {
      if (Date.now() > this.#deadline)
        throw new ToolError(
          'BATON_SQL_REFUSED',
          `the query ran longer than ${QUERY_LIMITS.timeoutMs} ms and was stopped; narrow it (WHERE, LIMIT)`,
        );
    };
    this.#db.function('baton_ns', { deterministic: false }, () => {
      checkDeadline();
      return this.#scope.namespace;
    });
    this.#db.function('baton_run', { deterministic: false }, () => this.#scope.runId);
    for (const [name, view] of Object.entries(VIEWS)) {
      const run =
        view.run === null ? '' : ` AND (baton_run() IS NULL OR ${view.run} = baton_run())`;
      this.#db.exec(
        `CREATE TEMP VIEW ${name} AS SELECT ${view.columns} FROM main.${view.source} WHERE ns = baton_ns()${run}`,
      );
    }
    this.#db.setAuthorizer((action, arg1, _arg2, dbName, view) => {
      switch (action) {
        case constants.SQLITE_SELECT:
        case constants.SQLITE_FUNCTION:
          return constants.SQLITE_OK;
        case constants.SQLITE_READ:
          // Columns of the offered views, and what those views read (through the stable views).
          if (dbName === 'temp' && arg1 !== null && OFFERED.has(arg1)) return constants.SQLITE_OK;
          if (view !== null && (OFFERED.has(view) || SOURCES.has(view))) return constants.SQLITE_OK;
          return constants.SQLITE_DENY;
        default:
          return constants.SQLITE_DENY;
      }
    });
  }

  /**
   * Run one read-only SELECT for `scope`.
   * @throws ToolError `BATON_SQL_REFUSED` for anything else, naming why.
   */
  run(
    sql: string,
    scope: QueryScope,
    params: SQLInputValue[] = [],
    maxRows: number = QUERY_LIMITS.maxRows,
  ): QueryResult {
    if (typeof sql !== 'string' || sql.trim() === '')
      refuse('the statement is empty; write one SELECT');
    if (sql.length > QUERY_LIMITS.maxSqlLength)
      refuse(`the statement is longer than ${QUERY_LIMITS.maxSqlLength} characters`);
    let statement: StatementSync;
    try {
      statement = this.#db.prepare(sql);
    } catch (error) {
      const message = (error as Error).message;
      refuse(
        /not authorized|prohibited/.test(message)
          ? `SQLite refused the statement (${message}): only one read-only SELECT over the views ${[...OFFERED].join(', ')} runs; no ATTACH, PRAGMA, writes, recursive CTEs, or internal tables`
          : `the statement does not compile: ${message}`,
      );
    }
    const first = statement.sourceSQL;
    if (!sql.startsWith(first) || !isBlank(sql.slice(first.length)))
      refuse(
        'several statements at once are refused: send one SELECT, without a second statement after ;',
      );
    if (!/^\s*(--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*(select|with|values)\b/i.test(first))
      refuse('only SELECT statements run');
    this.#scope = scope;
    this.#deadline = Date.now() + QUERY_LIMITS.timeoutMs;
    const rows: Record<string, unknown>[] = [];
    let truncated = false;
    try {
      for (const row of statement.iterate(...params)) {
        if (rows.length >= maxRows) {
          truncated = true;
          break;
        }
        rows.push({ ...(row as Record<string, unknown>) });
        if (Date.now() > this.#deadline)
          refuse(
            `the query ran longer than ${QUERY_LIMITS.timeoutMs} ms and was stopped; narrow it`,
          );
      }
    } catch (error) {
      if (error instanceof ToolError) throw error;
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof ToolError) throw cause;
      const message = (error as Error).message;
      if (message.includes('ran longer than')) refuse(message);
      refuse(`the statement failed: ${message}`);
    }
    return { columns: statement.columns().map((c) => c.name), rows, truncated };
  }

  close(): void {
    this.#db.close();
  }
}
