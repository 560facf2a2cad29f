/**
 * Named errors with stable codes, so the API, CLI and logs say the same thing.
 * `retryable` tells a worker whether another attempt could succeed.
 */

export type ErrorCode =
  | 'BATON_VALIDATION'
  | 'BATON_CYCLE'
  | 'BATON_PLAN'
  | 'BATON_NOT_FOUND'
  | 'BATON_CONFLICT'
  | 'BATON_LEASE_LOST'
  | 'BATON_AGENT_LOST'
  | 'BATON_TIMEOUT'
  | 'BATON_CANCELLED'
  | 'BATON_NON_RETRYABLE'
  | 'BATON_DEFERRED'
  | 'BATON_PAYLOAD_TOO_LARGE'
  | 'BATON_STORE_UNAVAILABLE'
  | 'BATON_STORE_URL'
  | 'BATON_CLOSED'
  | 'BATON_BUDGET_EXCEEDED'
  | 'BATON_WORKSPACE'
  | 'BATON_MERGE_CONFLICT';

export class BatonError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { retryable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }
}

/** One problem found in user input: where (`path`, e.g. `tasks[2].dependsOn[0]`) and what. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** Input was malformed; nothing was stored. */
export class ValidationError extends BatonError {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[], summary?: string) {
    const text =
      summary ?? issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('\n');
    super('BATON_VALIDATION', text, { details: { issues } });
    this.issues = issues;
  }
}

/** The dependency graph has a cycle; `cycle` is its path, first key repeated at the end. */
export class CycleError extends BatonError {
  readonly cycle: string[];
  constructor(cycle: string[]) {
    super(
      'BATON_CYCLE',
      `dependency cycle: ${cycle.join(' -> ')}. Remove one of these dependsOn entries to break it.`,
      { details: { cycle } },
    );
    this.cycle = cycle;
  }
}

export class NotFoundError extends BatonError {
  constructor(what: string, id: string) {
    super('BATON_NOT_FOUND', `${what} ${id} not found`, { details: { what, id } });
  }
}

export class ConflictError extends BatonError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('BATON_CONFLICT', message, { details });
  }
}

/**
 * The lease is not held by the caller: it expired, was released, the task was cancelled or
 * re-claimed, or another agent holds it. The token the caller presented is kept on the error
 * (`token`) but out of its message and details, which may travel to another party (an HTTP
 * body): a fencing token is the holder's secret.
 */
export class LeaseLostError extends BatonError {
  /** The fencing token the caller presented. */
  readonly token: number;
  constructor(taskId: string, token: number, reason = 'the lease is no longer held') {
    super('BATON_LEASE_LOST', `lease on task ${taskId} lost: ${reason}`, {
      details: { taskId, reason },
    });
    this.token = token;
  }
}

/** The agent was declared lost (missed its heartbeat TTL); it must register again. */
export class AgentLostError extends BatonError {
  constructor(agentId: string) {
    super('BATON_AGENT_LOST', `agent ${agentId} is not registered or was declared lost`, {
      retryable: true,
      details: { agentId },
    });
  }
}

/** An attempt ran past its `timeoutMs`. Retryable. */
export class TimeoutError extends BatonError {
  constructor(timeoutMs: number) {
    super('BATON_TIMEOUT', `attempt timed out after ${timeoutMs} ms`, {
      retryable: true,
      details: { timeoutMs },
    });
  }
}

export class CancelledError extends BatonError {
  constructor(reason = 'cancelled') {
    super('BATON_CANCELLED', reason);
  }
}

/** Throw from a handler to fail the task at once, with no further attempts. */
export class NonRetryableError extends BatonError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('BATON_NON_RETRYABLE', message, { retryable: false, ...options });
  }
}

/**
 * Throw from a handler to say "not now" (the agent it talks to is busy, a rate limit, a resource
 * not there yet): the worker gives the lease back without counting the attempt, and the task is
 * claimable again after `delayMs` (0: at once). Unlike a failure it never uses up `maxAttempts`,
 * so a handler that always defers keeps its task waiting forever; defer only when the thing you
 * wait for is alive and says it will have room later.
 *
 * @example throw new DeferError('model server busy', { delayMs: 5_000 });
 */
export class DeferError extends BatonError {
  /** How long the task waits before it can be claimed again, in whole ms. */
  readonly delayMs: number;

  constructor(message: string, options: { delayMs: number; cause?: unknown }) {
    const delayMs = options?.delayMs;
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new ValidationError([
        {
          path: 'DeferError.delayMs',
          message: `must be a finite number of ms >= 0; got ${String(delayMs)}`,
        },
      ]);
    }
    const rounded = Math.round(delayMs);
    super('BATON_DEFERRED', message, {
      retryable: true,
      details: { delayMs: rounded },
      cause: options.cause,
    });
    this.delayMs = rounded;
  }
}

/** What a budget that refused a reservation held when it refused (see {@link BudgetExceededError}). */
export interface BudgetFacts {
  /** Whose budget: the run's, or the task's own. */
  scope: 'run' | 'task';
  /** The run or task id. */
  id: string;
  limitUsd: number;
  /** Recorded by calls that finished. */
  spentUsd: number;
  /** Held by reservations of calls in flight. */
  reservedUsd: number;
  /** The worst case of the call that asked. */
  requestedUsd: number;
}

/**
 * A model call's worst case does not fit what is left of its run's (or task's) budget: the call
 * is not made. Not retryable: another attempt would meet the same budget. Its `details` are the
 * {@link BudgetFacts}.
 */
export class BudgetExceededError extends BatonError {
  readonly facts: BudgetFacts;
  constructor(facts: BudgetFacts) {
    const usd = (n: number): string => `$${n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 6 : 2)}`;
    const left = Math.max(0, facts.limitUsd - facts.spentUsd - facts.reservedUsd);
    super(
      'BATON_BUDGET_EXCEEDED',
      `the ${facts.scope} ${facts.id} has a budget of ${usd(facts.limitUsd)}: ${usd(facts.spentUsd)} spent and ${usd(facts.reservedUsd)} held by calls in flight leave ${usd(left)}, less than this call's worst case of ${usd(facts.requestedUsd)}. Raise the ${facts.scope}'s budget (budget.usd), lower maxTokens, or choose a cheaper model`,
      { retryable: false, details: { ...facts } },
    );
    this.facts = facts;
  }
}

export class PayloadTooLargeError extends BatonError {
  constructor(where: string, bytes: number, limit: number) {
    super(
      'BATON_PAYLOAD_TOO_LARGE',
      `${where} is ${bytes} bytes, over the limit of ${limit} bytes; store large data elsewhere and pass a reference`,
      { details: { where, bytes, limit } },
    );
  }
}

export class StoreUnavailableError extends BatonError {
  constructor(message: string, cause?: unknown) {
    super('BATON_STORE_UNAVAILABLE', message, { retryable: true, cause });
  }
}

/** One problem in a plan file: where (1-based line and column, field path) and what. */
export interface PlanIssue {
  line: number;
  column: number;
  /** The field, as in `tasks[3].dependsOn[0]`; empty for a syntax error. */
  field: string;
  message: string;
}

/**
 * A plan file could not be loaded. Every issue found is listed, each with its line, and the
 * message reads `plans/x.yaml:14:7: tasks[3].priority: …`, one issue per line. `line`, `column`
 * and `field` are those of the first issue. A dependency cycle keeps its `CycleError` as `cause`
 * and its path in `details.cycle`.
 */
export class PlanError extends BatonError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly field: string;
  readonly issues: PlanIssue[];

  constructor(
    file: string,
    issues: PlanIssue[],
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    const first = issues[0] ?? { line: 1, column: 1, field: '', message: 'invalid plan' };
    super(
      'BATON_PLAN',
      (issues.length > 0 ? issues : [first])
        .map((i) => `${file}:${i.line}:${i.column}: ${i.field ? `${i.field}: ` : ''}${i.message}`)
        .join('\n'),
      { cause: options.cause, details: { ...options.details, file, issues } },
    );
    this.file = file;
    this.line = first.line;
    this.column = first.column;
    this.field = first.field;
    this.issues = issues;
  }
}

/**
 * A git repository, branch or worktree Baton was asked to use is not usable as asked (not a
 * repository, a missing base branch, a name that cannot be a branch…), or a git command failed.
 * The message says what, where, and how to fix it; nothing was changed.
 */
export class WorkspaceError extends BatonError {
  constructor(
    message: string,
    options: { retryable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super('BATON_WORKSPACE', message, options);
  }
}

/**
 * A task's branch does not merge cleanly into its run's integration branch, and the run's policy
 * is `conflict: fail`. Not retryable: another attempt would meet the same conflict.
 * `details.files` lists the conflicting paths.
 */
export class MergeConflictError extends BatonError {
  readonly files: string[];
  constructor(message: string, files: string[]) {
    super('BATON_MERGE_CONFLICT', message, { retryable: false, details: { files } });
    this.files = files;
  }
}
