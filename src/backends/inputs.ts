/**
 * The checks of every argument a Backend method takes beyond task specs (those go through core's
 * `normalizeTasks`/`normalizeRun`): ids, claim and wait filters, lease items, agent specs and
 * reports, sweep options, listing filters and cursors, recorded events. The checking layer
 * (`checked.ts`) runs them before any adapter sees a call, so one copy decides what every backend
 * accepts and words the refusal. Each check names the argument, says what was wrong and what
 * would be accepted, and returns the value as adapters take it (defaults applied, long free text
 * cut), so adapters apply it without deciding anything.
 */
import { ValidationError, type ValidationIssue } from '../core/errors.ts';
import { COST_BASES, COST_GROUPS, MAX_TOKENS, MAX_USD, toNano } from '../core/ledger.ts';
import {
  DEFAULT_LOG_BOUNDS,
  LOG_LEVELS,
  LOG_LIMITS,
  LOG_STREAMS,
  type LogBounds,
  type LogLevel,
  type LogStream,
} from '../core/logs.ts';
import { resolveRouting, type RoutingPolicy } from '../core/routing.ts';
import { COMPLEXITIES, TIERS } from '../core/model-choice.ts';
import { describeValue } from '../core/text.ts';
import { TASK_STATES, type AgentReport, type AgentSpec, type TaskError } from '../core/types.ts';
import { LIMITS, checkJson, checkTypeFilter, runListOrder } from '../core/validate.ts';
import {
  MAX_RELEASE_DELAY_MS,
  EVENT_TYPES,
  MAX_LATEST_EVENTS,
  RECORDABLE_EVENT_TYPES,
  type LatestEventsOptions,
  type CheckedReserve,
  type CheckedUsage,
  type ClaimRequest,
  type CompleteInput,
  type CostQuery,
  type FailInput,
  type LeaseRef,
  type LogAppend,
  type LogLineInput,
  type ReadAgentLogsOptions,
  type ReadEventsOptions,
  type ReadLogsOptions,
  type RecordableEvent,
  type ReleaseInput,
  type ReserveInput,
  type RetryTaskOptions,
  type RunFilter,
  type SubmitTasksOptions,
  type SweepOptions,
  type TaskFilter,
  type UsageInput,
  type WaitForWorkOptions,
  type ModelChoiceInput,
  type ModelHistoryQuery,
  type ModelOutcomeInput,
} from './backend.ts';

/** Page size when a listing does not say. */
export const DEFAULT_PAGE = 100;
/** The largest page a listing returns. */
export const MAX_PAGE = 10_000;

/** Log lines a read returns when it does not say. */
export const DEFAULT_LOG_PAGE = 1000;

/** Longest error message or stack kept, in characters: errors are for people, not for data. */
const MAX_ERROR_TEXT = 16_384;

/** Longest id of a task, run or agent, in characters (ids Baton makes are 30). */
export const MAX_ID_LENGTH = LIMITS.maxKeyLength;

/** Longest cursor or event id, in characters (those a backend gives out are far shorter). */
const MAX_CURSOR_LENGTH = 64;

/** The most leases one claim takes (a worker's free slots). */
export const MAX_CLAIM = 10_000;

/**
 * What an agent may say about itself ({@link AgentSpec}), the same through the SDK and the HTTP
 * API. A capability or label is compared with what tasks name (`requires`, `affinity`), whose
 * limits these follow.
 */
export const AGENT_LIMITS = {
  /** Characters of the agent's name. */
  maxNameLength: LIMITS.maxTitleLength,
  /** Capabilities of one agent. */
  maxCapabilities: 256,
  /** Characters of a capability (as of a task's `requires`). */
  maxCapabilityLength: LIMITS.maxKeyLength,
  /** Labels of one agent. */
  maxLabels: 64,
  /** Characters of a label's key, and of its value (as of a task's `affinity`). */
  maxLabelLength: LIMITS.maxKeyLength,
  /** Slots of one agent. */
  maxConcurrency: 10_000,
  /** Characters of `host`, `version` and `owner`. */
  maxTextLength: LIMITS.maxKeyLength,
} as const;

/** A log line as adapters store it ({@link checkLogLines}): defaults applied, its size counted. */
export interface CheckedLogLine {
  text: string;
  stream: LogStream;
  level: LogLevel;
  /**
   * What the line counts for against the bounds: its text's UTF-8 bytes plus one, for its
   * newline (so the bounds are bytes of output, and an empty line is not free).
   */
  bytes: number;
}

/** An `appendLogs` item as adapters apply it. */
export interface CheckedLogAppend extends Omit<LogAppend, 'lines'> {
  lines: CheckedLogLine[];
}

/** The lines a settle item carries, as adapters apply them (none: absent). */
interface CheckedCarriedLogs {
  logs?: CheckedLogLine[];
}

/** A `complete` item as adapters apply it ({@link checkCompletes}). */
export type CheckedComplete = Omit<CompleteInput, 'logs'> & CheckedCarriedLogs;

/** A `fail` item as adapters apply it ({@link checkFails}). */
export type CheckedFail = Omit<FailInput, 'logs'> &
  CheckedCarriedLogs & { retryable: boolean; outcome: 'failed' | 'timed_out' };

/** A `release` item as adapters apply it ({@link checkReleases}). */
export type CheckedRelease = Required<Omit<ReleaseInput, 'logs'>> & CheckedCarriedLogs;

type Issues = ValidationIssue[];

function fail(issues: Issues): void {
  if (issues.length > 0) throw new ValidationError(issues);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function cut(text: string): string {
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}… (truncated)` : text;
}

/** A non-empty string of at most `max` characters, else an issue. */
function text(value: unknown, path: string, what: string, max: number, issues: Issues): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    issues.push({
      path,
      message: `must be ${what}: a non-empty string of at most ${max} characters; got ${
        typeof value === 'string' && value.length > max
          ? `${value.length} characters`
          : describeValue(value)
      }`,
    });
  }
}

/** An id of a task, run or agent, else an issue. */
function id(value: unknown, path: string, what: string, issues: Issues): void {
  text(value, path, `the id of ${what}`, MAX_ID_LENGTH, issues);
}

/** An integer from `min` to `max`, else an issue. */
function integer(value: unknown, path: string, min: number, max: number, issues: Issues): void {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    issues.push({
      path,
      message: `must be an integer from ${min} to ${max}; got ${describeValue(value)}`,
    });
  }
}

/** A finite number of ms from 0 to `max`, else an issue. */
function duration(value: unknown, path: string, max: number, issues: Issues): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    issues.push({
      path,
      message: `must be a number of ms from 0 to ${max}; got ${describeValue(value)}`,
    });
  }
}

/** Capability names, as an agent has them or a worker claims with. */
function capabilities(value: unknown, path: string, issues: Issues): void {
  if (!Array.isArray(value)) {
    issues.push({
      path,
      message: `must be an array of capability names (use [] for none); got ${describeValue(value)}`,
    });
    return;
  }
  if (value.length > AGENT_LIMITS.maxCapabilities) {
    issues.push({
      path,
      message: `must hold at most ${AGENT_LIMITS.maxCapabilities} capabilities; got ${value.length}`,
    });
    return;
  }
  value.forEach((c, i) =>
    text(c, `${path}[${i}]`, 'a capability name', AGENT_LIMITS.maxCapabilityLength, issues),
  );
}

/** A `types` filter (core's check, plus the length of each type). */
function types(value: unknown, path: string, issues: Issues): void {
  try {
    checkTypeFilter(value, path);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    issues.push(...error.issues);
    return;
  }
  if (value === undefined) return;
  (value as unknown[]).forEach((t, i) =>
    text(t, `${path}[${i}]`, 'a task type name', LIMITS.maxTypeLength, issues),
  );
}

function signal(value: unknown, path: string, issues: Issues): void {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    issues.push({ path, message: `must be an AbortSignal or absent; got ${describeValue(value)}` });
  }
}

/**
 * The fields of a {@link TaskError} a worker reported, as plain JSON: whatever else a thrown
 * error carried (causes, sockets, cycles) is not stored.
 */
export function cleanError(error: TaskError): TaskError {
  const source = (error ?? {}) as Partial<Record<keyof TaskError, unknown>>;
  const asText = (value: unknown): string => cut(typeof value === 'string' ? value : String(value));
  const clean: TaskError = { message: asText(source.message ?? 'failed') };
  if (source.code !== undefined && source.code !== null) clean.code = asText(source.code);
  if (source.name !== undefined && source.name !== null) clean.name = asText(source.name);
  if (typeof source.retryable === 'boolean') clean.retryable = source.retryable;
  if (source.stack !== undefined && source.stack !== null) clean.stack = asText(source.stack);
  return clean;
}

export function checkInteger(value: number, path: string, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ValidationError([
      { path, message: `must be an integer >= ${min}; got ${String(value)}` },
    ]);
  }
}

/** The id of a task, run or agent a method names. */
export function checkId(value: string, path: string, what: string): void {
  const issues: Issues = [];
  id(value, path, what, issues);
  fail(issues);
}

/** A page size: the default when absent. */
export function pageLimit(limit: number | undefined, path: string): number {
  if (limit === undefined) return DEFAULT_PAGE;
  const issues: Issues = [];
  integer(limit, path, 1, MAX_PAGE, issues);
  fail(issues);
  return limit;
}

/**
 * The error every backend gives for a cursor or event id it did not give out: adapters parse
 * their own cursors (their form is theirs), and refuse one they cannot read with this.
 */
export function unknownCursor(cursor: unknown, path: string): ValidationError {
  return new ValidationError([
    {
      path,
      message: `${describeValue(cursor)} is not a cursor this backend gave out; pass the value from the previous page (or the id of the last event seen)`,
    },
  ]);
}

/** A cursor or event id: absent, or a string of a sane length (its form is the adapter's). */
function cursor(value: unknown, path: string, issues: Issues): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CURSOR_LENGTH) {
    issues.push(unknownCursor(value, path).issues[0]!);
  }
}

/** Cursors that are the decimal seq of the last row seen (both adapters' task and run pages). */
export function parseSeqCursor(value: string | undefined, path: string): number {
  if (value === undefined) return 0;
  if (!/^\d{1,15}$/.test(value)) throw unknownCursor(value, path);
  return Number(value);
}

/** A claim: who claims, with which capabilities and types, how many, for how long. */
export function checkClaim(request: ClaimRequest): ClaimRequest {
  if (!isObject(request)) {
    throw new ValidationError([
      {
        path: 'claim',
        message: `must be an object { agentId, capabilities, types?, max, leaseTtlMs }; got ${describeValue(request)}`,
      },
    ]);
  }
  const issues: Issues = [];
  id(request.agentId, 'claim.agentId', 'the claiming agent', issues);
  capabilities(request.capabilities, 'claim.capabilities', issues);
  types(request.types, 'claim.types', issues);
  integer(request.max, 'claim.max', 0, MAX_CLAIM, issues);
  integer(request.leaseTtlMs, 'claim.leaseTtlMs', 1, LIMITS.maxTimerMs, issues);
  fail(issues);
  return request;
}

/** What a worker waits for (as it claims), how long, and what may abort the wait. */
export function checkWait(options: WaitForWorkOptions): WaitForWorkOptions {
  if (!isObject(options)) {
    throw new ValidationError([
      {
        path: 'waitForWork',
        message: `must be an object { capabilities, types?, agentId?, timeoutMs, signal? }; got ${describeValue(options)}`,
      },
    ]);
  }
  const issues: Issues = [];
  capabilities(options.capabilities, 'waitForWork.capabilities', issues);
  types(options.types, 'waitForWork.types', issues);
  if (options.agentId !== undefined)
    id(options.agentId, 'waitForWork.agentId', 'the waiting agent', issues);
  duration(options.timeoutMs, 'waitForWork.timeoutMs', LIMITS.maxTimerMs, issues);
  signal(options.signal, 'waitForWork.signal', issues);
  fail(issues);
  return options;
}

/** A lease an item names: its task and token (`path` names the item). */
function leaseRef(item: unknown, path: string, issues: Issues): item is Record<string, unknown> {
  if (!isObject(item)) {
    issues.push({ path, message: `must be an object; got ${describeValue(item)}` });
    return false;
  }
  id(item.taskId, `${path}.taskId`, 'the leased task', issues);
  integer(item.token, `${path}.token`, 0, Number.MAX_SAFE_INTEGER, issues);
  return true;
}

/** The items of a lease call, an array; `shape` says what an item is. */
function items(value: unknown, path: string, shape: string): unknown[] {
  if (!Array.isArray(value)) {
    throw new ValidationError([
      { path, message: `must be an array of ${shape}; got ${describeValue(value)}` },
    ]);
  }
  return value;
}

/** A renew: the agent, the leases it holds, the new lease length, its process report. */
export function checkRenew(
  agentId: string,
  leases: readonly LeaseRef[],
  leaseTtlMs: number,
  report: AgentReport | undefined,
): AgentReport | undefined {
  const issues: Issues = [];
  id(agentId, 'renew.agentId', 'the renewing agent', issues);
  items(leases, 'renew.leases', '{ taskId, token }').forEach((item, i) =>
    leaseRef(item, `renew.leases[${i}]`, issues),
  );
  integer(leaseTtlMs, 'renew.leaseTtlMs', 1, LIMITS.maxTimerMs, issues);
  fail(issues);
  return report === undefined ? undefined : checkReport(report, 'renew.report');
}

/** The holder an item of complete, fail or release names. */
function holder(item: Record<string, unknown>, path: string, issues: Issues): void {
  id(item.agentId, `${path}.agentId`, 'the agent that holds the lease', issues);
}

/** How long the handler ran (`CompleteInput.runMs`, `FailInput.runMs`): a number ≥ 0 or absent. */
function runTime(value: unknown, path: string, issues: Issues): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    issues.push({
      path,
      message: `must be how long the handler ran, in ms: a finite number >= 0, or left out; got ${describeValue(value)}`,
    });
  }
}

/** An item with its `runMs` in whole ms (absent stays absent). */
function wholeRunMs<T extends { runMs?: number }>(item: T): T {
  return item.runMs === undefined ? item : { ...item, runMs: Math.round(item.runMs) };
}

/** Lines and bytes of log lines one call carries, checked against `LOG_LIMITS` at its end. */
interface LogBudget {
  lines: number;
  bytes: number;
}

/**
 * The log lines at `path` (an array of {@link LogLineInput}), checked and counted in `budget`.
 * Returns them as adapters store them: stream `log` and level `info` when absent, text made
 * well-formed (a lone surrogate becomes U+FFFD, as every store would write it), its bytes counted.
 */
function logLines(
  value: unknown,
  path: string,
  issues: Issues,
  budget: LogBudget,
): CheckedLogLine[] {
  if (!Array.isArray(value)) {
    issues.push({
      path,
      message: `must be an array of log lines { text, stream?, level? }; got ${describeValue(value)}`,
    });
    return [];
  }
  const out: CheckedLogLine[] = [];
  for (let i = 0; i < value.length; i++) {
    if (!(i in value)) continue; // a hole, skipped as forEach did
    const line: unknown = value[i];
    if (!isObject(line)) {
      issues.push({
        path: `${path}[${i}]`,
        message: `must be a log line { text, stream?, level? }; got ${describeValue(line)}`,
      });
      continue;
    }
    const { text, stream = 'log', level = 'info' } = line as Partial<LogLineInput>;
    // The usual line, well-formed and within a line's size, is taken as it is (this runs once
    // per line a task writes, on the settle path: docs/benchmarks.md, task logs).
    if (
      typeof text === 'string' &&
      (stream === 'log' || stream === 'stdout' || stream === 'stderr') &&
      (level === 'info' || level === 'debug' || level === 'warn' || level === 'error') &&
      text.length * 3 < LOG_LIMITS.maxLineBytes &&
      text.isWellFormed()
    ) {
      const bytes = Buffer.byteLength(text, 'utf8');
      budget.lines++;
      budget.bytes += bytes;
      out.push({ text, stream, level, bytes: bytes + 1 });
      continue;
    }
    const at = `${path}[${i}]`;
    let ok = true;
    if (typeof text !== 'string') {
      issues.push({ path: `${at}.text`, message: `must be a string; got ${describeValue(text)}` });
      ok = false;
    }
    if (!(LOG_STREAMS as readonly unknown[]).includes(stream)) {
      issues.push({
        path: `${at}.stream`,
        message: `must be one of ${LOG_STREAMS.join(', ')} or absent; got ${describeValue(stream)}`,
      });
      ok = false;
    }
    if (!(LOG_LEVELS as readonly unknown[]).includes(level)) {
      issues.push({
        path: `${at}.level`,
        message: `must be one of ${LOG_LEVELS.join(', ')} or absent; got ${describeValue(level)}`,
      });
      ok = false;
    }
    if (!ok) continue;
    // A lone surrogate becomes U+FFFD, as every store would write it (copied only then).
    const wellFormed = (text as string).isWellFormed()
      ? (text as string)
      : (text as string).toWellFormed();
    const bytes = Buffer.byteLength(wellFormed, 'utf8');
    if (bytes + 1 > LOG_LIMITS.maxLineBytes) {
      issues.push({
        path: `${at}.text`,
        message: `is ${bytes} bytes, over the limit of ${LOG_LIMITS.maxLineBytes - 1} bytes for one line (${LOG_LIMITS.maxLineBytes} with its newline); split it into several lines`,
      });
      continue;
    }
    budget.lines++;
    budget.bytes += bytes;
    out.push({ text: wellFormed, stream, level, bytes: bytes + 1 });
  }
  return out;
}

/** An issue when the lines of one call are over `LOG_LIMITS`, for the call at `path`. */
function logBudget(budget: LogBudget, path: string, issues: Issues): void {
  if (budget.lines > LOG_LIMITS.maxLinesPerCall || budget.bytes > LOG_LIMITS.maxBytesPerCall) {
    issues.push({
      path,
      message: `carries ${budget.lines} log lines of ${budget.bytes} bytes in all; one call takes at most ${LOG_LIMITS.maxLinesPerCall} lines and ${LOG_LIMITS.maxBytesPerCall} bytes: send them in several calls`,
    });
  }
}

/** A settle item's `logs` (absent stays absent), checked into `checked[i]`. */
function carriedLogs(
  item: Record<string, unknown>,
  path: string,
  issues: Issues,
  budget: LogBudget,
): CheckedLogLine[] | undefined {
  if (item.logs === undefined) return undefined;
  return logLines(item.logs, `${path}.logs`, issues, budget);
}

/**
 * The items of a `complete`: each names its lease and holder, and a JSON result within
 * `maxBytes` (one bad or oversized result refuses the batch).
 */
export function checkCompletes(
  list: readonly CompleteInput[],
  maxBytes: number,
): CheckedComplete[] {
  const issues: Issues = [];
  const all = items(list, 'complete', '{ taskId, token, agentId, result, runMs?, logs? }');
  const budget: LogBudget = { lines: 0, bytes: 0 };
  const logs = all.map((item, i) => {
    if (!leaseRef(item, `complete[${i}]`, issues)) return undefined;
    holder(item, `complete[${i}]`, issues);
    runTime(item.runMs, `complete[${i}].runMs`, issues);
    return carriedLogs(item, `complete[${i}]`, issues, budget);
  });
  logBudget(budget, 'complete', issues);
  fail(issues);
  return (all as CompleteInput[]).map((input, i) => {
    checkJson(input.result ?? null, `result of task ${input.taskId}`, maxBytes);
    const { logs: _lines, ...item } = input;
    const checked: CheckedComplete = wholeRunMs(
      item.result === undefined ? { ...item, result: null } : item,
    );
    const carried = logs[i];
    if (carried !== undefined) checked.logs = carried;
    return checked;
  });
}

/**
 * The items of a `fail`: each names its lease and holder, an error (its plain fields kept), and
 * how to retry. Returns them as adapters apply them: the error cleaned, `retryable` decided
 * (the item's, else the error's, else true), `outcome` defaulted to `failed`.
 */
export function checkFails(list: readonly FailInput[]): CheckedFail[] {
  const issues: Issues = [];
  const all = items(
    list,
    'fail',
    '{ taskId, token, agentId, error, retryable?, retryDelayMs?, runMs?, logs? }',
  );
  const budget: LogBudget = { lines: 0, bytes: 0 };
  const logs = all.map((item, i) => {
    const path = `fail[${i}]`;
    if (!leaseRef(item, path, issues)) return undefined;
    holder(item, path, issues);
    if (!isObject(item.error)) {
      issues.push({
        path: `${path}.error`,
        message: `must be an object { message, code?, name?, retryable?, stack? }; got ${describeValue(item.error)}`,
      });
    }
    if (item.retryable !== undefined && typeof item.retryable !== 'boolean') {
      issues.push({
        path: `${path}.retryable`,
        message: `must be true, false or absent; got ${describeValue(item.retryable)}`,
      });
    }
    if (item.retryDelayMs !== undefined)
      integer(item.retryDelayMs, `${path}.retryDelayMs`, 0, MAX_RELEASE_DELAY_MS, issues);
    runTime(item.runMs, `${path}.runMs`, issues);
    if (item.outcome !== undefined && item.outcome !== 'failed' && item.outcome !== 'timed_out') {
      issues.push({
        path: `${path}.outcome`,
        message: `must be 'failed', 'timed_out' or absent; got ${describeValue(item.outcome)}`,
      });
    }
    return carriedLogs(item, path, issues, budget);
  });
  logBudget(budget, 'fail', issues);
  fail(issues);
  return (all as FailInput[]).map((item, i) => {
    const checked: CheckedFail = {
      taskId: item.taskId,
      token: item.token,
      agentId: item.agentId,
      error: cleanError(item.error),
      retryable: item.retryable ?? item.error.retryable !== false,
      outcome: item.outcome ?? 'failed',
    };
    if (item.retryDelayMs !== undefined) checked.retryDelayMs = item.retryDelayMs;
    if (item.runMs !== undefined) checked.runMs = Math.round(item.runMs);
    const carried = logs[i];
    if (carried !== undefined) checked.logs = carried;
    return checked;
  });
}

/**
 * The items of a `release`, before anything changes: each names its lease and holder; `delayMs`
 * an integer from 0 to {@link MAX_RELEASE_DELAY_MS} (default 0), `reason` a string (default
 * `released`; long ones are cut like error messages). Returns them with the defaults applied.
 */
export function checkReleases(list: readonly ReleaseInput[]): CheckedRelease[] {
  const issues: Issues = [];
  const all = items(list, 'release', '{ taskId, token, agentId, delayMs?, reason?, logs? }');
  const budget: LogBudget = { lines: 0, bytes: 0 };
  const logs = all.map((item, i) => {
    const path = `release[${i}]`;
    if (!leaseRef(item, path, issues)) return undefined;
    holder(item, path, issues);
    const delayMs = item.delayMs ?? 0;
    if (
      !Number.isSafeInteger(delayMs) ||
      !((delayMs as number) >= 0) ||
      (delayMs as number) > MAX_RELEASE_DELAY_MS
    ) {
      issues.push({
        path: `${path}.delayMs`,
        message: `must be an integer from 0 to ${MAX_RELEASE_DELAY_MS} (ms, a year); got ${describeValue(delayMs)}`,
      });
    }
    if (item.reason !== undefined && typeof item.reason !== 'string') {
      issues.push({
        path: `${path}.reason`,
        message: `must be a string or absent; got ${describeValue(item.reason)}`,
      });
    }
    return carriedLogs(item, path, issues, budget);
  });
  logBudget(budget, 'release', issues);
  fail(issues);
  return (all as ReleaseInput[]).map((item, i) => {
    const checked: CheckedRelease = {
      taskId: item.taskId,
      token: item.token,
      agentId: item.agentId,
      delayMs: item.delayMs ?? 0,
      reason: cut(item.reason ?? 'released'),
    };
    const carried = logs[i];
    if (carried !== undefined) checked.logs = carried;
    return checked;
  });
}

/**
 * An agent's description. Returns it with its capabilities sorted and without duplicates (the
 * form every backend stores and routes by).
 */
export function checkAgent(spec: AgentSpec): AgentSpec {
  if (!isObject(spec)) {
    throw new ValidationError([
      {
        path: 'agent',
        message: `must be an object with capabilities and concurrency; got ${describeValue(spec)}`,
      },
    ]);
  }
  const issues: Issues = [];
  const L = AGENT_LIMITS;
  if (spec.id !== undefined) id(spec.id, 'agent.id', 'the agent', issues);
  if (spec.name !== undefined) text(spec.name, 'agent.name', 'a name', L.maxNameLength, issues);
  capabilities(spec.capabilities, 'agent.capabilities', issues);
  integer(spec.concurrency, 'agent.concurrency', 1, L.maxConcurrency, issues);
  if (spec.labels !== undefined) {
    if (!isObject(spec.labels)) {
      issues.push({
        path: 'agent.labels',
        message: `must be an object of string values; got ${describeValue(spec.labels)}`,
      });
    } else {
      const entries = Object.entries(spec.labels);
      if (entries.length > L.maxLabels) {
        issues.push({
          path: 'agent.labels',
          message: `must hold at most ${L.maxLabels} labels; got ${entries.length}`,
        });
      } else {
        for (const [key, value] of entries) {
          text(key, `agent.labels`, 'a label name', L.maxLabelLength, issues);
          if (typeof value !== 'string' || value.length > L.maxLabelLength) {
            issues.push({
              path: `agent.labels.${key.slice(0, 40)}`,
              message: `must be a string of at most ${L.maxLabelLength} characters; got ${describeValue(value)}`,
            });
          }
        }
      }
    }
  }
  if (spec.host !== undefined)
    text(spec.host, 'agent.host', 'a host name', L.maxTextLength, issues);
  if (spec.pid !== undefined) integer(spec.pid, 'agent.pid', 0, Number.MAX_SAFE_INTEGER, issues);
  if (spec.version !== undefined)
    text(spec.version, 'agent.version', 'a version', L.maxTextLength, issues);
  if (spec.owner !== undefined)
    text(spec.owner, 'agent.owner', 'an owner fingerprint', L.maxTextLength, issues);
  fail(issues);
  return { ...spec, capabilities: [...new Set(spec.capabilities)].sort() };
}

/**
 * An agent's report of its process: each field null, or a finite number ≥ 0 (whole bytes for
 * RSS), and an optional whole `abandonedHandlers` ≥ 0. Returns the values to store, CPU rounded
 * to 0.1 %, `abandonedHandlers` 0 when absent.
 */
export function checkReport(report: AgentReport, path: string): AgentReport {
  if (!isObject(report)) {
    throw new ValidationError([
      { path, message: 'must be an object { cpuPercent, rssBytes } (each a number or null)' },
    ]);
  }
  const issues: Issues = [];
  const { cpuPercent, rssBytes, abandonedHandlers = 0 } = report;
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
  if (!Number.isSafeInteger(abandonedHandlers) || abandonedHandlers < 0) {
    issues.push({
      path: `${path}.abandonedHandlers`,
      message: `must be an integer >= 0 when given; got ${String(abandonedHandlers)}`,
    });
  }
  fail(issues);
  return {
    cpuPercent: cpuPercent === null ? null : Math.round(cpuPercent * 10) / 10,
    rssBytes,
    abandonedHandlers,
  };
}

/** `sweep`'s options: an agent TTL ≥ 0 and, when given, a `stallAfterMs` ≥ 1 (integers). */
export function checkSweepOptions(options: SweepOptions): SweepOptions {
  if (!isObject(options)) {
    throw new ValidationError([
      { path: 'sweep', message: 'must be an object { agentTtlMs, stallAfterMs?, spare? }' },
    ]);
  }
  checkInteger(options.agentTtlMs, 'sweep.agentTtlMs', 0);
  if (options.stallAfterMs !== undefined)
    checkInteger(options.stallAfterMs, 'sweep.stallAfterMs', 1);
  if (options.spare !== undefined && typeof options.spare !== 'function') {
    throw new ValidationError([
      { path: 'sweep.spare', message: 'must be a function (agent) => boolean when given' },
    ]);
  }
  return options;
}

/** The routing policy of a backend's `routing` option, defaults applied. */
export function checkRouting(routing: Partial<RoutingPolicy> | undefined): RoutingPolicy {
  const { policy, problems } = resolveRouting(routing);
  if (problems.length > 0) {
    throw new ValidationError(problems.map((message) => ({ path: 'routing', message })));
  }
  return policy;
}

/** A task listing's filter: a task state, ids and a type to match, a page size and cursor. */
export function checkTaskFilter(filter: TaskFilter | undefined): TaskFilter {
  if (filter === undefined) return {};
  if (!isObject(filter)) {
    throw new ValidationError([
      {
        path: 'listTasks',
        message: `must be an object { state?, runId?, type?, agentId?, limit?, cursor? } or absent; got ${describeValue(filter)}`,
      },
    ]);
  }
  const issues: Issues = [];
  if (filter.state !== undefined && !(TASK_STATES as readonly unknown[]).includes(filter.state)) {
    issues.push({
      path: 'listTasks.state',
      message: `${describeValue(filter.state)} is not a task state; use one of ${TASK_STATES.join(', ')}`,
    });
  }
  if (filter.runId !== undefined) id(filter.runId, 'listTasks.runId', 'a run', issues);
  if (filter.type !== undefined)
    text(filter.type, 'listTasks.type', 'a task type', LIMITS.maxTypeLength, issues);
  if (filter.agentId !== undefined) id(filter.agentId, 'listTasks.agentId', 'an agent', issues);
  if (filter.limit !== undefined) integer(filter.limit, 'listTasks.limit', 1, MAX_PAGE, issues);
  cursor(filter.cursor, 'listTasks.cursor', issues);
  fail(issues);
  return filter;
}

/** A run listing's filter: page size, order and cursor. */
export function checkRunFilter(filter: RunFilter | undefined): RunFilter {
  if (filter === undefined) return {};
  if (!isObject(filter)) {
    throw new ValidationError([
      {
        path: 'listRuns',
        message: `must be an object { limit?, cursor?, order? } or absent; got ${describeValue(filter)}`,
      },
    ]);
  }
  const issues: Issues = [];
  if (filter.limit !== undefined) integer(filter.limit, 'listRuns.limit', 1, MAX_PAGE, issues);
  cursor(filter.cursor, 'listRuns.cursor', issues);
  fail(issues);
  return { ...filter, order: runListOrder(filter.order, 'listRuns.order') };
}

/** Which types of the newest events, and how many (1–{@link MAX_LATEST_EVENTS}). */
export function checkLatestEvents(options: LatestEventsOptions): LatestEventsOptions {
  if (!isObject(options)) {
    throw new ValidationError([
      {
        path: 'latestEvents',
        message: `must be an object { types, limit }; got ${describeValue(options)}`,
      },
    ]);
  }
  const issues: Issues = [];
  const types = options.types as unknown;
  if (!Array.isArray(types) || types.length === 0) {
    issues.push({
      path: 'latestEvents.types',
      message: `must be a non-empty array of event types; got ${describeValue(types)}`,
    });
  } else {
    types.forEach((type: unknown, i) => {
      if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type)) {
        issues.push({
          path: `latestEvents.types[${i}]`,
          message: `unknown event type ${describeValue(type)}: use one of ${EVENT_TYPES.join(', ')}`,
        });
      }
    });
  }
  integer(options.limit, 'latestEvents.limit', 1, MAX_LATEST_EVENTS, issues);
  fail(issues);
  return { types: [...new Set(options.types)], limit: options.limit };
}

/** Where to read events from, how many, and how long to wait for some. */
export function checkReadEvents(options: ReadEventsOptions | undefined): ReadEventsOptions {
  if (options === undefined) return {};
  if (!isObject(options)) {
    throw new ValidationError([
      {
        path: 'readEvents',
        message: `must be an object { since?, limit?, blockMs?, signal? } or absent; got ${describeValue(options)}`,
      },
    ]);
  }
  const issues: Issues = [];
  cursor(options.since, 'readEvents.since', issues);
  if (options.limit !== undefined) integer(options.limit, 'readEvents.limit', 1, MAX_PAGE, issues);
  if (options.blockMs !== undefined)
    duration(options.blockMs, 'readEvents.blockMs', LIMITS.maxTimerMs, issues);
  signal(options.signal, 'readEvents.signal', issues);
  fail(issues);
  return options;
}

/**
 * Check an event a caller records: a recordable type, an optional agent id, JSON data within
 * `maxBytes`. Returns it with the defaults applied (no agent: null; no data: `{}`).
 */
export function checkRecordedEvent(
  event: RecordableEvent,
  maxBytes: number,
): Required<RecordableEvent> & { agentId: string | null } {
  if (!isObject(event)) {
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
  const issues: Issues = [];
  if (event.agentId != null) id(event.agentId, 'event.agentId', 'the agent it is about', issues);
  fail(issues);
  const data = event.data ?? {};
  if (!isObject(data)) {
    throw new ValidationError([{ path: 'event.data', message: 'must be a JSON object' }]);
  }
  checkJson(data, 'event.data', maxBytes);
  return { type: event.type, agentId: event.agentId ?? null, data };
}

/** A free-text reason (of a cancel): a string, cut like error messages, or absent. */
export function checkReason(reason: string | undefined, path: string): string | undefined {
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string') {
    throw new ValidationError([
      { path, message: `must be a string or absent; got ${describeValue(reason)}` },
    ]);
  }
  return cut(reason);
}

/** `retryTask`'s options: a reason (a string, cut like error messages), or none. */
export function checkRetryOptions(options: RetryTaskOptions | undefined): RetryTaskOptions {
  if (options === undefined) return {};
  if (!isObject(options)) {
    throw new ValidationError([
      { path: 'retryTask.options', message: 'must be an object { reason? } or absent' },
    ]);
  }
  const reason = checkReason((options as RetryTaskOptions).reason, 'retryTask.reason');
  return reason === undefined ? {} : { reason };
}

/** `submitTasks`'s options: the run to add the tasks to, or none. */
export function checkSubmitOptions(options: SubmitTasksOptions | undefined): SubmitTasksOptions {
  if (options === undefined) return {};
  if (!isObject(options)) {
    throw new ValidationError([
      {
        path: 'submitTasks.options',
        message: `must be an object { runId? } or absent; got ${describeValue(options)}`,
      },
    ]);
  }
  const issues: Issues = [];
  if (options.runId !== undefined) id(options.runId, 'submitTasks.runId', 'a run', issues);
  fail(issues);
  return options;
}

/**
 * The log bounds of a backend's `logs` option, defaults applied: `headBytes` an integer from 0,
 * `tailBytes` one from `LOG_LIMITS.maxLineBytes` (so the newest line always fits), both at most
 * `LOG_LIMITS.maxBoundBytes`.
 */
export function checkLogBounds(bounds: Partial<LogBounds> | undefined): LogBounds {
  if (bounds === undefined) return { ...DEFAULT_LOG_BOUNDS };
  if (!isObject(bounds)) {
    throw new ValidationError([
      {
        path: 'logs',
        message: `must be an object { headBytes?, tailBytes? } or absent; got ${describeValue(bounds)}`,
      },
    ]);
  }
  const issues: Issues = [];
  const headBytes = bounds.headBytes ?? DEFAULT_LOG_BOUNDS.headBytes;
  const tailBytes = bounds.tailBytes ?? DEFAULT_LOG_BOUNDS.tailBytes;
  integer(headBytes, 'logs.headBytes', 0, LOG_LIMITS.maxBoundBytes, issues);
  integer(tailBytes, 'logs.tailBytes', LOG_LIMITS.maxLineBytes, LOG_LIMITS.maxBoundBytes, issues);
  fail(issues);
  return { headBytes, tailBytes };
}

/** The items of an `appendLogs`: each names its lease and holder, and its lines. */
export function checkLogAppends(list: readonly LogAppend[]): CheckedLogAppend[] {
  const issues: Issues = [];
  const all = items(list, 'appendLogs', '{ taskId, token, agentId, lines }');
  const budget: LogBudget = { lines: 0, bytes: 0 };
  const lines = all.map((item, i) => {
    const path = `appendLogs[${i}]`;
    if (!leaseRef(item, path, issues)) return [];
    holder(item, path, issues);
    return logLines(item.lines, `${path}.lines`, issues, budget);
  });
  logBudget(budget, 'appendLogs', issues);
  fail(issues);
  return (all as LogAppend[]).map((item, i) => ({
    taskId: item.taskId,
    token: item.token,
    agentId: item.agentId,
    lines: lines[i]!,
  }));
}

/** A log cursor (`after`): a whole seq from 0, or absent. */
function logCursor(value: unknown, path: string, issues: Issues): void {
  if (value !== undefined) integer(value, path, 0, Number.MAX_SAFE_INTEGER, issues);
}

/** What `readLogs` reads: a task, and optionally an attempt, a cursor, a page size, a stream. */
export function checkReadLogs(options: ReadLogsOptions): ReadLogsOptions & { limit: number } {
  if (!isObject(options)) {
    throw new ValidationError([
      {
        path: 'readLogs',
        message: `must be an object { taskId, attempt?, after?, limit?, stream? }; got ${describeValue(options)}`,
      },
    ]);
  }
  const issues: Issues = [];
  id(options.taskId, 'readLogs.taskId', 'a task', issues);
  if (options.attempt !== undefined)
    integer(options.attempt, 'readLogs.attempt', 1, Number.MAX_SAFE_INTEGER, issues);
  logCursor(options.after, 'readLogs.after', issues);
  if (options.limit !== undefined) integer(options.limit, 'readLogs.limit', 1, MAX_PAGE, issues);
  if (
    options.stream !== undefined &&
    !(LOG_STREAMS as readonly unknown[]).includes(options.stream)
  ) {
    issues.push({
      path: 'readLogs.stream',
      message: `must be one of ${LOG_STREAMS.join(', ')} or absent; got ${describeValue(options.stream)}`,
    });
  }
  fail(issues);
  return { ...options, limit: options.limit ?? DEFAULT_LOG_PAGE };
}

/** What `readAgentLogs` reads: filters by agent, level and time, a cursor and a page size. */
export function checkReadAgentLogs(
  options: ReadAgentLogsOptions | undefined,
): ReadAgentLogsOptions & { limit: number } {
  if (options === undefined) return { limit: DEFAULT_LOG_PAGE };
  if (!isObject(options)) {
    throw new ValidationError([
      {
        path: 'readAgentLogs',
        message: `must be an object { agentId?, level?, since?, until?, after?, limit? } or absent; got ${describeValue(options)}`,
      },
    ]);
  }
  const issues: Issues = [];
  if (options.agentId !== undefined)
    id(options.agentId, 'readAgentLogs.agentId', 'an agent', issues);
  if (options.level !== undefined && !(LOG_LEVELS as readonly unknown[]).includes(options.level)) {
    issues.push({
      path: 'readAgentLogs.level',
      message: `must be one of ${LOG_LEVELS.join(', ')} or absent; got ${describeValue(options.level)}`,
    });
  }
  if (options.since !== undefined)
    integer(options.since, 'readAgentLogs.since', 0, Number.MAX_SAFE_INTEGER, issues);
  if (options.until !== undefined)
    integer(options.until, 'readAgentLogs.until', 0, Number.MAX_SAFE_INTEGER, issues);
  logCursor(options.after, 'readAgentLogs.after', issues);
  if (options.limit !== undefined)
    integer(options.limit, 'readAgentLogs.limit', 1, MAX_PAGE, issues);
  fail(issues);
  const checked = options as ReadAgentLogsOptions;
  return { ...checked, limit: checked.limit ?? DEFAULT_LOG_PAGE };
}

/** A USD amount from 0 to {@link MAX_USD}, else an issue. */
function usd(value: unknown, path: string, issues: Issues): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_USD) {
    issues.push({
      path,
      message: `must be a number of US dollars from 0 to ${MAX_USD}; got ${describeValue(value)}`,
    });
  }
}

/** A token count: absent (0) unless `required`, else an integer from 0 to MAX_TOKENS. */
function tokens(value: unknown, path: string, required: boolean, issues: Issues): void {
  if (value === undefined && !required) return;
  integer(value, path, 0, MAX_TOKENS, issues);
}

/**
 * One model call's usage to record (`recordUsage`): the attempt's lease and holder, the model,
 * token counts (integers; cache reads and writes are parts of the input, reasoning a part of the
 * output), the cost and its basis. Returns it as adapters apply it: counts defaulted to 0, the
 * cost in nano-dollars.
 */
export function checkUsage(input: UsageInput): CheckedUsage {
  const issues: Issues = [];
  if (!leaseRef(input, 'usage', issues)) fail(issues);
  const item = input as unknown as Record<string, unknown>;
  holder(item, 'usage', issues);
  text(item.provider, 'usage.provider', 'a provider name', LIMITS.maxKeyLength, issues);
  text(item.model, 'usage.model', 'a model id', LIMITS.maxKeyLength, issues);
  tokens(item.inputTokens, 'usage.inputTokens', true, issues);
  tokens(item.outputTokens, 'usage.outputTokens', true, issues);
  tokens(item.cacheReadTokens, 'usage.cacheReadTokens', false, issues);
  tokens(item.cacheWriteTokens, 'usage.cacheWriteTokens', false, issues);
  tokens(item.reasoningTokens, 'usage.reasoningTokens', false, issues);
  usd(item.costUsd, 'usage.costUsd', issues);
  if (!(COST_BASES as readonly unknown[]).includes(item.costBasis)) {
    issues.push({
      path: 'usage.costBasis',
      message: `must be one of ${COST_BASES.join(', ')}; got ${describeValue(item.costBasis)}`,
    });
  }
  if (item.reservationId !== undefined)
    id(item.reservationId, 'usage.reservationId', 'a reservation', issues);
  fail(issues);
  const cacheRead = input.cacheReadTokens ?? 0;
  const cacheWrite = input.cacheWriteTokens ?? 0;
  const reasoning = input.reasoningTokens ?? 0;
  if (cacheRead + cacheWrite > input.inputTokens) {
    issues.push({
      path: 'usage.cacheReadTokens',
      message: `cacheReadTokens + cacheWriteTokens (${cacheRead + cacheWrite}) exceed inputTokens (${input.inputTokens}): they are parts of the input, which counts every input token`,
    });
  }
  if (reasoning > input.outputTokens) {
    issues.push({
      path: 'usage.reasoningTokens',
      message: `reasoningTokens (${reasoning}) exceed outputTokens (${input.outputTokens}): reasoning is a part of the output, which counts every output token`,
    });
  }
  fail(issues);
  const checked: CheckedUsage = {
    taskId: input.taskId,
    token: input.token,
    agentId: input.agentId,
    provider: input.provider,
    model: input.model,
    inputTokens: input.inputTokens,
    outputTokens: input.outputTokens,
    cacheReadTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    reasoningTokens: reasoning,
    costUsd: input.costUsd,
    costBasis: input.costBasis,
    costNano: toNano(input.costUsd),
  };
  if (input.reservationId !== undefined) checked.reservationId = input.reservationId;
  return checked;
}

/** A reservation request (`reserveBudget`): the lease, its holder, the worst case in USD. */
export function checkReserve(input: ReserveInput): CheckedReserve {
  const issues: Issues = [];
  if (!leaseRef(input, 'reserve', issues)) fail(issues);
  const item = input as unknown as Record<string, unknown>;
  holder(item, 'reserve', issues);
  usd(item.usd, 'reserve.usd', issues);
  fail(issues);
  return {
    taskId: input.taskId,
    token: input.token,
    agentId: input.agentId,
    usd: input.usd,
    nano: toNano(input.usd),
  };
}

/** What `costs` totals: a run id or the namespace, and a group or none. */
export function checkCostQuery(query: CostQuery | undefined): CostQuery {
  if (query === undefined) return {};
  if (!isObject(query)) {
    throw new ValidationError([
      {
        path: 'costs',
        message: `must be an object { runId?, by? } or absent; got ${describeValue(query)}`,
      },
    ]);
  }
  const issues: Issues = [];
  if (query.runId !== undefined) id(query.runId, 'costs.runId', 'a run', issues);
  if (query.by !== undefined && !(COST_GROUPS as readonly unknown[]).includes(query.by)) {
    issues.push({
      path: 'costs.by',
      message: `must be one of ${COST_GROUPS.join(', ')}; got ${describeValue(query.by)}`,
    });
  }
  fail(issues);
  return query;
}

/** Longest `reason` of a model choice, in characters. */
export const MAX_CHOICE_REASON = 2000;
/** Most models one `modelHistory` call reads. */
export const MAX_HISTORY_MODELS = 16;

function oneOf(value: unknown, allowed: readonly string[], path: string, issues: Issues): void {
  if (!(allowed as readonly unknown[]).includes(value)) {
    issues.push({
      path,
      message: `must be one of ${allowed.join(', ')}; got ${describeValue(value)}`,
    });
  }
}

/** A model choice to record on an attempt (Backend.recordModelChoice). */
export function checkModelChoice(input: ModelChoiceInput): ModelChoiceInput {
  const issues: Issues = [];
  if (!leaseRef(input, 'modelChoice', issues)) fail(issues);
  const item = input as unknown as Record<string, unknown>;
  holder(item, 'modelChoice', issues);
  text(item.model, 'modelChoice.model', 'a model id', LIMITS.maxKeyLength, issues);
  oneOf(item.tier, TIERS, 'modelChoice.tier', issues);
  oneOf(item.complexity, COMPLEXITIES, 'modelChoice.complexity', issues);
  text(item.reason, 'modelChoice.reason', 'why the model was chosen', MAX_CHOICE_REASON, issues);
  fail(issues);
  return {
    taskId: input.taskId,
    token: input.token,
    agentId: input.agentId,
    model: input.model,
    tier: input.tier,
    complexity: input.complexity,
    reason: input.reason,
  };
}

/** A model call's outcome to count (Backend.recordModelOutcome). */
export function checkModelOutcome(input: ModelOutcomeInput): ModelOutcomeInput {
  if (!isObject(input)) {
    throw new ValidationError([
      {
        path: 'modelOutcome',
        message: `must be an object { taskType, complexity, model, succeeded }; got ${describeValue(input)}`,
      },
    ]);
  }
  const issues: Issues = [];
  text(input.taskType, 'modelOutcome.taskType', 'a task type', LIMITS.maxKeyLength, issues);
  oneOf(input.complexity, COMPLEXITIES, 'modelOutcome.complexity', issues);
  text(input.model, 'modelOutcome.model', 'a model id', LIMITS.maxKeyLength, issues);
  if (typeof input.succeeded !== 'boolean') {
    issues.push({
      path: 'modelOutcome.succeeded',
      message: `must be true or false; got ${describeValue(input.succeeded)}`,
    });
  }
  fail(issues);
  return {
    taskType: input.taskType,
    complexity: input.complexity,
    model: input.model,
    succeeded: input.succeeded,
  };
}

/** Which model history to read (Backend.modelHistory). */
export function checkModelHistoryQuery(query: ModelHistoryQuery): ModelHistoryQuery {
  if (!isObject(query)) {
    throw new ValidationError([
      {
        path: 'modelHistory',
        message: `must be an object { taskType, complexity, models }; got ${describeValue(query)}`,
      },
    ]);
  }
  const issues: Issues = [];
  text(query.taskType, 'modelHistory.taskType', 'a task type', LIMITS.maxKeyLength, issues);
  oneOf(query.complexity, COMPLEXITIES, 'modelHistory.complexity', issues);
  if (!Array.isArray(query.models) || query.models.length > MAX_HISTORY_MODELS) {
    issues.push({
      path: 'modelHistory.models',
      message: `must be an array of at most ${MAX_HISTORY_MODELS} model ids; got ${describeValue(query.models)}`,
    });
  } else {
    query.models.forEach((m, i) =>
      text(m, `modelHistory.models[${i}]`, 'a model id', LIMITS.maxKeyLength, issues),
    );
  }
  fail(issues);
  return { taskType: query.taskType, complexity: query.complexity, models: [...query.models] };
}
