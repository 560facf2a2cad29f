/**
 * What every adapter shares about task logs (docs/logs.md), decided and worded once: why an
 * append was refused, how a `cut` marker reads, and how a page of lines and markers is cut to
 * its limit. An adapter finds the lines and what its bounds cut in its own store; these turn
 * what it found into the same answer on every backend.
 */
import {
  LOG_LEVELS,
  cutMarkerText,
  type LogLevel,
  type LogLine,
  type LogPage,
  type LogStream,
} from '../core/logs.ts';
import type { HeldLeaseRef, LogAppendOutcome } from './backend.ts';

/** The level of a stored rank (0 debug … 3 error); an unknown rank reads as `info`. */
export function levelOfRank(rank: number): LogLevel {
  return LOG_LEVELS[rank] ?? 'info';
}

/**
 * The answer for an append whose lines were not stored: no such task (`task`), no attempt of it
 * with that token (`attempt`), or an attempt another agent ran (`agent`).
 */
export function refusedLog(
  caller: HeldLeaseRef,
  why: 'task' | 'attempt' | 'agent',
  namespace: string,
): LogAppendOutcome {
  const { taskId } = caller;
  switch (why) {
    case 'task':
      return {
        taskId,
        status: 'not_found',
        reason: `task ${taskId} does not exist in namespace '${namespace}'`,
      };
    case 'attempt':
      return {
        taskId,
        status: 'not_found',
        reason: `task ${taskId} has no attempt with this lease's token: an attempt's lines are written with the lease that claimed it`,
      };
    case 'agent':
      return {
        taskId,
        status: 'refused',
        reason: `agent ${caller.agentId} did not run this attempt: only the agent that ran an attempt writes its log`,
      };
  }
}

/** What an adapter found of an attempt whose bounds cut lines: enough for its `cut` marker. */
export interface CutFound {
  taskId: string;
  attempt: number;
  agentId: string;
  /** Lines kept in the attempt's head: the cut starts at the next one. */
  headLines: number;
  /** Lines and bytes cut so far. */
  cutLines: number;
  cutBytes: number;
  /** The seq of the last line cut: where the marker stands. */
  cutTo: number;
  /** When the last line was cut (the store's clock). */
  cutAt: number;
}

/** The `cut` marker line of an attempt, as every backend returns it. */
export function cutMarker(found: CutFound): LogLine {
  const cut = {
    fromLine: found.headLines + 1,
    toLine: found.headLines + found.cutLines,
    bytes: found.cutBytes,
  };
  return {
    seq: found.cutTo,
    taskId: found.taskId,
    attempt: found.attempt,
    agentId: found.agentId,
    stream: 'cut',
    level: 'warn',
    at: found.cutAt,
    text: cutMarkerText(found.attempt, cut),
    cut,
  };
}

/** A stored line's stream, as its adapter wrote it. */
export function streamOf(value: string): LogStream {
  return value === 'stdout' || value === 'stderr' ? value : 'log';
}

/**
 * A page of a task's log from the lines an adapter read and the cuts it found after the
 * cursor. `lines` are the first `limit` lines after `after` in seq order; `complete` says there
 * are no more lines after the last of them (the read reached the end), else the read stopped
 * there (`scannedTo`: the last seq it looked at, which may be past the last line kept by a
 * filter). Markers after the read's end are left for the next page.
 */
export function logPage(
  lines: LogLine[],
  cuts: readonly CutFound[],
  options: { after: number; limit: number; complete: boolean; scannedTo?: number },
): LogPage {
  const { after, limit, complete } = options;
  const end = complete
    ? Number.POSITIVE_INFINITY
    : (options.scannedTo ?? lines.at(-1)?.seq ?? after);
  const markers = cuts.filter((c) => c.cutTo > after && c.cutTo <= end).map(cutMarker);
  let all = lines;
  if (markers.length > 0) all = [...lines, ...markers].sort((a, b) => a.seq - b.seq);
  let more = !complete;
  if (all.length > limit) {
    all = all.slice(0, limit);
    more = true;
  }
  const cursor = all.length === limit || !Number.isFinite(end) ? (all.at(-1)?.seq ?? after) : end;
  return { lines: all, cursor: Math.max(cursor, after), more };
}
