/**
 * Shared state above the seam: the checks every `getState`/`setState`/`deleteState`/`listState`
 * argument passes before an adapter sees it (checked.ts), so SQLite and Redis accept exactly the
 * same inputs and refuse the rest with the same words. Adapters get the value already as JSON.
 */
import { ValidationError, type ValidationIssue } from '../core/errors.ts';
import {
  MAX_RELEASE_DELAY_MS,
  type StateDelete,
  type StateListOptions,
  type StateWrite,
} from './backend.ts';

/** The limits of shared state. */
export const STATE_LIMITS = {
  /** Characters of a key. */
  maxKeyLength: 512,
  /** Characters of a scope. */
  maxScopeLength: 600,
  /** Bytes of a value's JSON (UTF-8). */
  maxValueBytes: 256 * 1024,
  /** Entries of one `listState` page. */
  maxListLimit: 1000,
  /** `listState`'s page size when none is given. */
  defaultListLimit: 100,
} as const;

/** A write as adapters apply it: the value as JSON text. */
export interface CheckedStateWrite extends StateWrite {
  json: string;
}

/** A listing as adapters apply it: every option filled in. */
export interface CheckedStateList {
  prefix: string;
  limit: number;
  /** Absent: from the first key. */
  after?: string;
}

type Issues = ValidationIssue[];

function text(value: unknown, path: string, max: number, issues: Issues, empty = false): void {
  if (typeof value !== 'string') {
    issues.push({ path, message: `must be a string; got ${typeof value}` });
  } else if (!empty && value.length === 0) {
    issues.push({ path, message: 'must not be empty' });
  } else if (value.length > max) {
    issues.push({ path, message: `must be at most ${max} characters; got ${value.length}` });
  } else if (value.includes('\0')) {
    issues.push({ path, message: 'must not contain NUL characters' });
  }
}

function integer(value: unknown, path: string, min: number, max: number, issues: Issues): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    issues.push({
      path,
      message: `must be an integer from ${min} to ${max}; got ${JSON.stringify(value) ?? String(value)}`,
    });
  }
}

function fence(value: unknown, path: string, issues: Issues): void {
  if (value === undefined) return;
  if (value === null || typeof value !== 'object') {
    issues.push({ path, message: 'must be an object { taskId, token, agentId } or absent' });
    return;
  }
  const f = value as Record<string, unknown>;
  text(f.taskId, `${path}.taskId`, 200, issues);
  text(f.agentId, `${path}.agentId`, 200, issues);
  integer(f.token, `${path}.token`, 0, Number.MAX_SAFE_INTEGER, issues);
}

function throwIf(issues: Issues): void {
  if (issues.length > 0) throw new ValidationError(issues);
}

/** A scope and key, as `getState` takes them. */
export function checkStateKey(scope: string, key: string, path = 'state'): void {
  const issues: Issues = [];
  text(scope, `${path}.scope`, STATE_LIMITS.maxScopeLength, issues);
  text(key, `${path}.key`, STATE_LIMITS.maxKeyLength, issues);
  throwIf(issues);
}

/** A `setState` input; returns it with its value as JSON. */
export function checkStateWrite(input: StateWrite): CheckedStateWrite {
  const issues: Issues = [];
  if (input === null || typeof input !== 'object') {
    throw new ValidationError([{ path: 'setState', message: 'must be an object' }]);
  }
  text(input.scope, 'setState.scope', STATE_LIMITS.maxScopeLength, issues);
  text(input.key, 'setState.key', STATE_LIMITS.maxKeyLength, issues);
  if (input.ttlMs !== undefined)
    integer(input.ttlMs, 'setState.ttlMs', 1, MAX_RELEASE_DELAY_MS, issues);
  if (input.expectedVersion !== undefined)
    integer(input.expectedVersion, 'setState.expectedVersion', 0, Number.MAX_SAFE_INTEGER, issues);
  fence(input.fence, 'setState.fence', issues);
  let json: string | undefined;
  try {
    json = JSON.stringify(input.value);
  } catch (error) {
    issues.push({ path: 'setState.value', message: `is not JSON: ${(error as Error).message}` });
  }
  if (json === undefined) {
    if (issues.length === 0)
      issues.push({
        path: 'setState.value',
        message: 'must be a JSON value (null, not undefined)',
      });
  } else if (Buffer.byteLength(json, 'utf8') > STATE_LIMITS.maxValueBytes) {
    issues.push({
      path: 'setState.value',
      message: `is ${Buffer.byteLength(json, 'utf8')} bytes of JSON, more than the ${STATE_LIMITS.maxValueBytes} a state value may hold; keep large data in files`,
    });
  }
  throwIf(issues);
  return { ...input, json: json! };
}

/** A `deleteState` input. */
export function checkStateDelete(input: StateDelete): StateDelete {
  const issues: Issues = [];
  if (input === null || typeof input !== 'object') {
    throw new ValidationError([{ path: 'deleteState', message: 'must be an object' }]);
  }
  text(input.scope, 'deleteState.scope', STATE_LIMITS.maxScopeLength, issues);
  text(input.key, 'deleteState.key', STATE_LIMITS.maxKeyLength, issues);
  if (input.expectedVersion !== undefined)
    integer(
      input.expectedVersion,
      'deleteState.expectedVersion',
      1,
      Number.MAX_SAFE_INTEGER,
      issues,
    );
  fence(input.fence, 'deleteState.fence', issues);
  throwIf(issues);
  return input;
}

/** `listState`'s scope and options, with the defaults filled in. */
export function checkStateList(scope: string, options: StateListOptions = {}): CheckedStateList {
  const issues: Issues = [];
  text(scope, 'listState.scope', STATE_LIMITS.maxScopeLength, issues);
  if (options.prefix !== undefined)
    text(options.prefix, 'listState.prefix', STATE_LIMITS.maxKeyLength, issues, true);
  if (options.after !== undefined)
    text(options.after, 'listState.after', STATE_LIMITS.maxKeyLength, issues);
  if (options.limit !== undefined)
    integer(options.limit, 'listState.limit', 1, STATE_LIMITS.maxListLimit, issues);
  throwIf(issues);
  const checked: CheckedStateList = {
    prefix: options.prefix ?? '',
    limit: options.limit ?? STATE_LIMITS.defaultListLimit,
  };
  if (options.after !== undefined) checked.after = options.after;
  return checked;
}
