/**
 * Task priority: a lower number runs first. Names are aliases for the numbers 1..4, so plan files
 * can say `priority: high` and the store only ever sees integers.
 */
import { ValidationError } from './errors.ts';
import { describeValue, didYouMean } from './text.ts';
import type { PriorityName } from './types.ts';

/** The names a producer may use instead of a number. */
export const PRIORITY_NAMES: Record<PriorityName, number> = {
  critical: 1,
  high: 2,
  medium: 3,
  low: 4,
};

/** The priority of a task that does not set one (`medium`). */
export const DEFAULT_PRIORITY = 3;

/**
 * Why `p` is not a valid priority, or `null` when it is. Shared by {@link parsePriority} and the
 * task validator, which reports the message under its own path (`tasks[2].priority`).
 */
export function priorityProblem(p: unknown): string | null {
  if (p === undefined) return null;
  if (typeof p === 'number') {
    if (Number.isSafeInteger(p)) return null;
    return `must be an integer (lower runs first) or one of ${priorityNameList()}; got ${String(p)}`;
  }
  if (typeof p === 'string') {
    if (lookupName(p) !== undefined) return null;
    return `unknown priority '${p}'${didYouMean(p.trim().toLowerCase(), Object.keys(PRIORITY_NAMES))}: use one of ${priorityNameList()} or an integer (lower runs first)`;
  }
  return `must be an integer (lower runs first) or one of ${priorityNameList()}; got ${describeValue(p)}`;
}

/**
 * Turn a priority as a producer wrote it into the number the store orders by.
 * Names are matched case-insensitively (`High` is `high`); `undefined` gives {@link DEFAULT_PRIORITY}.
 *
 * @throws ValidationError for unknown names and non-integer numbers.
 * @example parsePriority('critical') // 1
 */
export function parsePriority(p: number | PriorityName | undefined): number {
  const problem = priorityProblem(p);
  if (problem !== null) throw new ValidationError([{ path: 'priority', message: problem }]);
  if (p === undefined) return DEFAULT_PRIORITY;
  if (typeof p === 'number') return p;
  // priorityProblem accepted the string, so the lookup succeeds.
  return lookupName(p) ?? DEFAULT_PRIORITY;
}

/** The fields the ready-queue order looks at. */
export interface ReadyOrderKey {
  priority: number;
  /** Tasks on the longest downstream path, itself included. */
  criticalPath: number;
  /** Submission order; lower was submitted first. */
  seq: number;
}

/**
 * The order in which ready tasks are handed to agents (DESIGN.md, "Guarantees"): lower priority
 * number first, then the longer critical path (it bounds how soon the whole run can finish),
 * then FIFO. A comparator for `Array.prototype.sort`.
 */
export function compareReady(a: ReadyOrderKey, b: ReadyOrderKey): number {
  if (a.priority !== b.priority) return a.priority < b.priority ? -1 : 1;
  if (a.criticalPath !== b.criticalPath) return a.criticalPath > b.criticalPath ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

function lookupName(name: string): number | undefined {
  const normalized = name.trim().toLowerCase();
  return Object.hasOwn(PRIORITY_NAMES, normalized)
    ? PRIORITY_NAMES[normalized as PriorityName]
    : undefined;
}

function priorityNameList(): string {
  return Object.entries(PRIORITY_NAMES)
    .map(([name, n]) => `${name} (${n})`)
    .join(', ');
}
