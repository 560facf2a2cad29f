/**
 * The usage and cost ledger's domain (docs/costs.md): what one model call recorded, the totals
 * the ledger answers, budgets and the rule a reservation is held to. Pure: the stores apply it.
 *
 * Money is counted in whole nano-dollars (1e-9 USD) wherever it is stored or summed, so totals
 * and budget checks are exact integer arithmetic on every backend (a Lua number, a SQLite
 * INTEGER, a JavaScript number are all exact integers below 2^53, that is up to $9 million);
 * it is shown in USD.
 */
import { describeValue } from './text.ts';

/** Largest budget, and largest cost of one call, in USD. */
export const MAX_USD = 1_000_000;
/** Largest token count of one call. */
export const MAX_TOKENS = 1_000_000_000_000;
/** Nano-dollars in a US dollar. */
export const NANO_PER_USD = 1_000_000_000;

/** USD to whole nano-dollars (the unit the stores count in). */
export function toNano(usd: number): number {
  return Math.round(usd * NANO_PER_USD);
}

/** Whole nano-dollars to USD. */
export function fromNano(nano: number): number {
  return nano / NANO_PER_USD;
}

/**
 * Where a recorded cost came from:
 * - `provider`: the provider (or an agent CLI) reported it with the call: it wins over any table;
 * - `override`: the user's own price for the model (the `prices` option);
 * - `table`: the maintained price table (`@pydantic/genai-prices`);
 * - `unpriced`: no price is known for the model (a local server the table does not list, with no
 *   `prices` entry): recorded at $0, tokens and all, so the call is still counted;
 * - `partial`: the call died mid-stream (cancelled, timed out, its stream broken); its input is
 *   what the provider reported, its output counted from the text streamed (one token per UTF-8
 *   byte), priced by the override or the table;
 * - `estimate`: as `partial`, but the provider had reported no input yet (OpenAI reports usage
 *   only at the end): the input is the estimate its reservation was held for.
 */
export const COST_BASES = [
  'provider',
  'override',
  'table',
  'unpriced',
  'partial',
  'estimate',
] as const;
/** The bases of a call whose tokens were partly worked out rather than reported. */
export type PartialBasis = Extract<CostBasis, 'partial' | 'estimate'>;
export type CostBasis = (typeof COST_BASES)[number];

/** What costs can be totalled by. */
export const COST_GROUPS = ['run', 'epic', 'task', 'agent', 'model'] as const;
export type CostGroup = (typeof COST_GROUPS)[number];

/**
 * One model call's usage, as an executor reports it. `inputTokens` counts every input token,
 * those read from or written to a prompt cache included (`cacheReadTokens` and
 * `cacheWriteTokens` are parts of it); `outputTokens` every output token, reasoning included
 * (`reasoningTokens` is a part of it). The convention of `@pydantic/genai-prices` and of the
 * Vercel AI SDK's usage.
 */
export interface ModelUsage {
  /** `anthropic`, `openai`, or an OpenAI-compatible server's name. */
  provider: string;
  /** The model's id at its provider, e.g. `claude-sonnet-4-5`. */
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** @default 0 */
  cacheReadTokens?: number;
  /** @default 0 */
  cacheWriteTokens?: number;
  /** @default 0 */
  reasoningTokens?: number;
  /** The cost in USD as the provider reported it; wins over the price table. @default none */
  costUsd?: number;
  /**
   * Set when the tokens were partly worked out, not all reported (a call that died mid-stream):
   * recorded as the cost basis instead of the price's source.
   * @default none: the tokens are as the provider reported them
   */
  basis?: PartialBasis;
}

/** One recorded model call: its usage, its cost and what it is counted against. */
export interface UsageRecord {
  taskId: string;
  /** The attempt that made the call, 1-based (as `AttemptRecord.attempt`). */
  attempt: number;
  runId: string | null;
  epic: string | null;
  /** The agent that held the attempt's lease. */
  agentId: string;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  costUsd: number;
  costBasis: CostBasis;
  /** When it was recorded (the store's clock). */
  at: number;
}

/** Sums over recorded calls. */
export interface CostTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  costUsd: number;
}

/** The totals of one group: `key` is the run, epic, task or agent id, or `provider:model`. */
export interface CostGroupTotals extends CostTotals {
  /** Null for calls outside any run (by run) or of tasks without an epic (by epic). */
  key: string | null;
}

/** A budget's state: its limit, what is spent, what calls in flight hold. */
export interface BudgetStatus {
  limitUsd: number;
  spentUsd: number;
  reservedUsd: number;
  /** limit − spent − reserved; negative when calls cost more than they reserved. */
  leftUsd: number;
}

/** What the ledger answers for a run (or for the whole namespace). */
export interface CostReport {
  /** The run asked about; null for the whole namespace. */
  runId: string | null;
  total: CostTotals;
  /** What `groups` are totals by; null when not asked. */
  by: CostGroup | null;
  /** One entry per group, the most expensive first (then by key). */
  groups: CostGroupTotals[];
  /** The run's budget; null for the namespace, or a run without one. */
  budget: BudgetStatus | null;
}

/** A reservation held against the budgets of a task's run and of the task. */
export interface Reservation {
  id: string;
  /** The worst case held, in USD. */
  usd: number;
}

/** Totals of nothing. */
export function emptyTotals(): CostTotals {
  return {
    calls: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    costUsd: 0,
  };
}

/** The group key of a model: `provider:model`. */
export function modelKey(provider: string, model: string): string {
  return `${provider}:${model}`;
}

/** Most expensive first, then by key (null last), so every backend lists groups alike. */
export function compareGroups(a: CostGroupTotals, b: CostGroupTotals): number {
  if (a.costUsd !== b.costUsd) return b.costUsd - a.costUsd;
  if (a.key === b.key) return 0;
  if (a.key === null) return 1;
  if (b.key === null) return -1;
  return a.key < b.key ? -1 : 1;
}

/** A budget's status from its amounts in nano-dollars. */
export function budgetStatus(limitNano: number, spentNano: number, reservedNano: number) {
  return {
    limitUsd: fromNano(limitNano),
    spentUsd: fromNano(spentNano),
    reservedUsd: fromNano(reservedNano),
    leftUsd: fromNano(limitNano - spentNano - reservedNano),
  } satisfies BudgetStatus;
}

/**
 * What is wrong with a `budget` value, with the path inside it, or null when it is
 * `{ usd }` with `usd` a number of US dollars from 0 to {@link MAX_USD}.
 */
export function budgetProblem(value: unknown): { path: string[]; message: string } | null {
  const shape = `must be { usd: <US dollars from 0 to ${MAX_USD}> }, e.g. { usd: 5 }`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { path: [], message: `${shape}; got ${describeValue(value)}` };
  }
  const extra = Object.keys(value).filter((k) => k !== 'usd');
  if (extra.length > 0) {
    return {
      path: [],
      message: `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => `'${k}'`).join(', ')}; a budget ${shape}`,
    };
  }
  const usd = (value as { usd?: unknown }).usd;
  if (usd === undefined) return { path: ['usd'], message: `is required: a budget ${shape}` };
  if (typeof usd !== 'number' || !Number.isFinite(usd) || usd < 0 || usd > MAX_USD) {
    return {
      path: ['usd'],
      message: `must be a number of US dollars from 0 to ${MAX_USD}; got ${describeValue(usd)}`,
    };
  }
  return null;
}
