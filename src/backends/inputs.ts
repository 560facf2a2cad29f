/**
 * Checks every adapter makes of the arguments Backend methods take beyond task specs (those go
 * through `normalizeTasks`): page limits, claim and sweep numbers, agent specs, and the error a
 * worker reports. One copy, so every backend refuses the same input with the same words. Each
 * names the argument and says what would be accepted.
 */
import { ValidationError } from '../core/errors.ts';
import { resolveRouting, type RoutingPolicy } from '../core/routing.ts';
import type { AgentReport, AgentSpec, TaskError } from '../core/types.ts';
import { LIMITS, checkJson } from '../core/validate.ts';
import {
  MAX_RELEASE_DELAY_MS,
  RECORDABLE_EVENT_TYPES,
  type RecordableEvent,
  type ReleaseInput,
  type RetryTaskOptions,
} from './backend.ts';

/** Page size when a listing does not say. */
export const DEFAULT_PAGE = 100;
/** The largest page a listing returns. */
export const MAX_PAGE = 10_000;

/** Longest error message or stack kept, in characters: errors are for people, not for data. */
const MAX_ERROR_TEXT = 16_384;

/**
 * The fields of a {@link TaskError} a worker reported, as plain JSON: whatever else a thrown
 * error carried (causes, sockets, cycles) is not stored.
 */
export function cleanError(error: TaskError): TaskError {
  const source = (error ?? {}) as Partial<Record<keyof TaskError, unknown>>;
  const text = (value: unknown): string => {
    const s = typeof value === 'string' ? value : String(value);
    return s.length > MAX_ERROR_TEXT ? `${s.slice(0, MAX_ERROR_TEXT)}… (truncated)` : s;
  };
  const clean: TaskError = { message: text(source.message ?? 'failed') };
  if (source.code !== undefined && source.code !== null) clean.code = text(source.code);
  if (source.name !== undefined && source.name !== null) clean.name = text(source.name);
  if (typeof source.retryable === 'boolean') clean.retryable = source.retryable;
  if (source.stack !== undefined && source.stack !== null) clean.stack = text(source.stack);
  return clean;
}

export function checkInteger(value: number, path: string, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ValidationError([
      { path, message: `must be an integer >= ${min}; got ${String(value)}` },
    ]);
  }
}

export function pageLimit(limit: number | undefined, path: string): number {
  if (limit === undefined) return DEFAULT_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new ValidationError([
      { path, message: `must be an integer from 1 to ${MAX_PAGE}; got ${String(limit)}` },
    ]);
  }
  return limit;
}

export function checkAgent(spec: AgentSpec): void {
  const issues: { path: string; message: string }[] = [];
  if (spec === null || typeof spec !== 'object') {
    throw new ValidationError([
      { path: 'agent', message: 'must be an object with capabilities and concurrency' },
    ]);
  }
  if (
    spec.id !== undefined &&
    (typeof spec.id !== 'string' || spec.id.length === 0 || spec.id.length > LIMITS.maxKeyLength)
  ) {
    issues.push({
      path: 'agent.id',
      message: `must be a non-empty string of at most ${LIMITS.maxKeyLength} characters`,
    });
  }
  if (
    !Array.isArray(spec.capabilities) ||
    spec.capabilities.some((c) => typeof c !== 'string' || c.length === 0)
  ) {
    issues.push({
      path: 'agent.capabilities',
      message: 'must be an array of non-empty strings (use [] for none)',
    });
  }
  checkAgentLimits(spec, issues);
  if (!Number.isSafeInteger(spec.concurrency) || spec.concurrency < 1) {
    issues.push({
      path: 'agent.concurrency',
      message: `must be an integer >= 1; got ${String(spec.concurrency)}`,
    });
  }
  if (issues.length > 0) throw new ValidationError(issues);
}

/**
 * The sizes of an agent's free-text fields, which are stored and listed with every agent: its
 * name, host, version, each capability, label name and label value at most
 * `LIMITS.maxKeyLength` characters; at most `LIMITS.maxCapabilities` capabilities and
 * `LIMITS.maxLabels` labels.
 */
function checkAgentLimits(spec: AgentSpec, issues: { path: string; message: string }[]): void {
  const text = LIMITS.maxKeyLength;
  const tooLong = (value: string, max: number): string =>
    `must be at most ${max} characters; got ${value.length}`;
  for (const field of ['name', 'host', 'version'] as const) {
    const value: unknown = spec[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') {
      issues.push({ path: `agent.${field}`, message: 'must be a string or absent' });
    } else if (value.length > text) {
      issues.push({ path: `agent.${field}`, message: tooLong(value, text) });
    }
  }
  const capabilities: unknown = spec.capabilities;
  if (Array.isArray(capabilities)) {
    if (capabilities.length > LIMITS.maxCapabilities) {
      issues.push({
        path: 'agent.capabilities',
        message: `has ${capabilities.length} capabilities, over the limit of ${LIMITS.maxCapabilities}`,
      });
    }
    const long = capabilities.findIndex((c) => typeof c === 'string' && c.length > text);
    if (long >= 0) {
      issues.push({
        path: `agent.capabilities[${long}]`,
        message: tooLong(String(capabilities[long]), text),
      });
    }
  }
  const labels: unknown = spec.labels;
  if (labels === undefined) return;
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
    issues.push({
      path: 'agent.labels',
      message: 'must be an object of label names to string values, e.g. { region: "eu" }',
    });
    return;
  }
  const entries = Object.entries(labels);
  if (entries.length > LIMITS.maxLabels) {
    issues.push({
      path: 'agent.labels',
      message: `has ${entries.length} labels, over the limit of ${LIMITS.maxLabels}`,
    });
  }
  for (const [name, value] of entries) {
    const path = `agent.labels[${JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name)}]`;
    if (name.length === 0 || name.length > text) {
      issues.push({
        path,
        message: `a label name must be 1 to ${text} characters; got ${name.length}`,
      });
    } else if (typeof value !== 'string') {
      issues.push({ path, message: 'must be a string' });
    } else if (value.length > text) {
      issues.push({ path, message: tooLong(value, text) });
    }
  }
}

/**
 * An agent's report of its process: each field null, or a finite number ≥ 0 (whole bytes for
 * RSS). Returns the values to store, CPU rounded to 0.1 %.
 */
export function checkReport(report: AgentReport, path: string): AgentReport {
  const issues: { path: string; message: string }[] = [];
  if (report === null || typeof report !== 'object') {
    throw new ValidationError([
      { path, message: 'must be an object { cpuPercent, rssBytes } (each a number or null)' },
    ]);
  }
  const { cpuPercent, rssBytes } = report;
  if (
    cpuPercent !== null &&
    (typeof cpuPercent !== 'number' || !Number.isFinite(cpuPercent) || cpuPercent < 0)
  ) {
    issues.push({
      path: `${path}.cpuPercent`,
      message: `must be a number >= 0 or null; got ${String(cpuPercent)}`,
    });
  }
  if (rssBytes !== null && (!Number.isSafeInteger(rssBytes) || rssBytes < 0)) {
    issues.push({
      path: `${path}.rssBytes`,
      message: `must be an integer >= 0 or null; got ${String(rssBytes)}`,
    });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return {
    cpuPercent: cpuPercent === null ? null : Math.round(cpuPercent * 10) / 10,
    rssBytes,
  };
}

/** `sweep`'s options: an agent TTL ≥ 0 and, when given, a `stallAfterMs` ≥ 1 (integers). */
export function checkSweepOptions(options: { agentTtlMs: number; stallAfterMs?: number }): void {
  if (options === null || typeof options !== 'object') {
    throw new ValidationError([
      { path: 'sweep', message: 'must be an object { agentTtlMs, stallAfterMs? }' },
    ]);
  }
  checkInteger(options.agentTtlMs, 'sweep.agentTtlMs', 0);
  if (options.stallAfterMs !== undefined)
    checkInteger(options.stallAfterMs, 'sweep.stallAfterMs', 1);
}

/** The routing policy of a backend's `routing` option, defaults applied. */
export function checkRouting(routing: Partial<RoutingPolicy> | undefined): RoutingPolicy {
  const { policy, problems } = resolveRouting(routing);
  if (problems.length > 0) {
    throw new ValidationError(problems.map((message) => ({ path: 'routing', message })));
  }
  return policy;
}

/**
 * Check an event a caller records: a recordable type, an optional agent id, JSON data within
 * `maxBytes`. Returns the data as the JSON text to store.
 */
export function checkRecordedEvent(event: RecordableEvent, maxBytes: number): string {
  if (event === null || typeof event !== 'object') {
    throw new ValidationError([
      { path: 'event', message: 'must be an object { type, agentId?, data? }' },
    ]);
  }
  if (!(RECORDABLE_EVENT_TYPES as readonly string[]).includes(event.type)) {
    throw new ValidationError([
      {
        path: 'event.type',
        message: `must be one of ${RECORDABLE_EVENT_TYPES.join(', ')}; got ${JSON.stringify(event.type)} (the backend writes every other event type itself)`,
      },
    ]);
  }
  if (event.agentId != null && (typeof event.agentId !== 'string' || event.agentId.length === 0)) {
    throw new ValidationError([
      { path: 'event.agentId', message: 'must be a non-empty string or absent' },
    ]);
  }
  const data = event.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ValidationError([{ path: 'event.data', message: 'must be a JSON object' }]);
  }
  checkJson(data, 'event.data', maxBytes);
  return JSON.stringify(data);
}

/** A release item's delay and reason, checked, with the defaults applied. */
export interface CheckedRelease {
  delayMs: number;
  reason: string;
}

/**
 * Check every item of a `release` before anything changes: `delayMs` an integer from 0 to
 * {@link MAX_RELEASE_DELAY_MS} (default 0), `reason` a string (default `released`; long ones are
 * cut like error messages).
 */
export function checkReleases(items: readonly ReleaseInput[]): CheckedRelease[] {
  if (!Array.isArray(items)) {
    throw new ValidationError([
      { path: 'release', message: 'must be an array of { taskId, token, delayMs?, reason? }' },
    ]);
  }
  const issues: { path: string; message: string }[] = [];
  const checked = items.map((item, i): CheckedRelease => {
    const given = (item ?? {}) as Partial<ReleaseInput>;
    const delayMs = given.delayMs ?? 0;
    if (!Number.isSafeInteger(delayMs) || delayMs < 0 || delayMs > MAX_RELEASE_DELAY_MS) {
      issues.push({
        path: `release[${i}].delayMs`,
        message: `must be an integer from 0 to ${MAX_RELEASE_DELAY_MS} (ms, a year); got ${String(delayMs)}`,
      });
    }
    const reason: unknown = given.reason ?? 'released';
    if (typeof reason !== 'string') {
      issues.push({ path: `release[${i}].reason`, message: 'must be a string or absent' });
    }
    return { delayMs, reason: cut(String(reason)) };
  });
  if (issues.length > 0) throw new ValidationError(issues);
  return checked;
}

/** `retryTask`'s reason: a string (long ones cut like error messages), or null when absent. */
export function checkRetryReason(options: RetryTaskOptions | undefined): string | null {
  if (options === undefined) return null;
  if (options === null || typeof options !== 'object') {
    throw new ValidationError([
      { path: 'retryTask.options', message: 'must be an object { reason? } or absent' },
    ]);
  }
  const { reason } = options;
  if (reason === undefined) return null;
  if (typeof reason !== 'string') {
    throw new ValidationError([
      { path: 'retryTask.reason', message: `must be a string or absent; got ${typeof reason}` },
    ]);
  }
  return cut(reason);
}

function cut(text: string): string {
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}… (truncated)` : text;
}
