/**
 * Argument parsers for commander. Each throws commander's `InvalidArgumentError`, which the
 * program reports as a usage error (exit 2) before anything touches the store.
 */
import { InvalidArgumentError } from 'commander';
import { TASK_STATES, type TaskState } from '../core/types.ts';

/** The store used when neither `--store` nor `BATON_STORE` says otherwise. */
export const FALLBACK_STORE_URL = 'sqlite:.baton/baton.db';

/** Largest pool `baton run` starts on its own when `--concurrency` is not given. */
export const MAX_DEFAULT_RUN_CONCURRENCY = 16;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A whole number ≥ 1, for `--concurrency` and `--limit`. */
export function parsePositiveInt(value: string): number {
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed)) {
    throw new InvalidArgumentError(`expected a whole number of 1 or more, got "${value}".`);
  }
  const n = Number(trimmed);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a whole number of 1 or more, got "${value}".`);
  }
  return n;
}

/** US dollars from 0 to 1,000,000, for `--budget`. */
export function parseUsd(value: string): number {
  const trimmed = value.trim().replace(/^\$/, '');
  const n = /^\d+(?:\.\d+)?$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1_000_000) {
    throw new InvalidArgumentError(
      `expected US dollars from 0 to 1000000, e.g. 0.5, got "${value}".`,
    );
  }
  return n;
}

/**
 * A duration in ms: a bare number of ms, or a number with `ms`, `s` or `m` (`500ms`, `2s`, `1.5m`).
 */
export function parseDurationMs(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(value.trim());
  if (!match) {
    throw new InvalidArgumentError(
      `expected a duration such as 500, 500ms, 2s or 1m, got "${value}".`,
    );
  }
  const amount = Number(match[1]);
  const unit = match[2] ?? 'ms';
  const ms = Math.round(amount * (unit === 'm' ? 60_000 : unit === 's' ? 1000 : 1));
  if (ms < 1) {
    throw new InvalidArgumentError(`expected a duration of at least 1 ms, got "${value}".`);
  }
  return ms;
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * A size in bytes: a bare number of bytes, or a number with `B`, `KB`, `MB`, `GB` or `TB`
 * (case-insensitive; `KiB`/`MiB`/… and `k`/`m`/`g` too). Units are powers of 1024, as memory
 * limits are usually meant (`512MB` is 512 × 1024 × 1024 bytes), like Docker's `--memory`.
 */
export function parseBytes(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = BYTE_UNITS[(match?.[2] ?? '').toLowerCase() || 'b'];
  if (!match || unit === undefined) {
    throw new InvalidArgumentError(
      `expected a size such as 512MB, 1.5GB or 800KB (units of 1024 bytes), got "${value}".`,
    );
  }
  const bytes = Math.round(Number(match[1]) * unit);
  if (bytes < 1 || !Number.isSafeInteger(bytes)) {
    throw new InvalidArgumentError(`expected a size of at least 1 byte, got "${value}".`);
  }
  return bytes;
}

/** A whole number ≥ 0, for `--min`. */
export function parseNonNegativeInt(value: string): number {
  const trimmed = value.trim();
  const n = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected a whole number of 0 or more, got "${value}".`);
  }
  return n;
}

/** One of the task states of DESIGN.md. */
export function parseTaskState(value: string): TaskState {
  const state = value.trim().toLowerCase();
  if (!(TASK_STATES as readonly string[]).includes(state)) {
    throw new InvalidArgumentError(
      `unknown task state "${value}"; use one of ${TASK_STATES.join(', ')}.`,
    );
  }
  return state as TaskState;
}

/** A comma-separated list (`a,b , c`), empty entries dropped, duplicates removed. */
export function parseList(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return [...new Set(items)];
}

export function parseLogLevel(value: string): LogLevel {
  const level = value.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new InvalidArgumentError(
      `unknown log level "${value}"; use one of ${LOG_LEVELS.join(', ')}.`,
    );
  }
  return level as LogLevel;
}

/** `--store`, else `BATON_STORE`, else the embedded default. */
export function resolveStoreUrl(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (flag !== undefined && flag !== '') return flag;
  const fromEnv = env['BATON_STORE'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return FALLBACK_STORE_URL;
}

/**
 * `--log-level`, else `BATON_LOG_LEVEL` (ignored when not a level), else the command's default.
 */
export function resolveLogLevel(
  flag: LogLevel | undefined,
  fallback: LogLevel,
  env: NodeJS.ProcessEnv = process.env,
): LogLevel {
  if (flag !== undefined) return flag;
  const fromEnv = env['BATON_LOG_LEVEL']?.trim().toLowerCase();
  if (fromEnv !== undefined && (LOG_LEVELS as readonly string[]).includes(fromEnv)) {
    return fromEnv as LogLevel;
  }
  return fallback;
}

/** The pool size `baton run` picks: the plan's widest DAG level, at least 1, capped. */
export function defaultRunConcurrency(width: number): number {
  return Math.max(1, Math.min(MAX_DEFAULT_RUN_CONCURRENCY, Math.floor(width)));
}
