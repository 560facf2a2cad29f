/**
 * The ledger as executors use it (docs/costs.md): price each model call and record it against the
 * attempt that made it, and hold each call's worst case against its run's and task's budgets
 * before it is made. Everything it stores goes through the backend seam; the rules it applies
 * (pricing, the error of a budget that cannot hold a call) are decided here, once, above it.
 *
 * An executor wires it in a few lines, through the worker's task context (`ctx.costs`, an
 * {@link AttemptCosts}):
 *
 * ```ts
 * const reservation = await ctx.costs.reserveCall({ provider, model, inputTokens, maxOutputTokens });
 * try {
 *   const usage = await callTheModel();          // however it reports usage
 *   await ctx.costs.record(usage);               // priced, recorded, the reservation settled
 * } finally {
 *   await ctx.costs.release(reservation.id);     // a no-op once settled
 * }
 * ```
 */
import type { Backend, HeldLeaseRef, ModelHistory } from '../backends/backend.ts';
import { recordedModelChoice, recordedUsage, reservationOf } from '../backends/backend.ts';
import { ValidationError } from '../core/errors.ts';
import type { BudgetStatus, ModelUsage, Reservation, UsageRecord } from '../core/ledger.ts';
import type { Complexity, Tier } from '../core/model-choice.ts';
import type { PriceOverrides } from '../core/pricing.ts';
import type { AttemptModel, Lease } from '../core/types.ts';
import { Prices, type CallEstimate } from './prices.ts';

export interface LedgerOptions {
  /**
   * Prices by `provider:model` (or `provider:*`) in USD per million tokens, overriding or
   * extending the maintained table (`core/pricing.ts`).
   * @default none: the table's prices
   * @example { 'vllm:qwen3-32b': { inputMtok: 0.05, outputMtok: 0.2 } }
   */
  prices?: PriceOverrides;
}

/** The lease a call is recorded or reserved against: its task, token and holder. */
export type LeaseHolder = HeldLeaseRef;

function holderOf(lease: LeaseHolder): LeaseHolder {
  return { taskId: lease.taskId, token: lease.token, agentId: lease.agentId };
}

export class Ledger {
  readonly #backend: Backend;
  readonly prices: Prices;

  /** @throws ValidationError for a malformed `prices` option. */
  constructor(backend: Backend, options: LedgerOptions = {}) {
    this.#backend = backend;
    this.prices = new Prices(options.prices);
  }

  /**
   * Price one model call and record it against the attempt of `lease`, whether or not the lease
   * is still held (a fenced-out attempt's calls cost money too). With `reservationId`, the
   * reservation is settled in the same step.
   *
   * @throws ValidationError for malformed usage; ConflictError when the agent never held the
   *   attempt; NotFoundError when the task does not exist.
   */
  async recordUsage(
    lease: LeaseHolder,
    usage: ModelUsage,
    options: { reservationId?: string } = {},
  ): Promise<UsageRecord> {
    const { costUsd, costBasis } = await this.prices.price(usage);
    const input = {
      ...holderOf(lease),
      provider: usage.provider,
      model: usage.model,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cacheReadTokens: usage.cacheReadTokens ?? 0,
      cacheWriteTokens: usage.cacheWriteTokens ?? 0,
      reasoningTokens: usage.reasoningTokens ?? 0,
      costUsd,
      costBasis,
      ...(options.reservationId === undefined ? {} : { reservationId: options.reservationId }),
    };
    return recordedUsage(await this.#backend.recordUsage(input), input);
  }

  /**
   * Hold `worstCaseUsd` against the budgets of the lease's run and task, atomically.
   *
   * @throws BudgetExceededError (`BATON_BUDGET_EXCEEDED`, not retryable) when a budget cannot
   *   hold it; LeaseLostError when the lease is not held.
   */
  async reserveBudget(lease: LeaseHolder, worstCaseUsd: number): Promise<Reservation> {
    const ref = holderOf(lease);
    return reservationOf(await this.#backend.reserveBudget({ ...ref, usd: worstCaseUsd }), ref);
  }

  /** Record the call a reservation was held for, settling it to the actual cost. */
  settleReservation(
    lease: LeaseHolder,
    reservationId: string,
    usage: ModelUsage,
  ): Promise<UsageRecord> {
    return this.recordUsage(lease, usage, { reservationId });
  }

  /** Give a reservation back: its call never happened. False when it was not held any more. */
  releaseReservation(reservationId: string): Promise<boolean> {
    return this.#backend.releaseReservation(reservationId);
  }

  /** The budget of a run or task, or null when it has none. */
  budgetOf(id: string): Promise<BudgetStatus | null> {
    return this.#backend.budgetOf(id);
  }

  /** The backend, for model selection's records ({@link AttemptCosts}). */
  get backend(): Backend {
    return this.#backend;
  }

  /**
   * Reserve the worst case of a call about to be made (its input at the model's dearest input
   * rate, and all of its `maxOutputTokens`).
   *
   * @throws BudgetExceededError when it does not fit; ValidationError when no price is known for
   *   the model while the run or task has a budget (a budget cannot hold an unknown amount).
   */
  async reserveCall(lease: Lease, call: CallEstimate): Promise<Reservation> {
    const worst = await this.prices.worstCaseUsd(call);
    if (worst === null) {
      const budgets = await Promise.all([
        lease.task.runId === null ? null : this.budgetOf(lease.task.runId),
        this.budgetOf(lease.taskId),
      ]);
      if (budgets.some((b) => b !== null)) {
        throw new ValidationError([
          {
            path: 'prices',
            message: `no price is known for ${call.provider}:${call.model}, so its calls cannot be held against the budget of task ${lease.taskId}${lease.task.runId === null ? '' : ` or its run ${lease.task.runId}`}; add it to the prices option, e.g. '${call.provider}:${call.model}': { inputMtok: 1, outputMtok: 2 }`,
          },
        ]);
      }
    }
    return this.reserveBudget(lease, worst ?? 0);
  }
}

/**
 * The ledger bound to one attempt: what a handler gets as `ctx.costs`. It remembers the
 * reservations it made, so `record` settles the oldest one still open unless told which, and the
 * worker gives back whatever is still open when the handler returns.
 */
export class AttemptCosts {
  readonly #ledger: Ledger;
  readonly #lease: Lease;
  /** Reservations made through this context and still open, oldest first. */
  readonly #open: string[] = [];

  constructor(ledger: Ledger, lease: Lease) {
    this.#ledger = ledger;
    this.#lease = lease;
  }

  /**
   * Hold `worstCaseUsd` against the run's and task's budgets before a call.
   * @throws BudgetExceededError (not retryable: the task fails with BATON_BUDGET_EXCEEDED).
   */
  async reserve(worstCaseUsd: number): Promise<Reservation> {
    const reservation = await this.#ledger.reserveBudget(this.#lease, worstCaseUsd);
    this.#open.push(reservation.id);
    return reservation;
  }

  /** Reserve a call's worst case from its model's price ({@link Ledger.reserveCall}). */
  async reserveCall(call: CallEstimate): Promise<Reservation> {
    const reservation = await this.#ledger.reserveCall(this.#lease, call);
    this.#open.push(reservation.id);
    return reservation;
  }

  /**
   * Price and record one model call of this attempt; it settles `reservationId`, or else the
   * oldest reservation this context holds (`null`: none).
   */
  async record(
    usage: ModelUsage,
    options: { reservationId?: string | null } = {},
  ): Promise<UsageRecord> {
    const reservationId =
      options.reservationId === undefined ? this.#open[0] : (options.reservationId ?? undefined);
    const record = await this.#ledger.recordUsage(
      this.#lease,
      usage,
      reservationId === undefined ? {} : { reservationId },
    );
    if (reservationId !== undefined) this.#forget(reservationId);
    return record;
  }

  /** Give a reservation back (its call never happened). False when it was not held any more. */
  async release(reservationId: string): Promise<boolean> {
    this.#forget(reservationId);
    return this.#ledger.releaseReservation(reservationId);
  }

  /** True while reservations made through this context are open. */
  get holding(): boolean {
    return this.#open.length > 0;
  }

  /** Give back every reservation still open (the worker does, when the handler returns). */
  async releaseAll(): Promise<void> {
    const open = this.#open.splice(0);
    await Promise.all(open.map((id) => this.#ledger.releaseReservation(id)));
  }

  /**
   * The run's budget as model selection reads it (`core/model-choice.ts`): its limit and what is
   * spent or held; undefined when the task has no run or the run no budget.
   */
  async budget(): Promise<{ limitUsd: number; usedUsd: number } | undefined> {
    const runId = this.#lease.task.runId;
    if (runId === null) return undefined;
    const status = await this.#ledger.budgetOf(runId);
    if (status === null) return undefined;
    return { limitUsd: status.limitUsd, usedUsd: status.spentUsd + status.reservedUsd };
  }

  // Model selection (docs/llm.md#model-selection): `model: auto` reads the run's budget above,
  // the history of this task's type, and the tier of a failed attempt before this one.

  /** How calls of this task's type at `complexity` ended on each of `models`. */
  modelHistory(complexity: Complexity, models: string[]): Promise<ModelHistory[]> {
    return this.#ledger.backend.modelHistory({
      taskType: this.#lease.task.type,
      complexity,
      models,
    });
  }

  /**
   * Record on this attempt the model chosen for it and why, with a `task.model_selected` event.
   * @throws ConflictError when this agent never held the attempt.
   */
  async recordModelChoice(choice: AttemptModel): Promise<void> {
    const input = { ...holderOf(this.#lease), ...choice };
    recordedModelChoice(await this.#ledger.backend.recordModelChoice(input), input);
  }

  /** Count how this attempt's model call ended, in the history of this task's type. */
  recordModelOutcome(outcome: {
    complexity: Complexity;
    model: string;
    succeeded: boolean;
  }): Promise<void> {
    return this.#ledger.backend.recordModelOutcome({ taskType: this.#lease.task.type, ...outcome });
  }

  /**
   * The tier of the attempt before this one when it failed (or timed out) on a model chosen by
   * model selection; undefined otherwise (the first attempt, a success, a lease lost, no choice).
   */
  async failedTier(): Promise<Tier | undefined> {
    if (this.#lease.attempt <= 1) return undefined;
    const attempts = await this.#ledger.backend.getAttempts(this.#lease.taskId);
    const before = attempts.filter((a) => a.attempt < this.#lease.attempt).at(-1);
    if (before === undefined || before.model === null) return undefined;
    return before.outcome === 'failed' || before.outcome === 'timed_out'
      ? before.model.tier
      : undefined;
  }

  /**
   * What the run's and the task's budgets have left (limit − spent − held), the smaller of the
   * two; undefined when neither has a budget. A coding agent's session limit is capped by it.
   */
  async remainingUsd(): Promise<number | undefined> {
    const runId = this.#lease.task.runId;
    const budgets = await Promise.all([
      runId === null ? null : this.#ledger.budgetOf(runId),
      this.#ledger.budgetOf(this.#lease.taskId),
    ]);
    const left = budgets.filter((b) => b !== null).map((b) => b.leftUsd);
    return left.length === 0 ? undefined : Math.min(...left);
  }

  #forget(reservationId: string): void {
    const at = this.#open.indexOf(reservationId);
    if (at >= 0) this.#open.splice(at, 1);
  }
}
