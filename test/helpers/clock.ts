/**
 * A clock the test moves by hand. Backends take `clock: () => number` and must make every
 * time decision (lease expiry, backoff, runAfter, agent TTL, timestamps) with it, so tests move
 * time instead of sleeping and never depend on how fast the machine is.
 */
export class ManualClock {
  #now: number;

  /** @param start epoch ms the clock starts at. @default 1_700_000_000_000 (a fixed, realistic date) */
  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  /** The current time in epoch ms. Pass `clock.now` (it is bound) where a `() => number` is wanted. */
  readonly now = (): number => this.#now;

  /** Move forward by `ms` (≥ 0) and return the new time. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(
        `ManualClock.advance(${ms}): ms must be a finite number ≥ 0; time does not run backwards`,
      );
    }
    this.#now += ms;
    return this.#now;
  }

  /** Jump to an absolute time in epoch ms and return it. */
  set(ms: number): number {
    if (!Number.isFinite(ms))
      throw new RangeError(`ManualClock.set(${ms}): ms must be a finite number`);
    this.#now = ms;
    return this.#now;
  }
}
