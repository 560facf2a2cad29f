/**
 * The usage and cost ledger, budgets and reservations on SQLite (docs/costs.md; the tables are in
 * `migrations/000010_ledger.sql`). Each write runs inside the backend's write transaction, so a
 * reservation's check (spent + reserved + amount ≤ limit, for the run's and the task's budget) and
 * its hold are one atomic step across every process on the file: concurrent calls cannot
 * overshoot a budget. The statements are this module's own catalogue (`sql/usage-*`,
 * `sql/budget-*`, `sql/reservation*`), prepared once per connection.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import {
  budgetStatus,
  compareGroups,
  emptyTotals,
  fromNano,
  toNano,
  type BudgetStatus,
  type CostBasis,
  type CostGroup,
  type CostGroupTotals,
  type CostTotals,
  type UsageRecord,
} from '../../core/ledger.ts';
import type { NormalizedTask } from '../../core/types.ts';
import type {
  BudgetRefusal,
  CheckedReserve,
  CheckedUsage,
  ReserveOutcome,
  SubmittedTask,
  UsageOutcome,
} from '../backend.ts';
import { newReservationId } from '../ids.ts';
import { sqlText } from './database.ts';
import type { WriteTx } from './transaction.ts';

const FILES = {
  usageTarget: 'usage-target',
  usageInsert: 'usage-insert',
  usageOfTask: 'usage-of-task',
  usageAttemptCost: 'usage-attempt-cost',
  usageTotalsOfNamespace: 'usage-totals-of-namespace',
  usageTotalsOfRun: 'usage-totals-of-run',
  usageGroupsOfNamespace: 'usage-groups-of-namespace',
  usageGroupsOfRun: 'usage-groups-of-run',
  budgetInsert: 'budget-insert',
  budgetById: 'budget-by-id',
  budgetSpend: 'budget-spend',
  budgetHold: 'budget-hold',
  reservationInsert: 'reservation-insert',
  reservationDelete: 'reservation-delete',
  reservationsLapsed: 'reservations-lapsed',
} as const;

export type LedgerStatements = Record<keyof typeof FILES, StatementSync>;

export function prepareLedgerStatements(db: DatabaseSync): LedgerStatements {
  const out = {} as LedgerStatements;
  for (const [name, file] of Object.entries(FILES) as [keyof typeof FILES, string][]) {
    out[name] = db.prepare(sqlText(file));
  }
  return out;
}

interface UsageRow {
  task_id: string;
  attempt: number;
  run_id: string | null;
  epic: string | null;
  agent_id: string;
  provider: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  cost_nano: number;
  cost_basis: string;
  at: number;
}

interface TotalsRow {
  key?: string | null;
  calls: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  cost_nano: number;
}

interface BudgetRow {
  id: string;
  limit_nano: number;
  spent_nano: number;
  reserved_nano: number;
}

function toRecord(row: UsageRow): UsageRecord {
  return {
    taskId: row.task_id,
    attempt: row.attempt,
    runId: row.run_id,
    epic: row.epic,
    agentId: row.agent_id,
    provider: row.provider,
    model: row.model,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    cacheReadTokens: row.cache_read_tokens,
    cacheWriteTokens: row.cache_write_tokens,
    reasoningTokens: row.reasoning_tokens,
    costUsd: fromNano(row.cost_nano),
    costBasis: row.cost_basis as CostBasis,
    at: row.at,
  };
}

function toTotals(row: TotalsRow | undefined): CostTotals {
  if (!row) return emptyTotals();
  return {
    calls: row.calls,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    cacheReadTokens: row.cache_read_tokens,
    cacheWriteTokens: row.cache_write_tokens,
    reasoningTokens: row.reasoning_tokens,
    costUsd: fromNano(row.cost_nano),
  };
}

/** `json` (an object's text) with `"costUsd"` appended when the attempt's calls cost anything. */
export function withCost(json: string, costNano: number | null | undefined): string {
  if (costNano === null || costNano === undefined) return json;
  return `${json.slice(0, -1)},"costUsd":${fromNano(costNano)}}`;
}

export class SqliteLedger {
  readonly #st: LedgerStatements;
  readonly #ns: string;

  constructor(st: LedgerStatements, ns: string) {
    this.#st = st;
    this.#ns = ns;
  }

  /**
   * The budgets of a submission, in its transaction: the run's (a new run), and each new task's
   * own (`submitted[i]` answers `tasks[i]`; a task that already existed keeps its budget).
   */
  insertBudgets(
    runId: string | null,
    runBudgetUsd: number | null,
    tasks: readonly NormalizedTask[],
    submitted: readonly SubmittedTask[],
  ): void {
    if (runId !== null && runBudgetUsd !== null)
      this.#st.budgetInsert.run(runId, this.#ns, toNano(runBudgetUsd));
    tasks.forEach((task, i) => {
      const answer = submitted[i];
      if (task.budgetUsd === undefined || !answer || answer.existing) return;
      this.#st.budgetInsert.run(answer.id, this.#ns, toNano(task.budgetUsd));
    });
  }

  /** Record one call (Backend.recordUsage), in a write transaction. */
  record(tx: WriteTx, usage: CheckedUsage): UsageOutcome {
    const st = this.#st;
    const target = st.usageTarget.get(usage.taskId, this.#ns, usage.token) as
      | {
          seq: number;
          run_id: string | null;
          epic: string | null;
          attempt: number | null;
          agent_id: string | null;
        }
      | undefined;
    if (!target) return { status: 'not_found', taskId: usage.taskId };
    if (target.attempt === null || target.agent_id !== usage.agentId)
      return { status: 'not_held', taskId: usage.taskId };
    const attempt = target.attempt;
    st.usageInsert.run(
      this.#ns,
      usage.taskId,
      attempt,
      target.run_id,
      target.epic,
      usage.agentId,
      usage.provider,
      usage.model,
      usage.inputTokens,
      usage.outputTokens,
      usage.cacheReadTokens,
      usage.cacheWriteTokens,
      usage.reasoningTokens,
      usage.costNano,
      usage.costBasis,
      tx.now,
    );
    st.usageAttemptCost.run(target.seq, usage.token, usage.costNano);
    st.budgetSpend.run(target.run_id, usage.taskId, usage.costNano);
    if (usage.reservationId !== undefined) this.#letGo(usage.reservationId, usage.taskId);
    const record: UsageRecord = {
      taskId: usage.taskId,
      attempt,
      runId: target.run_id,
      epic: target.epic,
      agentId: usage.agentId,
      provider: usage.provider,
      model: usage.model,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cacheReadTokens: usage.cacheReadTokens,
      cacheWriteTokens: usage.cacheWriteTokens,
      reasoningTokens: usage.reasoningTokens,
      costUsd: fromNano(usage.costNano),
      costBasis: usage.costBasis,
      at: tx.now,
    };
    tx.event('usage.recorded', usage.taskId, target.run_id, usage.agentId, usageEventData(record));
    return { status: 'ok', record };
  }

  /**
   * Hold a call's worst case (Backend.reserveBudget) for a lease the caller was found to hold
   * (`lease`), in a write transaction: refused when a budget of the run or of the task cannot
   * hold it.
   */
  reserve(
    tx: WriteTx,
    input: CheckedReserve,
    lease: { seq: number; runId: string | null },
  ): ReserveOutcome {
    for (const [scope, id] of [
      ['run', lease.runId],
      ['task', input.taskId],
    ] as const) {
      if (id === null) continue;
      const budget = this.#st.budgetById.get(id, this.#ns) as BudgetRow | undefined;
      if (budget && budget.spent_nano + budget.reserved_nano + input.nano > budget.limit_nano) {
        const facts: BudgetRefusal = {
          scope,
          id,
          limitNano: budget.limit_nano,
          spentNano: budget.spent_nano,
          reservedNano: budget.reserved_nano,
          requestedNano: input.nano,
        };
        return { status: 'exceeded', facts };
      }
    }
    const id = newReservationId();
    this.#st.reservationInsert.run(
      id,
      this.#ns,
      lease.seq,
      input.taskId,
      input.token,
      lease.runId,
      input.nano,
      tx.now,
    );
    this.#st.budgetHold.run(lease.runId, input.taskId, input.nano);
    return { status: 'ok', reservation: { id, usd: fromNano(input.nano) } };
  }

  /** Give a reservation back (Backend.releaseReservation); true when it was held. */
  release(reservationId: string, taskId: string | null): boolean {
    return this.#letGo(reservationId, taskId);
  }

  /** Release every reservation whose lease is not held any more (the sweep). Returns how many. */
  sweep(now: number): number {
    const lapsed = this.#st.reservationsLapsed.all(this.#ns, now) as unknown as { id: string }[];
    for (const { id } of lapsed) this.#letGo(id, null);
    return lapsed.length;
  }

  /**
   * Drop a reservation and what it held; for a settle, only a reservation of `taskId` (another
   * task's is not this call's to settle: it is left to its own lease). True when one was dropped.
   */
  #letGo(reservationId: string, taskId: string | null): boolean {
    const held = this.#st.reservationDelete.get(reservationId, this.#ns, taskId) as
      { task_id: string; run_id: string | null; nano: number } | undefined;
    if (!held) return false;
    this.#st.budgetHold.run(held.run_id, held.task_id, -held.nano);
    return true;
  }

  usageOf(taskId: string): UsageRecord[] {
    return (this.#st.usageOfTask.all(taskId, this.#ns) as unknown as UsageRow[]).map(toRecord);
  }

  /** Totals of a run (or the namespace), and by group when asked. */
  totals(
    runId: string | null,
    by: CostGroup | null,
  ): { total: CostTotals; groups: CostGroupTotals[] } {
    const st = this.#st;
    const total = toTotals(
      (runId === null
        ? st.usageTotalsOfNamespace.get(this.#ns)
        : st.usageTotalsOfRun.get(this.#ns, runId)) as TotalsRow | undefined,
    );
    if (by === null) return { total, groups: [] };
    const rows = (runId === null
      ? st.usageGroupsOfNamespace.all(this.#ns, by)
      : st.usageGroupsOfRun.all(this.#ns, runId, by)) as unknown as TotalsRow[];
    const groups = rows.map((row) => ({ key: row.key ?? null, ...toTotals(row) }));
    groups.sort(compareGroups);
    return { total, groups };
  }

  budgetOf(id: string): BudgetStatus | null {
    const row = this.#st.budgetById.get(id, this.#ns) as BudgetRow | undefined;
    return row ? budgetStatus(row.limit_nano, row.spent_nano, row.reserved_nano) : null;
  }
}

/** The `usage.recorded` event's data: the call's model, tokens, cost and basis. */
export function usageEventData(r: UsageRecord): Record<string, string | number> {
  return {
    attempt: r.attempt,
    provider: r.provider,
    model: r.model,
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    cacheReadTokens: r.cacheReadTokens,
    cacheWriteTokens: r.cacheWriteTokens,
    reasoningTokens: r.reasoningTokens,
    costUsd: r.costUsd,
    costBasis: r.costBasis,
  };
}
