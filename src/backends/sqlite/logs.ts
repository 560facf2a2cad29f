/**
 * Task logs on SQLite (docs/logs.md): lines in `task_logs`, and what the bounds know of each
 * claim's log in `task_log_claims` (migrations/000009_task_logs.sql). Appends run inside the
 * caller's write transaction: `appendLogs`' own, or that of the complete, fail or release whose
 * items carry the attempt's last lines, before the outcomes, so they commit together.
 *
 * The bounds, applied per claim (an attempt; a claim given back and claimed again has a log of
 * its own) as lines arrive: a line goes to the head while the head has
 * room for it; the first line that does not fit ends the head, and it and every later line go to
 * the tail; while the tail holds more than `tailBytes`, its oldest line is cut (deleted, and
 * counted). Lines of one append that would be cut before the append ends are never written.
 *
 * A claim keeps a row of what the bounds know once it has more than a few lines (see
 * {@link STATELESS_HEAD_LINES}); before that, its lines say it. Each line's seq is given here, from `task_log_seq` (read and written once per append): a line
 * cut before it was written still had its number, so the `cut` marker's seq (the last line cut)
 * is never that of a line that was kept.
 */
import { levelRank, type LogBounds, type LogLine, type LogPage } from '../../core/logs.ts';
import type { LogAppendOutcome, ReadAgentLogsOptions, ReadLogsOptions } from '../backend.ts';
import type { CheckedLogAppend, CheckedLogLine } from '../inputs.ts';
import { levelOfRank, logPage, refusedLog, streamOf, type CutFound } from '../logs.ts';
import { insertRows, selectRows, type Statements } from './statements.ts';

/** What the bounds know of a claim's log (a row of `task_log_claims`, as `log-claim.sql` reads it). */
interface LogState {
  lines: number;
  head_lines: number;
  head_bytes: number;
  head_full: number;
  tail_bytes: number;
  tail_after: number;
  cut_lines: number;
  cut_bytes: number;
  cut_to: number | null;
  cut_at: number | null;
}

/**
 * A row of `log-claim.sql` (the task, the claim's attempt and agent, its log's state: NULLs when
 * it keeps none), or of `log-state.sql` with the attempt and agent the call knew (and, for a claim
 * without a state row, its head's lines counted: `count`, `bytes`).
 */
type ClaimRow = { task_seq: number; attempt: number | null; agent_id: string | null } & {
  [K in keyof LogState]: LogState[K] | null;
} & { count?: number | null; bytes?: number | null };

/** A row of `logs-of-task.sql`, `logs-of-agent.sql`, `logs-of-namespace.sql`. */
interface LineRow {
  seq: number;
  task_id?: string;
  attempt: number;
  agent_id: string;
  stream: string;
  level: number;
  at: number;
  text: string;
}

/**
 * A lease the calling transaction has just checked (complete, fail, release): its task, token,
 * attempt and agent, so the append need not look its claim up again.
 */
export interface HeldClaim {
  taskSeq: number;
  token: number;
  attempt: number;
  agentId: string;
}

/**
 * A claim with at most this many lines, all in the head, keeps no `task_log_claims` row: the next
 * append counts its lines (log-head.sql), which saves a write per task that logs little (the
 * usual case: a line or two). A longer log keeps its row, so counting never reads many lines.
 */
const STATELESS_HEAD_LINES = 64;

/** The state of a held claim that log-states.sql found no row for: it has no line yet. */
const NO_LOG_YET = {
  lines: null,
  head_lines: null,
  head_bytes: null,
  head_full: null,
  tail_bytes: null,
  tail_after: null,
  cut_lines: null,
  cut_bytes: null,
  cut_to: null,
  cut_at: null,
  count: 0,
  bytes: 0,
} as const;

/** Stored tail lines read at a time while cutting. */
const CUT_CHUNK = 256;

export class SqliteLogs {
  readonly #st: Statements;
  readonly #ns: string;
  readonly #bounds: LogBounds;

  constructor(st: Statements, namespace: string, bounds: LogBounds) {
    this.#st = st;
    this.#ns = namespace;
    this.#bounds = bounds;
  }

  /**
   * Store each item's lines (in the caller's write transaction, at its time `now`): one answer
   * per item. An item whose claim another agent ran, or that names no claim, stores nothing.
   * Lines are inserted together at the end, up to 64 to a statement, whatever their items.
   */
  append(
    items: readonly CheckedLogAppend[],
    now: number,
    held?: ReadonlyMap<string, HeldClaim>,
  ): LogAppendOutcome[] {
    let seq: number | undefined;
    let first = 0;
    const values: unknown[] = [];
    const states = held === undefined ? undefined : this.#heldStates(items, held);
    // Claims appended to by this call: a second item for one of them reads its state afresh,
    // once the lines before it are inserted.
    const appended = new Set<string>();
    const outcomes = items.map((item): LogAppendOutcome => {
      const known = held?.get(item.taskId);
      const again = appended.size > 0 && appended.has(`${item.taskId} ${item.token}`);
      if (again) insertRows(this.#st.logInserts, values.splice(0));
      const found =
        known !== undefined && known.token === item.token
          ? ({
              ...(again
                ? (this.#st.logState.get(known.taskSeq, item.token) as object)
                : (states?.get(known.taskSeq) ?? NO_LOG_YET)),
              task_seq: known.taskSeq,
              attempt: known.attempt,
              agent_id: known.agentId,
            } as ClaimRow)
          : (this.#st.logClaim.get(item.taskId, this.#ns, item.token) as ClaimRow | undefined);
      if (!found) return refusedLog(item, 'task', this.#ns);
      if (found.attempt === null) return refusedLog(item, 'attempt', this.#ns);
      if (found.agent_id !== item.agentId) return refusedLog(item, 'agent', this.#ns);
      if (item.lines.length > 0) {
        if (seq === undefined) {
          seq = (this.#st.logSeq.get() as { seq: number }).seq;
          first = seq;
        }
        seq = this.#appendToClaim(found, item, { seq, now }, values);
        appended.add(`${item.taskId} ${item.token}`);
      }
      return { taskId: item.taskId, status: 'ok' };
    });
    insertRows(this.#st.logInserts, values);
    if (seq !== undefined && seq !== first) this.#st.logSeqSave.run(seq);
    return outcomes;
  }

  /**
   * What the bounds know of the held claims these items write to, by task seq, read in one
   * statement (log-states.sql); a claim with no lines yet has no entry.
   */
  #heldStates(
    items: readonly CheckedLogAppend[],
    held: ReadonlyMap<string, HeldClaim>,
  ): Map<number, ClaimRow> | undefined {
    const pairs: number[] = [];
    for (const item of items) {
      const known = held.get(item.taskId);
      if (known !== undefined && known.token === item.token && item.lines.length > 0)
        pairs.push(known.taskSeq, item.token);
    }
    if (pairs.length === 0) return undefined;
    const rows = selectRows(this.#st.logStates, pairs) as (ClaimRow & { token: number })[];
    if (rows.length === 0) return undefined;
    const states = new Map<number, ClaimRow>();
    for (const row of rows) states.set(row.task_seq, row);
    return states;
  }

  /**
   * Append an item's lines to its claim's log, numbering them on from `at.seq`; the rows to insert
   * are pushed onto `values` (log-insert.sql's parameters). Returns the last seq.
   */
  #appendToClaim(
    claim: ClaimRow,
    item: CheckedLogAppend,
    at: { seq: number; now: number },
    values: unknown[],
  ): number {
    const st = this.#st;
    const { headBytes, tailBytes } = this.#bounds;
    const taskSeq = claim.task_seq;
    const { token, agentId } = item;
    const attempt = claim.attempt!;
    // A claim without a row is all head: its lines and their bytes say where the head is (read
    // with its state when the call knew its claim).
    const head0 =
      claim.lines !== null
        ? undefined
        : claim.count !== undefined && claim.count !== null
          ? { lines: claim.count, bytes: claim.bytes ?? 0 }
          : (st.logHead.get(taskSeq, token) as { lines: number; bytes: number });
    const s: LogState =
      head0 !== undefined
        ? {
            lines: head0.lines,
            head_lines: head0.lines,
            head_bytes: head0.bytes,
            head_full: 0,
            tail_bytes: 0,
            tail_after: 0,
            cut_lines: 0,
            cut_bytes: 0,
            cut_to: null,
            cut_at: null,
          }
        : (claim as LogState);
    // Stored tail lines have seq > floor; those cut here are deleted in one statement at the end.
    const floor = Math.max(s.tail_after, s.cut_to ?? 0);
    let storedFrom = floor;
    let stored: { seq: number; bytes: number }[] = [];
    let storedAt = 0;
    let storedLeft = s.head_full === 1;
    let deleteTo = 0;
    const head: { seq: number; line: CheckedLogLine }[] = [];
    const tail: { seq: number; line: CheckedLogLine }[] = [];
    let tailStart = 0;
    let seq = at.seq;
    for (const line of item.lines) {
      seq++;
      s.lines++;
      if (s.head_full === 0 && s.head_bytes + line.bytes <= headBytes) {
        s.head_bytes += line.bytes;
        s.head_lines++;
        head.push({ seq, line });
        continue;
      }
      if (s.head_full === 0) {
        s.head_full = 1;
        s.tail_after = seq - 1;
      }
      s.tail_bytes += line.bytes;
      tail.push({ seq, line });
      while (s.tail_bytes > tailBytes) {
        // The oldest tail line: a stored one while there are any, then this append's own.
        let cut: { seq: number; bytes: number } | undefined;
        if (storedLeft && storedAt === stored.length) {
          stored = st.logTailOldest.all(taskSeq, token, storedFrom, CUT_CHUNK) as {
            seq: number;
            bytes: number;
          }[];
          storedAt = 0;
          if (stored.length < CUT_CHUNK) storedLeft = false;
          if (stored.length > 0) storedFrom = stored.at(-1)!.seq;
        }
        if (storedAt < stored.length) {
          cut = stored[storedAt++]!;
          deleteTo = cut.seq;
        } else {
          const pending = tail[tailStart++]!;
          cut = { seq: pending.seq, bytes: pending.line.bytes };
        }
        s.tail_bytes -= cut.bytes;
        s.cut_lines++;
        s.cut_bytes += cut.bytes;
        s.cut_to = cut.seq;
        s.cut_at = at.now;
      }
    }
    if (deleteTo > 0) st.logTailCut.run(taskSeq, token, floor, deleteTo);
    const row = (entry: { seq: number; line: CheckedLogLine }): void => {
      const { line } = entry;
      values.push(
        entry.seq,
        this.#ns,
        taskSeq,
        token,
        attempt,
        agentId,
        line.stream,
        levelRank(line.level),
        at.now,
        line.bytes,
        line.text,
      );
    };
    for (const entry of head) row(entry);
    for (let i = tailStart; i < tail.length; i++) row(tail[i]!);
    // A claim whose few lines all fit the head needs no row: the next append counts them.
    if (s.head_full === 0 && s.head_lines <= STATELESS_HEAD_LINES && claim.lines === null)
      return seq;
    st.logStateSave.run(
      taskSeq,
      token,
      attempt,
      agentId,
      s.lines,
      s.head_lines,
      s.head_bytes,
      s.head_full,
      s.tail_bytes,
      s.tail_after,
      s.cut_lines,
      s.cut_bytes,
      s.cut_to,
      s.cut_at,
    );
    return seq;
  }

  /** A page of the log of the task stored as `taskSeq` (see Backend.readLogs). */
  read(taskSeq: number, options: ReadLogsOptions & { limit: number }): LogPage {
    const { taskId, limit } = options;
    const after = options.after ?? 0;
    const attempt = options.attempt ?? null;
    const rows = this.#st.logsOfTask.all(
      taskSeq,
      after,
      attempt,
      options.stream ?? null,
      limit,
    ) as unknown as LineRow[];
    const cuts = (
      this.#st.logCutsOfTask.all(taskSeq, after, attempt) as unknown as (Pick<
        LogState,
        'head_lines' | 'cut_lines' | 'cut_bytes' | 'cut_to' | 'cut_at'
      > & { attempt: number; agent_id: string })[]
    ).map((c): CutFound => ({
      taskId,
      attempt: c.attempt,
      agentId: c.agent_id,
      headLines: c.head_lines,
      cutLines: c.cut_lines,
      cutBytes: c.cut_bytes,
      cutTo: c.cut_to ?? 0,
      cutAt: c.cut_at ?? 0,
    }));
    return logPage(
      rows.map((row) => toLine(row, taskId)),
      cuts,
      { after, limit, complete: rows.length < limit },
    );
  }

  /** A page of log lines across tasks (see Backend.readAgentLogs). */
  readAgent(options: ReadAgentLogsOptions & { limit: number }): LogPage {
    const after = options.after ?? 0;
    const { limit } = options;
    const level = options.level === undefined ? 0 : levelRank(options.level);
    const since = options.since ?? 0;
    const until = options.until ?? Number.MAX_SAFE_INTEGER;
    const rows = (options.agentId === undefined
      ? this.#st.logsOfNamespace.all(this.#ns, after, level, since, until, limit)
      : this.#st.logsOfAgent.all(
          this.#ns,
          options.agentId,
          after,
          level,
          since,
          until,
          limit,
        )) as unknown as LineRow[];
    const lines = rows.map((row) => toLine(row, row.task_id ?? ''));
    return {
      lines,
      cursor: lines.at(-1)?.seq ?? after,
      more: rows.length === limit,
    };
  }
}

function toLine(row: LineRow, taskId: string): LogLine {
  return {
    seq: row.seq,
    taskId,
    attempt: row.attempt,
    agentId: row.agent_id,
    stream: streamOf(row.stream),
    level: levelOfRank(row.level),
    at: row.at,
    text: row.text,
  };
}
