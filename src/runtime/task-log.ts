/**
 * The log of one attempt as its handler writes it (docs/logs.md): `ctx.log(...)` at a level, or a
 * program's output through `ctx.log.write(stream, chunk)` (the shell executor). Lines wait here
 * until the worker's {@link LogBatcher} sends them, a few at a time while the attempt runs, or
 * the call that settles the attempt carries the rest, so a reader that sees the task finished has
 * every line of it.
 */
import { StringDecoder } from 'node:string_decoder';
import { formatWithOptions } from 'node:util';
import type { LogAppend, LogLineInput } from '../backends/backend.ts';
import { LOG_LIMITS, type LogLevel } from '../core/logs.ts';

/** The streams of a program's output. */
export type OutputStream = 'stdout' | 'stderr';

/**
 * What a handler writes to its attempt's log: `ctx.log('text')` (level `info`), `ctx.log.warn(…)`
 * and the other levels, with arguments formatted as `console.log` does; and a program's output.
 *
 * @example
 * ctx.log('cloning', repo);
 * ctx.log.warn({ retries }, 'flaky network');
 * ctx.log.error(error); // its stack, one line per line
 */
export interface TaskLog {
  (...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  /**
   * A chunk of a program's output: split into lines (a partial last line waits for the rest, or
   * for the attempt's end), each tagged with its stream; `stdout` lines at level `info`,
   * `stderr` lines at `error` (as Cloud Logging reads a container's streams).
   */
  write(stream: OutputStream, chunk: string | Uint8Array): void;
}

/** Lines this worker holds for one attempt that are not sent yet, and how to send them. */
export class AttemptLog {
  readonly ref: Omit<LogAppend, 'lines'>;
  /** Lines waiting to be sent, in the order written. */
  #pending: LogLineInput[] = [];
  /** Their size in UTF-16 units (a bound's measure: at most 3 bytes of UTF-8 each). */
  #pendingBytes = 0;
  /** Lines dropped because the store did not take them fast enough (see {@link MAX_PENDING_BYTES}). */
  #dropped = 0;
  /** Partial last lines of a program's streams (made on its first output). */
  #partial: Map<OutputStream, { decoder: StringDecoder; text: string }> | undefined;
  readonly #onWrite: (log: AttemptLog) => void;
  /** The append under way that carries lines of this attempt, if any. */
  sending: Promise<void> | undefined;
  #api: TaskLog | undefined;

  constructor(ref: Omit<LogAppend, 'lines'>, onWrite: (log: AttemptLog) => void) {
    this.ref = ref;
    this.#onWrite = onWrite;
  }

  /** The `ctx.log` a handler gets. */
  get api(): TaskLog {
    if (this.#api) return this.#api;
    // Made once per attempt that logs, so kept small: the six functions share one scope.
    const info = (...args: unknown[]): void => this.#message('info', args);
    const api = info as TaskLog;
    api.debug = (...args) => this.#message('debug', args);
    api.info = info;
    api.warn = (...args) => this.#message('warn', args);
    api.error = (...args) => this.#message('error', args);
    api.write = (stream, chunk) => this.#output(stream, chunk);
    this.#api = api;
    return api;
  }

  get hasPending(): boolean {
    return this.#pending.length > 0 || this.#dropped > 0;
  }

  /** End every partial line (the program exited, or the attempt is settling). */
  endPartial(): void {
    if (this.#partial === undefined) return;
    for (const [stream, part] of this.#partial) {
      const rest = part.text + part.decoder.end();
      part.text = '';
      if (rest !== '') this.#push({ text: rest, stream, level: levelOf(stream) });
    }
  }

  /**
   * Take up to `maxLines` lines and `maxBytes` bytes of the pending lines, oldest first (always
   * at least one when there is one).
   */
  take(
    maxLines: number = LOG_LIMITS.maxLinesPerCall,
    maxBytes: number = LOG_LIMITS.maxBytesPerCall,
  ): LogLineInput[] {
    if (this.#dropped > 0) {
      this.#pending.unshift({
        text: `[baton] ${this.#dropped} lines of this attempt were dropped by its worker: the store did not take them fast enough`,
        stream: 'log',
        level: 'warn',
      });
      this.#dropped = 0;
    }
    const pending = this.#pending;
    // Everything, when it surely fits (a UTF-16 unit is at most 3 bytes of UTF-8): the usual case.
    if (pending.length <= maxLines && this.#pendingBytes * 3 <= maxBytes) {
      this.#pending = [];
      this.#pendingBytes = 0;
      return pending;
    }
    let count = 0;
    let bytes = 0;
    let units = 0;
    while (count < pending.length && count < maxLines) {
      const text = pending[count]!.text;
      const size = Buffer.byteLength(text);
      if (count > 0 && bytes + size > maxBytes) break;
      bytes += size;
      units += text.length;
      count++;
    }
    this.#pending = pending.slice(count);
    this.#pendingBytes = Math.max(0, this.#pendingBytes - units);
    return count === pending.length ? pending : pending.slice(0, count);
  }

  /** Put lines back at the front (their append failed: they go with the next one). */
  putBack(lines: LogLineInput[]): void {
    if (lines.length === 0) return;
    this.#pending = lines.concat(this.#pending);
    for (const line of lines) this.#pendingBytes += line.text.length;
    this.#trim();
  }

  #message(level: LogLevel, args: unknown[]): void {
    const first = args[0];
    // One string without a format directive is printed as it is: the usual case, made cheap.
    const text =
      args.length === 1 && typeof first === 'string' && !first.includes('%')
        ? first
        : formatWithOptions({ colors: false, breakLength: Infinity }, ...args);
    if (!text.includes('\n')) {
      this.#push({ text, stream: 'log', level });
      return;
    }
    for (const line of text.split(/\r?\n/)) this.#push({ text: line, stream: 'log', level });
  }

  #output(stream: OutputStream, chunk: string | Uint8Array): void {
    this.#partial ??= new Map();
    let part = this.#partial.get(stream);
    if (!part) this.#partial.set(stream, (part = { decoder: new StringDecoder('utf8'), text: '' }));
    const text = part.text + (typeof chunk === 'string' ? chunk : part.decoder.write(chunk));
    const lines = text.split('\n');
    part.text = lines.pop() ?? '';
    for (const line of lines) {
      this.#push({
        text: line.endsWith('\r') ? line.slice(0, -1) : line,
        stream,
        level: levelOf(stream),
      });
    }
    // A line that never ends (a progress bar redrawn with \r) is sent in pieces, not held forever.
    if (Buffer.byteLength(part.text) >= LOG_LIMITS.maxLineBytes) {
      const long = part.text;
      part.text = '';
      this.#push({ text: long, stream, level: levelOf(stream) });
    }
  }

  /** Queue a line, split into pieces that fit `LOG_LIMITS.maxLineBytes` with their newline. */
  #push(line: Required<LogLineInput>): void {
    if (line.text.length * 3 < LOG_LIMITS.maxLineBytes) {
      this.#pending.push(line);
      this.#pendingBytes += line.text.length;
    } else {
      for (const text of splitLine(line.text, LOG_LIMITS.maxLineBytes - 1)) {
        this.#pending.push(text === line.text ? line : { ...line, text });
        this.#pendingBytes += text.length;
      }
    }
    if (this.#pendingBytes > MAX_PENDING_BYTES) this.#trim();
    this.#onWrite(this);
  }

  /** Keep what waits within {@link MAX_PENDING_BYTES}: the oldest lines go, and are counted. */
  #trim(): void {
    while (this.#pendingBytes > MAX_PENDING_BYTES && this.#pending.length > 1) {
      const line = this.#pending.shift()!;
      this.#pendingBytes -= line.text.length;
      this.#dropped++;
    }
  }
}

/**
 * The most text (in UTF-16 units) an attempt holds unsent: a store that is down must not make a
 * chatty program's worker run out of memory. The store keeps far less of an attempt anyway.
 */
const MAX_PENDING_BYTES = 2 * LOG_LIMITS.maxBytesPerCall;

function levelOf(stream: OutputStream): LogLevel {
  return stream === 'stderr' ? 'error' : 'info';
}

/** `text` in pieces of at most `maxBytes` of UTF-8, never splitting a character. */
export function splitLine(text: string, maxBytes: number): string[] {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return [text];
  const pieces: string[] = [];
  let rest = Buffer.from(text, 'utf8');
  while (rest.length > maxBytes) {
    let end = maxBytes;
    // Back up to the start of a character (continuation bytes are 0b10xxxxxx).
    while (end > 0 && (rest[end]! & 0xc0) === 0x80) end--;
    pieces.push(rest.subarray(0, end).toString('utf8'));
    rest = rest.subarray(end);
  }
  if (rest.length > 0) pieces.push(rest.toString('utf8'));
  return pieces;
}
