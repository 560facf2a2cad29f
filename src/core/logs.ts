/**
 * Task logs (docs/logs.md): every attempt of a task has a log, the lines its handler writes. A
 * shell task's lines are its stdout and stderr, each tagged with its stream; an SDK handler writes
 * lines with `ctx.log` at a level. Lines are stored as they arrive, numbered by a cursor (`seq`)
 * that only grows, so a reader can follow a running task from where it stopped.
 *
 * A log is bounded per attempt: the store keeps the first {@link LogBounds.headBytes} and the
 * last {@link LogBounds.tailBytes} of it, and a reader sees one `cut` marker line in place of
 * what was dropped in between. This module is the pure part: the words, the limits and the
 * marker's wording; each backend applies the bounds in its own transaction or script.
 */

import { formatBytes } from './scaling.ts';

/** How much a line matters, least first. A reader filtering by level keeps that level and above. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Where a line came from: a program's standard output or error (the shell executor), or a
 * handler's own `ctx.log` call.
 */
export const LOG_STREAMS = ['stdout', 'stderr', 'log'] as const;
export type LogStream = (typeof LOG_STREAMS)[number];

/** The rank of a level: 0 for `debug` to 3 for `error` (what stores compare). */
export function levelRank(level: LogLevel): number {
  return LOG_LEVELS.indexOf(level);
}

/**
 * How much of each attempt's log a store keeps: its first `headBytes` and its last `tailBytes`,
 * bytes of output (each line counts its UTF-8 text plus one, for its newline). A line that does not fit in the head ends it: every later
 * line goes to the tail, and when the tail grows past `tailBytes` its oldest lines are dropped
 * (and counted, for the `cut` marker). So an attempt keeps at most `headBytes + tailBytes`.
 */
export interface LogBounds {
  /** Bytes kept from the start of each attempt's log (0: none). @default 65536 (64 KiB) */
  headBytes: number;
  /**
   * Bytes kept from the end of each attempt's log; at least {@link LOG_LIMITS.maxLineBytes}, so
   * the newest line always fits. @default 262144 (256 KiB)
   */
  tailBytes: number;
}

export const DEFAULT_LOG_BOUNDS: Readonly<LogBounds> = {
  headBytes: 64 * 1024,
  tailBytes: 256 * 1024,
};

export const LOG_LIMITS = {
  /**
   * The largest line, in bytes: its UTF-8 text plus one for its newline (so at most 65535 bytes
   * of text). A worker splits longer text into several lines; the store refuses a longer one.
   */
  maxLineBytes: 64 * 1024,
  /** Lines in one `appendLogs` call, and carried by one settle call. */
  maxLinesPerCall: 10_000,
  /** Bytes of the lines of one `appendLogs` call (or of one settle call's lines). */
  maxBytesPerCall: 4 * 1024 * 1024,
  /** Largest `headBytes` or `tailBytes`. */
  maxBoundBytes: 256 * 1024 * 1024,
} as const;

/** Where a `cut` marker line says lines were dropped: the lines of the attempt, 1-based. */
export interface LogCut {
  /** The first line cut (its number among the attempt's lines, from 1). */
  fromLine: number;
  /** The last line cut. */
  toLine: number;
  /** Bytes of text cut. */
  bytes: number;
}

/** One line of a task's log, as read back. */
export interface LogLine {
  /**
   * The cursor: grows with every line a namespace stores, across tasks and attempts. Pass the
   * last one seen as `after` to read on from there. A `cut` marker takes the seq of the last line
   * it stands for.
   */
  seq: number;
  taskId: string;
  /** The attempt that wrote it, 1-based. */
  attempt: number;
  /** The agent that ran the attempt. */
  agentId: string;
  /** Where it came from; `cut` for the marker that stands for lines dropped by the bounds. */
  stream: LogStream | 'cut';
  level: LogLevel;
  /** When the store received it (its clock), within the worker's batching window of when it was written. */
  at: number;
  text: string;
  /** On a `cut` marker only: which lines of the attempt were dropped. */
  cut?: LogCut;
}

/** A page of log lines. */
export interface LogPage {
  /** In `seq` order. */
  lines: LogLine[];
  /**
   * Where this read got to: pass it as `after` to read on. The `seq` of the last line returned,
   * or further when lines after it were looked at and left out (a filter); `after` (or 0) when
   * nothing new was found.
   */
  cursor: number;
  /** More lines may be stored after `cursor` already: read again at once rather than wait. */
  more: boolean;
}

/** The text of a `cut` marker line: which lines of which attempt were dropped, and why. */
export function cutMarkerText(attempt: number, cut: LogCut): string {
  const lines =
    cut.fromLine === cut.toLine
      ? `line ${cut.fromLine}`
      : `lines ${cut.fromLine}–${cut.toLine} (${cut.toLine - cut.fromLine + 1} lines)`;
  return `[baton] ${lines} of attempt ${attempt}, ${formatBytes(cut.bytes)}, were cut: a task's log keeps the start and the end of each attempt`;
}
