/**
 * Sends the lines a worker's running attempts write (`task-log.ts`) to the store while they run,
 * batched: the first line waiting starts a short timer (`flushMs`), and everything written by then,
 * across every attempt, goes in one `appendLogs` call (several when over `LOG_LIMITS`). Appends
 * are sent one after the other, so an attempt's lines reach the store in the order written.
 *
 * An attempt that ends takes its last lines out of the batcher ({@link LogBatcher.detach}) and
 * the call that settles it carries them, in the same step as its outcome: a task that writes a
 * line and returns costs no call of its own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Backend, LogAppend } from '../backends/backend.ts';
import { BatonError } from '../core/errors.ts';
import { LOG_LIMITS } from '../core/logs.ts';
import type { AttemptLog } from './task-log.ts';

/** How long the first line waiting waits for others before they are sent together. */
export const DEFAULT_LOG_FLUSH_MS = 50;

/** How long lines wait before they are sent again after the store could not be reached. */
const RETRY_MS = 1000;

export class LogBatcher {
  readonly #backend: Backend;
  readonly #flushMs: number;
  readonly #log: Logger;
  /** Attempts with lines waiting to be sent. */
  readonly #waiting = new Set<AttemptLog>();
  #timer: NodeJS.Timeout | undefined;
  /** The appends, one after the other. */
  #chain: Promise<void> = Promise.resolve();
  /** Warned that the store refuses or cannot take lines (once until it takes some again). */
  #warned = false;

  constructor(backend: Backend, options: { flushMs: number; logger: Logger }) {
    this.#backend = backend;
    this.#flushMs = options.flushMs;
    this.#log = options.logger;
  }

  /** An attempt wrote a line: send it with the others within `flushMs`. */
  readonly wrote = (log: AttemptLog): void => {
    this.#waiting.add(log);
    this.#schedule(this.#flushMs);
  };

  #schedule(delayMs: number): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, delayMs);
    this.#timer.unref();
  }

  /**
   * The attempt is settling: its lines are no longer sent from here (until it writes again), and
   * this resolves once an append of its lines under way has its answer, so the settle call that
   * carries the rest reaches the store after them.
   */
  async detach(log: AttemptLog): Promise<void> {
    this.#waiting.delete(log);
    while (log.sending !== undefined) await log.sending;
  }

  /** The attempt's waiting lines are taken by the caller: no flush sends them (until it writes again). */
  forget(log: AttemptLog): void {
    this.#waiting.delete(log);
  }

  /** Send every line waiting now; resolves once they are answered. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#chain = this.#chain.then(() => this.#send());
    return this.#chain;
  }

  /**
   * Send what is waiting and wait for every append (a worker that stops). While the store cannot
   * be reached, tries again for up to `patienceMs`, then gives the lines up with a warning.
   */
  async drain(patienceMs = 5000): Promise<void> {
    const until = performance.now() + patienceMs;
    await this.flush();
    while (this.#waiting.size > 0 && performance.now() < until) {
      await sleep(Math.min(RETRY_MS, Math.max(0, until - performance.now())));
      await this.flush();
    }
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#waiting.size > 0) {
      this.#log.warn(
        { attempts: this.#waiting.size },
        'task log lines could not be stored before the worker stopped; they are lost',
      );
      this.#waiting.clear();
    }
  }

  /** Send one attempt's lines at once (lines over what one settle call may carry). */
  async sendNow(ref: Omit<LogAppend, 'lines'>, lines: LogAppend['lines']): Promise<void> {
    const send = this.#chain.then(() => this.#append([{ ...ref, lines }]));
    this.#chain = send.then(() => undefined);
    await send;
  }

  async #send(): Promise<void> {
    const logs = [...this.#waiting];
    this.#waiting.clear();
    let done!: () => void;
    const sent = new Promise<void>((resolve) => (done = resolve));
    for (const log of logs) log.sending = sent;
    try {
      let left = logs.filter((log) => log.hasPending);
      while (left.length > 0) {
        // One call's worth: whole attempts while they fit, each at least one line.
        const items: (LogAppend & { log: AttemptLog })[] = [];
        let lines = 0;
        let bytes = 0;
        for (const log of left) {
          if (lines >= LOG_LIMITS.maxLinesPerCall || bytes >= LOG_LIMITS.maxBytesPerCall) break;
          const taken = log.take(
            LOG_LIMITS.maxLinesPerCall - lines,
            LOG_LIMITS.maxBytesPerCall - bytes,
          );
          lines += taken.length;
          for (const line of taken) bytes += Buffer.byteLength(line.text);
          items.push({ ...log.ref, lines: taken, log });
        }
        const ok = await this.#append(items);
        if (!ok) {
          // The store could not be reached: the lines wait, and are sent again a little later.
          for (const item of items) item.log.putBack(item.lines);
          for (const log of left) this.#waiting.add(log);
          this.#schedule(RETRY_MS);
          return;
        }
        left = left.filter((log) => log.hasPending);
      }
    } finally {
      for (const log of logs) if (log.sending === sent) log.sending = undefined;
      done();
    }
  }

  /**
   * One `appendLogs` call. False when the store could not be reached (try again later); lines
   * the store refused, or that a bug made malformed, are dropped with a warning.
   */
  async #append(items: LogAppend[]): Promise<boolean> {
    const calls = items
      .filter((item) => item.lines.length > 0)
      .map(({ taskId, token, agentId, lines }) => ({ taskId, token, agentId, lines }));
    if (calls.length === 0) return true;
    try {
      const outcomes = await this.#backend.appendLogs(calls);
      for (const outcome of outcomes) {
        if (outcome.status !== 'ok') {
          this.#log.warn(
            { taskId: outcome.taskId, status: outcome.status, reason: outcome.reason },
            'task log lines not stored',
          );
        }
      }
      this.#warned = false;
      return true;
    } catch (error) {
      const retry = error instanceof BatonError && error.retryable;
      if (!this.#warned || !retry) {
        this.#log.warn(
          { err: error },
          retry
            ? 'task log lines could not be stored; they will be sent again'
            : 'task log lines were refused and dropped',
        );
        this.#warned = retry;
      }
      return !retry;
    }
  }
}
