/**
 * Waking waiters (`waitForWork`, blocking `readEvents`) without a busy loop.
 *
 * - Commits made in this process wake the waiters they concern at once, synchronously after the
 *   commit: a worker waiting in the same process starts a new task well under a millisecond
 *   after it was submitted.
 * - Commits made by other processes are noticed by polling `PRAGMA data_version` (it changes
 *   whenever another connection commits; reading it costs microseconds), only while something
 *   waits. A waiter passes the version it read before it looked (`version()`), so a commit that
 *   lands between its look and its wait still wakes it.
 * - A delayed task becoming due wakes the work waiters at its `runAfter`, by a timer for a real
 *   clock, and by the poll comparing `clock()` for an injected one.
 */

/** What a waiting worker takes: tasks it has the capabilities for, of the types it handles. */
export interface WorkFilter {
  /** Tasks whose `requires` are all among these. */
  capabilities: readonly string[];
  /** Tasks whose `type` is among these; undefined: any type. */
  types: readonly string[] | undefined;
}

/** What the waiters ask the store. */
export interface WakeupProbe {
  /** Whether a ready task exists now that a worker with this filter takes. */
  hasReadyWork(filter: WorkFilter): boolean;
  /** Whether a worker with this filter takes the tasks of this queue (type, requires set). */
  takes(filter: WorkFilter, queue: number): boolean;
  /** The earliest `runAfter` among delayed tasks, or null. */
  nextDue(): number | null;
  /** `PRAGMA data_version` of this connection. */
  dataVersion(): number;
  clock(): number;
}

/** The longest delay a Node timer can wait; longer ones would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** A timer for a wait's timeout; none for an infinite one (it ends by wake-up or abort). */
function timeoutTimer(timeoutMs: number, fire: () => void): NodeJS.Timeout | undefined {
  if (Number.isNaN(timeoutMs) || timeoutMs <= 0) return setTimeout(fire, 0);
  if (timeoutMs > MAX_TIMER_MS) return undefined;
  return setTimeout(fire, timeoutMs);
}

interface WorkWaiter {
  filter: WorkFilter;
  /** Its agent left the ready tasks to peers (routing): any commit may change that. */
  deferring: boolean;
  dueAt: number | null;
  dueTimer: NodeJS.Timeout | undefined;
  wake: () => void;
}

export class Wakeups {
  readonly #probe: WakeupProbe;
  readonly #pollMs: number;
  readonly #work = new Set<WorkWaiter>();
  readonly #events = new Set<() => void>();
  #poll: NodeJS.Timeout | undefined;
  #version = 0;

  constructor(probe: WakeupProbe, pollMs: number) {
    this.#probe = probe;
    this.#pollMs = pollMs;
  }

  /**
   * Wait until work this `filter` takes may be there, the timeout, or the abort. The caller has
   * checked that no work is ready right now (`dueAt` is the earliest delayed task, if any), or,
   * when `deferring`, that the ready work is left to other agents until `dueAt`: then any commit
   * (in this process or another) wakes the waiter too, since it may have changed who should
   * take that work.
   */
  waitForWork(
    seen: number,
    filter: WorkFilter,
    dueAt: number | null,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    deferring = false,
  ): Promise<void> {
    return new Promise((resolve) => {
      const waiter: WorkWaiter = {
        filter,
        deferring,
        dueAt: null,
        dueTimer: undefined,
        wake: () => {
          if (!this.#work.delete(waiter)) return;
          clearTimeout(timer);
          clearTimeout(waiter.dueTimer);
          signal?.removeEventListener('abort', waiter.wake);
          this.#stopPollIfIdle();
          resolve();
        },
      };
      const timer = timeoutTimer(timeoutMs, waiter.wake);
      signal?.addEventListener('abort', waiter.wake, { once: true });
      this.#work.add(waiter);
      this.#dueAt(waiter, dueAt);
      this.#startPoll(seen);
    });
  }

  /** Wait until an event may have been written, the timeout, or the abort. */
  waitForEvents(seen: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        if (!this.#events.delete(wake)) return;
        clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        this.#stopPollIfIdle();
        resolve();
      };
      const timer = timeoutTimer(timeoutMs, wake);
      signal?.addEventListener('abort', wake, { once: true });
      this.#events.add(wake);
      this.#startPoll(seen);
    });
  }

  /**
   * A commit in this process made tasks of `readyQueues` ready and/or scheduled a delayed task
   * at `earliestDelayed`. Only the waiters that take one of those queues wake.
   */
  workChanged(readyQueues: ReadonlySet<number>, earliestDelayed: number | null): void {
    for (const waiter of [...this.#work]) {
      let wake = false;
      for (const queue of readyQueues) {
        if (this.#probe.takes(waiter.filter, queue)) {
          wake = true;
          break;
        }
      }
      if (wake) waiter.wake();
      else if (
        earliestDelayed !== null &&
        (waiter.dueAt === null || earliestDelayed < waiter.dueAt)
      ) {
        this.#dueAt(waiter, earliestDelayed);
      }
    }
  }

  /** A commit in this process wrote events. */
  eventsWritten(): void {
    for (const wake of [...this.#events]) wake();
    for (const waiter of [...this.#work]) if (waiter.deferring) waiter.wake();
  }

  get waiting(): boolean {
    return this.#work.size > 0 || this.#events.size > 0;
  }

  /** Wake everything (the backend is closing). */
  close(): void {
    for (const waiter of [...this.#work]) waiter.wake();
    for (const wake of [...this.#events]) wake();
    clearInterval(this.#poll);
    this.#poll = undefined;
  }

  #dueAt(waiter: WorkWaiter, dueAt: number | null): void {
    waiter.dueAt = dueAt;
    clearTimeout(waiter.dueTimer);
    waiter.dueTimer = undefined;
    if (dueAt === null) return;
    const delay = dueAt - this.#probe.clock();
    if (delay <= 0) {
      waiter.wake();
      return;
    }
    // Past the largest timer delay, the poll's clock check covers it.
    if (delay <= MAX_TIMER_MS) waiter.dueTimer = setTimeout(waiter.wake, delay);
  }

  /**
   * The database's version as this connection sees it. A waiter reads it before it looks at the
   * store and passes it to its wait: any other connection's commit after that wakes it.
   */
  version(): number {
    return this.#probe.dataVersion();
  }

  /**
   * Poll while something waits. A running poll compares with its last tick, which is no later
   * than the new waiter's look (a commit in between wakes it once more than needed); a new one
   * starts from what the waiter saw, not from now, or a commit between its look and this call
   * would go unnoticed until the wait's timeout.
   */
  #startPoll(seen: number): void {
    if (this.#poll) return;
    this.#version = seen;
    this.#poll = setInterval(() => this.#tick(), this.#pollMs);
    // A pending wait keeps the process alive through its own timeout timer, not the poll.
    this.#poll.unref();
  }

  #stopPollIfIdle(): void {
    if (this.#poll && !this.waiting) {
      clearInterval(this.#poll);
      this.#poll = undefined;
    }
  }

  #tick(): void {
    let foreignCommit = false;
    try {
      const version = this.#probe.dataVersion();
      foreignCommit = version !== this.#version;
      this.#version = version;
    } catch {
      // The database was closed under us; close() wakes everyone.
      return;
    }
    if (foreignCommit) {
      for (const wake of [...this.#events]) wake();
      if (this.#work.size > 0) {
        const due = this.#probe.nextDue();
        for (const waiter of [...this.#work]) {
          if (this.#probe.hasReadyWork(waiter.filter)) waiter.wake();
          else this.#dueAt(waiter, due);
        }
      }
    }
    const now = this.#probe.clock();
    for (const waiter of [...this.#work]) {
      if (waiter.dueAt !== null && waiter.dueAt <= now) waiter.wake();
    }
  }
}
