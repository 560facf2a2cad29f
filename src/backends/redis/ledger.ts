/**
 * Reading the ledger's keys on Redis (keys.ts: u:<task>, ct:<scope>, cg:<scope>:<group>, budgets,
 * spent, held) and decoding the replies of its scripts (`record-usage-10.lua`,
 * `reserve-budget-10.lua`). Pure: the adapter does the I/O.
 */
import {
  budgetStatus,
  compareGroups,
  emptyTotals,
  fromNano,
  type BudgetStatus,
  type CostGroupTotals,
  type CostTotals,
  type UsageRecord,
} from '../../core/ledger.ts';
import type { CheckedReserve, CheckedUsage, ReserveOutcome, UsageOutcome } from '../backend.ts';

/** A recorded call as stored in u:<task> (record-usage-10.lua): the cost in nano-dollars. */
interface UsageJson extends Omit<UsageRecord, 'costUsd'> {
  costNano: number;
}

export function toUsageRecord(text: string): UsageRecord {
  const { costNano, ...rest } = JSON.parse(text) as UsageJson;
  return { ...rest, costUsd: fromNano(costNano) };
}

/** record-usage's reply as the seam's answer. */
export function usageOutcome(reply: unknown[], usage: CheckedUsage): UsageOutcome {
  const status = String(reply[0]);
  if (status === 'not_found' || status === 'not_held') return { status, taskId: usage.taskId };
  const [, attempt, run, epic, at] = reply as string[];
  return {
    status: 'ok',
    record: {
      taskId: usage.taskId,
      attempt: Number(attempt),
      runId: run === '' || run === undefined ? null : run,
      epic: JSON.parse(epic ?? 'null') as string | null,
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
      at: Number(at),
    },
  };
}

/**
 * reserve-budget's reply as the seam's answer; `refused` words a lease refusal (the adapter's
 * shared decoding of includes/lease.lua's answers).
 */
export function reserveOutcome(
  reply: unknown[],
  input: CheckedReserve,
  reservationId: string,
  refused: (raw: unknown[]) => ReserveOutcome,
): ReserveOutcome {
  switch (reply[0]) {
    case 'ok':
      return { status: 'ok', reservation: { id: reservationId, usd: fromNano(input.nano) } };
    case 'exceeded': {
      const [, scope, id, limit, spent, held, nano] = reply as string[];
      return {
        status: 'exceeded',
        facts: {
          scope: scope === 'task' ? 'task' : 'run',
          id: id!,
          limitNano: Number(limit),
          spentNano: Number(spent),
          reservedNano: Number(held),
          requestedNano: Number(nano),
        },
      };
    }
    default:
      return refused(reply);
  }
}

const METRICS = {
  calls: 'calls',
  in: 'inputTokens',
  out: 'outputTokens',
  cr: 'cacheReadTokens',
  cw: 'cacheWriteTokens',
  rs: 'reasoningTokens',
} as const satisfies Record<string, keyof CostTotals>;

/** A ct:<scope> hash as totals. */
export function totalsOf(hash: Record<string, string>): CostTotals {
  const totals = emptyTotals();
  for (const [field, name] of Object.entries(METRICS)) totals[name] = Number(hash[field] ?? 0);
  totals.costUsd = fromNano(Number(hash.cost ?? 0));
  return totals;
}

/** A cg:<scope>:<group> hash as the groups' totals, most expensive first. */
export function groupsOf(hash: Record<string, string>): CostGroupTotals[] {
  const byKey = new Map<string, CostGroupTotals>();
  for (const [field, value] of Object.entries(hash)) {
    const bar = field.indexOf('|');
    const metric = field.slice(0, bar);
    const key = field.slice(bar + 1);
    let group = byKey.get(key);
    if (!group) byKey.set(key, (group = { key: key === '' ? null : key, ...emptyTotals() }));
    if (metric === 'cost') group.costUsd = fromNano(Number(value));
    else {
      const name = METRICS[metric as keyof typeof METRICS];
      if (name !== undefined) group[name] = Number(value);
    }
  }
  return [...byKey.values()].sort(compareGroups);
}

/** A budget's fields (limit, spent, held; null when absent) as its status, or null without one. */
export function budgetOfFields(
  limit: string | null,
  spent: string | null,
  held: string | null,
): BudgetStatus | null {
  if (limit === null) return null;
  return budgetStatus(Number(limit), Number(spent ?? 0), Number(held ?? 0));
}
