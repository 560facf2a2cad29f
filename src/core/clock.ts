/**
 * The store's clock. Every transition is stamped with one time, read where the transition is
 * applied (inside the SQLite write transaction once the write lock is held; inside the Redis
 * script, from the server's clock), so that times follow the order in which transitions are
 * applied: a dependency's `finishedAt` is never after its dependent's `startedAt`, an attempt
 * never ends before it started, and a task is never claimed before it became ready.
 *
 * A clock can still step back (an NTP correction, a VM resumed). So that a small step does not
 * reorder what is recorded, a namespace's clock does not go back: a transition is stamped no
 * earlier than the latest time its namespace already recorded, while the clock is less than
 * {@link CLOCK_HOLD_MS} behind it. Until the clock catches up, time stands still for the store,
 * which is what the times it recorded before the step already imply (a lease stamped ahead
 * expires that much later). A clock that stepped back further is followed at once: holding time
 * still that long would stop lease expiry and every other timer of the store.
 */

/**
 * How far behind the latest recorded time a clock may be and still be held to it, in ms. The
 * Redis scripts hold to the same value (`lua/includes/common.lua`, `CLOCK_HOLD_MS`).
 */
export const CLOCK_HOLD_MS = 5_000;

/**
 * The time to stamp a transition with: the clock's `now`, or the namespace's latest recorded
 * time `last` when the clock is behind it by at most {@link CLOCK_HOLD_MS}.
 *
 * @param last the latest time the namespace recorded, or null when it recorded none.
 */
export function storeTime(now: number, last: number | null): number {
  return last !== null && last > now && last - now <= CLOCK_HOLD_MS ? last : now;
}
