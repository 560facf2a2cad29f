/**
 * How the CLI shows what model calls cost (docs/costs.md): amounts, a budget, and the one cost
 * line of `baton status` and the run summary (`baton costs` renders its table itself).
 */
import { ValidationError } from '../core/errors.ts';
import type { BudgetStatus, CostTotals } from '../core/ledger.ts';
import { checkPrices, type PriceOverrides } from '../core/pricing.ts';

/** `$1.25`; a small amount with its significant digits: `$0.00042`. */
export function formatUsd(usd: number): string {
  const sign = usd < 0 ? '-' : '';
  const n = Math.abs(usd);
  if (n === 0 || n >= 0.01) return `${sign}$${n.toFixed(2)}`;
  return `${sign}$${Number(n.toPrecision(2)).toString()}`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** `budget $5.00: $4.20 spent, $0.30 held by calls in flight, $0.50 left`. */
export function budgetText(budget: BudgetStatus): string {
  const held =
    budget.reservedUsd > 0 ? `, ${formatUsd(budget.reservedUsd)} held by calls in flight` : '';
  return `budget ${formatUsd(budget.limitUsd)}: ${formatUsd(budget.spentUsd)} spent${held}, ${formatUsd(budget.leftUsd)} left`;
}

/**
 * The cost line of a run (status, summary): `cost            $0.35 in 20 model calls; budget …`;
 * null when the run made no call and has no budget.
 */
export function costLine(
  total: CostTotals,
  budget: BudgetStatus | null,
  label = 'cost            ',
): string | null {
  if (total.calls === 0 && budget === null) return null;
  const calls = `${formatUsd(total.costUsd)} in ${count(total.calls)} model call${total.calls === 1 ? '' : 's'}`;
  return `${label}${calls}${budget === null ? '' : `; ${budgetText(budget)}`}`;
}

/**
 * The `prices` of the CLI's clients and agents (docs/costs.md), from `BATON_PRICES`: JSON of prices
 * by `provider:model` (or `provider:*`) in USD per million tokens, e.g.
 * `{"ollama:*":{"inputMtok":0,"outputMtok":0}}`. Undefined when it is not set.
 *
 * @throws ValidationError naming BATON_PRICES when it is not JSON or not prices.
 */
export function resolvePrices(env: NodeJS.ProcessEnv): PriceOverrides | undefined {
  const text = env['BATON_PRICES'];
  if (text === undefined || text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError([
      {
        path: 'BATON_PRICES',
        message: `is not JSON (${(error as Error).message}); write prices by 'provider:model' in USD per million tokens, e.g. BATON_PRICES='{"ollama:*":{"inputMtok":0,"outputMtok":0}}'`,
      },
    ]);
  }
  return checkPrices(value, 'BATON_PRICES');
}
