/**
 * Autoscaling decisions, pure: given the backlog a pool's workers can take and what each worker
 * is doing, say which workers to start and which to stop, and why. The pool
 * (`src/runtime/pool.ts`) gathers the numbers and carries the decisions out; an external
 * autoscaler can compute the same numbers from `Baton#stats()` with {@link eligibleDepth}.
 *
 * The rule:
 * - never fewer workers than `min`;
 * - when the eligible depth per worker exceeds `spawnThreshold`, start as many workers as it
 *   takes to bring it down to the threshold (all at once, not one per tick), up to `max`;
 *   with no worker at all, any eligible task calls for one;
 * - otherwise stop workers idle for at least `idleTimeoutMs`, idle longest first, down to
 *   `min` and never below what the backlog needs (so a stop never triggers a start on the
 *   next tick).
 */
import { ValidationError, type ValidationIssue } from './errors.ts';

/** What the pool knows about one of its workers when it decides. */
export interface ScaleWorker {
  /** The worker's agent id. */
  id: string;
  /** Since when (epoch ms) the worker has held no task, or `null` while it holds one. */
  idleSinceMs: number | null;
  /** It holds at least one task (or is still starting): never stopped for idleness. */
  busy: boolean;
}

/** The limits a pool scales within. */
export interface ScaleLimits {
  /** Fewest workers, even with nothing to do. */
  min: number;
  /** Most workers, however long the backlog. */
  max: number;
  /** Start workers when the eligible depth per worker is above this. */
  spawnThreshold: number;
  /** Stop a worker that has held no task for this long, in ms. */
  idleTimeoutMs: number;
}

export interface ScaleInput extends ScaleLimits {
  /** Ready tasks the pool's workers could claim (see {@link eligibleDepth}). */
  eligibleDepth: number;
  /** The live workers; workers already being stopped are left out. */
  workers: readonly ScaleWorker[];
  /** The current time, epoch ms. */
  now: number;
}

/** Why a worker is started or stopped; `reason` says it in words, with the numbers. */
export type ScaleDecision =
  | {
      kind: 'scale_up';
      /** `below_min`: fewer workers than `min`; `backlog`: eligible depth per worker over the threshold. */
      cause: 'below_min' | 'backlog';
      reason: string;
    }
  | {
      kind: 'scale_down';
      /** The worker to stop. */
      workerId: string;
      cause: 'idle';
      reason: string;
    };

/**
 * Ready tasks an agent with these capabilities could claim: the sum of the counts whose
 * `requires` are all among `capabilities` (the same rule `claim` applies).
 *
 * @example eligibleDepth([{ requires: [], count: 3 }, { requires: ['gpu'], count: 5 }], ['shell']) // 3
 */
export function eligibleDepth(
  readyByRequires: readonly { requires: readonly string[]; count: number }[],
  capabilities: readonly string[],
): number {
  const have = new Set(capabilities);
  let depth = 0;
  for (const group of readyByRequires) {
    if (group.requires.every((capability) => have.has(capability))) depth += group.count;
  }
  return depth;
}

/** Problems with scaling limits, as validation issues (empty when they are fine). */
export function scaleLimitIssues(limits: ScaleLimits): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const wholeAtLeast = (field: keyof ScaleLimits, least: number): boolean => {
    const value = limits[field];
    if (!Number.isSafeInteger(value) || value < least) {
      issues.push({
        path: field,
        message: `expected a whole number of ${least} or more, got ${String(value)}`,
      });
      return false;
    }
    return true;
  };
  const minOk = wholeAtLeast('min', 0);
  const maxOk = wholeAtLeast('max', 1);
  if (minOk && maxOk && limits.min > limits.max) {
    issues.push({
      path: 'min',
      message: `min (${limits.min}) is above max (${limits.max}); lower min or raise max`,
    });
  }
  if (!Number.isFinite(limits.spawnThreshold) || limits.spawnThreshold < 0) {
    issues.push({
      path: 'spawnThreshold',
      message: `expected a number of 0 or more, got ${String(limits.spawnThreshold)}`,
    });
  }
  if (!Number.isFinite(limits.idleTimeoutMs) || limits.idleTimeoutMs < 0) {
    issues.push({
      path: 'idleTimeoutMs',
      message: `expected a duration of 0 ms or more, got ${String(limits.idleTimeoutMs)}`,
    });
  }
  return issues;
}

/** @throws ValidationError naming every field that is out of range. */
export function assertScaleLimits(limits: ScaleLimits): void {
  const issues = scaleLimitIssues(limits);
  if (issues.length > 0) throw new ValidationError(issues);
}

/**
 * Workers the backlog calls for: enough that the depth per worker is at most the threshold
 * (at least one when anything is eligible), capped at `max`.
 */
export function workersWanted(
  depth: number,
  limits: Pick<ScaleLimits, 'max' | 'spawnThreshold'>,
): number {
  if (depth <= 0) return 0;
  const wanted =
    limits.spawnThreshold === 0 ? limits.max : Math.ceil(depth / limits.spawnThreshold);
  return Math.min(limits.max, Math.max(1, wanted));
}

/**
 * The decisions for one tick: scale-ups (one entry per worker to start) or scale-downs (one per
 * worker to stop), never both.
 * @throws ValidationError when the limits are out of range.
 */
export function decideScale(input: ScaleInput): ScaleDecision[] {
  assertScaleLimits(input);
  const { min, max, spawnThreshold, idleTimeoutMs, now } = input;
  const depth = Math.max(0, input.eligibleDepth);
  const current = input.workers.length;
  const decisions: ScaleDecision[] = [];

  let size = current;
  if (size < min) {
    const reason = `${plural(size, 'worker')} < min ${min}`;
    for (; size < min; size++) decisions.push({ kind: 'scale_up', cause: 'below_min', reason });
  }

  const wanted = workersWanted(depth, { max, spawnThreshold });
  const overThreshold = size === 0 ? depth > 0 : depth / size > spawnThreshold;
  if (overThreshold && wanted > size) {
    const reason =
      size === 0
        ? `eligible depth ${depth} with no worker`
        : `eligible depth ${depth} over ${plural(size, 'agent')} = ${round(depth / size)} > threshold ${spawnThreshold}`;
    for (; size < wanted; size++) decisions.push({ kind: 'scale_up', cause: 'backlog', reason });
  }
  if (decisions.length > 0) return decisions;

  // Keep what the backlog needs, so stopping a worker never calls for a new one next tick.
  const keep = Math.max(min, wanted);
  const idle = input.workers
    .filter(
      (w): w is ScaleWorker & { idleSinceMs: number } =>
        !w.busy && w.idleSinceMs !== null && now - w.idleSinceMs >= idleTimeoutMs,
    )
    .sort((a, b) => a.idleSinceMs - b.idleSinceMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const worker of idle.slice(0, Math.max(0, current - keep))) {
    decisions.push({
      kind: 'scale_down',
      workerId: worker.id,
      cause: 'idle',
      reason: `idle ${formatMs(now - worker.idleSinceMs)} >= idle timeout ${formatMs(idleTimeoutMs)}`,
    });
  }
  return decisions;
}

/** `1500` → `1.5s`, `250` → `250ms`, `60000` → `60s`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${round(ms / 1000)}s`;
}

/** Bytes in the units people set limits in: `512MB`, `1.5GB`, `800KB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'] as const;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${round(value)}${units[unit] ?? 'B'}`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
