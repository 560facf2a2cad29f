/**
 * Coalesces the settle calls a worker makes in one tick into one backend call per kind, so a
 * burst of finishing handlers costs one `complete([...])`, one `fail([...])` and one
 * `release([...])` (handlers that deferred) round trip (DESIGN.md, "Performance shape": claim
 * and complete in batches).
 */
import type {
  Backend,
  CarriedLogs,
  CompleteInput,
  FailInput,
  ReleaseInput,
  SettleOutcome,
} from '../backends/backend.ts';
import { LOG_LIMITS } from '../core/logs.ts';

interface Pending<T> {
  input: T;
  resolve: (outcome: SettleOutcome) => void;
  reject: (error: unknown) => void;
}

export class SettleBatcher {
  readonly #backend: Backend;
  #completes: Pending<CompleteInput>[] = [];
  #fails: Pending<FailInput>[] = [];
  #releases: Pending<ReleaseInput>[] = [];
  #scheduled = false;
  /** Waiting for the scheduled batch to be sent (`whenSent`). */
  #sentWaiters: (() => void)[] = [];
  /** Flushes not yet answered; `drain()` waits for them. */
  readonly #flushing = new Set<Promise<void>>();

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  complete(input: CompleteInput): Promise<SettleOutcome> {
    return new Promise((resolve, reject) => {
      this.#completes.push({ input, resolve, reject });
      this.#schedule();
    });
  }

  fail(input: FailInput): Promise<SettleOutcome> {
    return new Promise((resolve, reject) => {
      this.#fails.push({ input, resolve, reject });
      this.#schedule();
    });
  }

  /** Give a lease back without counting its attempt (a handler that deferred). */
  release(input: ReleaseInput): Promise<SettleOutcome> {
    return new Promise((resolve, reject) => {
      this.#releases.push({ input, resolve, reject });
      this.#schedule();
    });
  }

  /** True while settles are queued and not yet handed to the backend. */
  get pending(): boolean {
    return this.#scheduled;
  }

  /**
   * Resolves once every settle queued so far has been handed to the backend (not answered): a
   * call made after that reaches the store after them. The worker sends its next claim then, so
   * the store records a slot's outcome before it leases that slot's next task.
   */
  whenSent(): Promise<void> {
    if (!this.#scheduled) return Promise.resolve();
    return new Promise((resolve) => this.#sentWaiters.push(resolve));
  }

  /** Resolves once every settle queued so far has its answer. */
  async drain(): Promise<void> {
    while (this.#scheduled || this.#flushing.size > 0) {
      if (this.#scheduled) await new Promise<void>((resolve) => setImmediate(resolve));
      await Promise.all(this.#flushing);
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate rather than a microtask: handlers that finish on the same turn of the event
    // loop (e.g. several timers firing together) land in the same batch.
    setImmediate(() => {
      this.#scheduled = false;
      const completes = this.#completes;
      const fails = this.#fails;
      const releases = this.#releases;
      this.#completes = [];
      this.#fails = [];
      this.#releases = [];
      const flush = Promise.all([
        ...byLogBudget(completes).map((batch) =>
          settleBatch(batch, (items) => this.#backend.complete(items)),
        ),
        ...byLogBudget(fails).map((batch) =>
          settleBatch(batch, (items) => this.#backend.fail(items)),
        ),
        ...byLogBudget(releases).map((batch) =>
          settleBatch(batch, (items) => this.#backend.release(items)),
        ),
      ]).then(() => undefined);
      this.#flushing.add(flush);
      void flush.finally(() => this.#flushing.delete(flush));
      const sent = this.#sentWaiters;
      this.#sentWaiters = [];
      for (const resolve of sent) resolve();
    });
  }
}

/**
 * The items in batches whose carried log lines (CarriedLogs) stay within what one call may
 * carry (`LOG_LIMITS`): usually one batch. Empty for no items.
 */
function byLogBudget<T extends CarriedLogs>(pending: Pending<T>[]): Pending<T>[][] {
  if (pending.length === 0) return [];
  // Usually far below the limits: count lines and UTF-16 units (3 bytes of UTF-8 at most each).
  let lines = 0;
  let units = 0;
  for (const p of pending) {
    for (const line of p.input.logs ?? []) {
      lines++;
      units += line.text.length;
    }
  }
  if (lines <= LOG_LIMITS.maxLinesPerCall && units * 3 <= LOG_LIMITS.maxBytesPerCall) {
    return [pending];
  }
  const batches: Pending<T>[][] = [[]];
  lines = 0;
  let bytes = 0;
  for (const p of pending) {
    const logs = p.input.logs ?? [];
    let size = 0;
    for (const line of logs) size += Buffer.byteLength(line.text);
    const batch = batches.at(-1)!;
    if (
      batch.length > 0 &&
      (lines + logs.length > LOG_LIMITS.maxLinesPerCall ||
        bytes + size > LOG_LIMITS.maxBytesPerCall)
    ) {
      batches.push([p]);
      lines = logs.length;
      bytes = size;
    } else {
      batch.push(p);
      lines += logs.length;
      bytes += size;
    }
  }
  return batches;
}

/**
 * One call for the whole batch; each caller gets the answer for its own item. If the batch call
 * itself throws (one item's result is too large, say), retry item by item so that one bad item
 * does not sink the others, and each caller sees its own error.
 */
async function settleBatch<T extends { taskId: string }>(
  pending: Pending<T>[],
  call: (items: T[]) => Promise<SettleOutcome[]>,
): Promise<void> {
  let outcomes: SettleOutcome[];
  try {
    outcomes = await call(pending.map((p) => p.input));
  } catch (error) {
    if (pending.length === 1) {
      pending[0]?.reject(error);
      return;
    }
    await Promise.all(pending.map((p) => settleBatch([p], call)));
    return;
  }
  pending.forEach((p, index) => {
    const answer = outcomes[index];
    // Answers come in input order; fall back to matching by task id if an adapter reorders.
    const outcome =
      answer?.taskId === p.input.taskId
        ? answer
        : outcomes.find((o) => o.taskId === p.input.taskId);
    p.resolve(
      outcome ?? {
        taskId: p.input.taskId,
        status: 'lease_lost',
        reason: 'the backend gave no answer for this task',
      },
    );
  });
}
