/**
 * Claim-time routing on SQLite (docs/routing.md): inside the claim transaction, read the
 * claiming agent's contenders (at most `policy.contenders` of the least loaded live agents that
 * take its queues, from the `agent_queues` index of migration 000008), what each holds and, for
 * the candidate task types, their history; then ask core's {@link ClaimRouter} about each
 * candidate task in claim order. What a claim reads is bounded by the number of contenders, not
 * by the fleet. The rule itself lives in `core/routing.ts`, shared with the Redis adapter's port.
 */
import { compareReady } from '../../core/priority.ts';
import {
  ClaimRouter,
  contendersWeighed,
  decayRecent,
  type AgentView,
  type RoutingPolicy,
  type RoutingTask,
  type TypeHistory,
} from '../../core/routing.ts';
import type { AffinityRule } from '../../core/types.ts';
import type { Statements } from './statements.ts';

/** Most candidate tasks one routed claim reads (its `max` plus its peers' free slots, capped). */
const MAX_CANDIDATES = 1000;
/** The smallest first page of candidates. */
const FIRST_PAGE = 4;

/** A ready task chosen by a claim. */
export interface Candidate {
  seq: number;
  priority: number;
  critical_path: number;
}

/** The routing columns of an agent row (migration 000003) and what a view needs. */
export interface RoutingAgentRow {
  id: string;
  labels: string;
  concurrency: number;
  claim_filter: string | null;
  recent_claims: number;
  last_claim_at: number | null;
}

interface RoutingTaskRow extends Candidate {
  updated_at: number;
  affinity: string | null;
  failed_agents: string | null;
  queue: number;
}

export interface RoutingContext {
  st: Statements;
  ns: string;
  now: number;
  policy: RoutingPolicy;
  /** The claiming agent's row. */
  self: RoutingAgentRow;
  /** The claim's filter (`filterKey`): which tasks the claiming agent takes. */
  filter: string;
  /** The queues the claim takes. */
  queues: readonly number[];
  /** The claim's `max`. */
  max: number;
  /** The task type of a queue. */
  queueType(queue: number): string;
  /** The queues an agent's stored claim filter takes. */
  queuesOf(claimFilter: string): ReadonlySet<number>;
}

export interface RoutedClaim {
  /** The tasks to lease, in claim order. */
  chosen: Candidate[];
  /** The claiming agent's tasks in flight before the claim. */
  selfInFlight: number;
  /** The earliest time a task left to a peer becomes the claimer's to take; null if none was. */
  deferredUntil: number | null;
}

/**
 * Choose the tasks of a claim by the routing rule, or return null when no task is ready or no
 * live peer takes any of the claim's queues: then routing cannot matter and the plain claim
 * applies (the fast path).
 */
export function routeClaim(ctx: RoutingContext): RoutedClaim | null {
  const { st, ns, now, policy, self } = ctx;
  // The first page of candidates: twice the claim's `max` (most claims take what they read).
  const firstSize = Math.max(2 * ctx.max, FIRST_PAGE);
  const firstPage = readCandidates(ctx, firstSize);
  // Nothing ready, nothing to decide: an empty claim (as every idle agent makes) weighs no peer.
  if (firstPage.length === 0) return null;
  const selfView = viewOf(
    self,
    (st.agentInFlight.get(ns, self.id) as { n: number }).n,
    now,
    policy,
  );
  // Its first `max` candidates say how many contenders the claim weighs: only `max`, the least
  // loaded, when load alone decides them (core contendersWeighed). (The routing loop decides
  // them from these.)
  const first = firstPage.slice(0, ctx.max).map((c) => routingTask(ctx, c));
  const selfTypes = new Set(first.map((task) => task.type));
  for (const type of selfTypes) historyOf(st, ns, selfView, type);
  const rows = contendersOf(ctx, contendersWeighed(first, selfView, ctx.max, policy));
  if (rows.length === 0) return null;
  // Every contender's filter takes one of the claim's queues (contendersOf reads only those).
  const peerQueues = new Map<string, ReadonlySet<number>>();
  const peers: AgentView[] = [];
  let freeSlots = 0;
  for (const row of rows) {
    const view = viewOf(row, row.in_flight, now, policy);
    peerQueues.set(row.id, ctx.queuesOf(row.claim_filter!));
    peers.push(view);
    freeSlots += Math.max(0, view.concurrency - view.inFlight);
  }

  // Tasks left to peers make the claim read further than its first page, up to what the peers
  // could take before it.
  const budget = Math.min(ctx.max + freeSlots, MAX_CANDIDATES);
  const loadedTypes = new Set<string>();
  const router = new ClaimRouter(selfView, peers, policy, now);
  const chosen: Candidate[] = [];
  let limit = Math.min(budget, firstSize);
  let decided = 0;
  for (;;) {
    // (The first `limit` of a longer read are the same tasks.)
    const candidates =
      limit > firstSize
        ? readCandidates(ctx, limit)
        : limit < firstPage.length
          ? firstPage.slice(0, limit)
          : firstPage;
    const types = new Set<string>();
    for (const c of candidates) {
      const type = ctx.queueType(c.queue);
      if (!loadedTypes.has(type)) types.add(type);
    }
    if (types.size > 0) {
      loadHistory(st, ns, selfView, peers, types, selfTypes, policy);
      for (const type of types) loadedTypes.add(type);
    }
    for (; decided < candidates.length && chosen.length < ctx.max; decided++) {
      const c = candidates[decided]!;
      const decision = router.decide(
        decided < first.length ? first[decided]! : routingTask(ctx, c),
        (peer) => peerQueues.get(peer)?.has(c.queue) === true,
      );
      if (decision.take) chosen.push(c);
    }
    if (chosen.length >= ctx.max || candidates.length < limit || limit >= budget) break;
    limit = Math.min(budget, limit * 4);
  }
  return { chosen, deferredUntil: router.deferredUntil, selfInFlight: selfView.inFlight };
}

/** What the rule needs of a candidate. */
function routingTask(ctx: RoutingContext, c: RoutingTaskRow): RoutingTask {
  return {
    type: ctx.queueType(c.queue),
    affinity: c.affinity === null ? [] : (JSON.parse(c.affinity) as Required<AffinityRule>[]),
    failedAgents: c.failed_agents === null ? [] : (JSON.parse(c.failed_agents) as string[]),
    readySince: c.updated_at,
  };
}

/**
 * The claim's contenders: the least loaded live agents (by their load at their latest heartbeat)
 * whose claim filter takes one of its queues, at most `limit`, least loaded first (equal loads
 * by id). Reads the namespace's claim filters (a handful of rows: one per distinct
 * filter, not per agent) and, for each that takes one of the claim's queues, its least loaded
 * agents through an index.
 */
function contendersOf(ctx: RoutingContext, limit: number): ContenderRow[] {
  const { st, ns, self, policy } = ctx;
  if (limit === 0) return [];
  const since = ctx.now - policy.agentLiveMs;
  const mine = new Set(ctx.queues);
  const contenders: ContenderRow[] = [];
  let filters = 0;
  for (const { filter } of st.claimFilters.all(ns) as unknown as { filter: string }[]) {
    let overlaps = false;
    for (const queue of ctx.queuesOf(filter)) {
      if (mine.has(queue)) {
        overlaps = true;
        break;
      }
    }
    if (!overlaps) continue;
    const rows = st.agentsContenders.all(ns, filter, self.id, since, limit);
    for (const row of rows) contenders.push(row as unknown as ContenderRow);
    if (rows.length > 0) filters++;
  }
  // Several filters' agents, merged: least loaded first, so that the first few are the least
  // loaded of all (a claim may weigh only those).
  if (filters > 1) {
    contenders.sort((a, b) => a.load - b.load || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (contenders.length > limit) contenders.length = limit;
  }
  return contenders;
}

interface ContenderRow extends RoutingAgentRow {
  /** Its load as of its latest heartbeat (agents.claim_load). */
  load: number;
  /** The tasks it holds now. */
  in_flight: number;
}

/**
 * What a claim keeps for routing: the agent's filter and its decayed count of recent claims
 * (see {@link claimRecord}); and, while routing is on, when the claim changes the agent's filter,
 * the filter among the namespace's and the agent's load, so it is a contender at once.
 * Otherwise heartbeats keep its load up to date (agent-heartbeat.sql): a claim that wrote the
 * indexed load every time would pay an index update for it.
 */
export function recordClaim(
  ctx: RoutingContext,
  leased: number,
  inFlightBefore: number | undefined,
): void {
  const { st, ns, now, policy, self, filter } = ctx;
  const record = claimRecord(self, filter, leased, now, policy);
  if (!record) return;
  if (leased > 0) st.agentClaimed.run(ns, self.id, record.recent, record.lastClaimAt);
  if (self.claim_filter === filter) return;
  let load: number | null = null;
  if (policy.enabled) {
    st.claimFilterInsert.run(ns, filter);
    const inFlight =
      inFlightBefore === undefined
        ? (st.agentInFlight.get(ns, self.id) as { n: number }).n
        : inFlightBefore + leased;
    const recent = decayRecent(record.recent, record.lastClaimAt, now, policy);
    load = (inFlight + recent) / Math.max(1, self.concurrency);
  }
  st.agentClaimFilter.run(ns, self.id, filter, load);
}

/**
 * The first `limit` ready tasks of the claim's queues, merged in claim order. (The first
 * `limit` of the merge are the first `limit` overall, so a longer read starts with a shorter
 * one's.)
 */
function readCandidates(ctx: RoutingContext, limit: number): RoutingTaskRow[] {
  let candidates: RoutingTaskRow[] = [];
  for (const queue of ctx.queues) {
    const found = ctx.st.tasksReadyRouting.all(ctx.ns, queue, limit) as unknown as RoutingTaskRow[];
    for (const row of found) row.queue = queue;
    candidates = candidates.length === 0 ? found : candidates.concat(found);
  }
  if (ctx.queues.length > 1) {
    candidates.sort((a, b) =>
      compareReady(
        { priority: a.priority, criticalPath: a.critical_path, seq: a.seq },
        { priority: b.priority, criticalPath: b.critical_path, seq: b.seq },
      ),
    );
    if (candidates.length > limit) candidates.length = limit;
  }
  return candidates;
}

/**
 * The routing state to write after a claim: its filter, and the decayed count of recent claims
 * (with the time of the last claim that took tasks). Null when nothing changed.
 */
export function claimRecord(
  row: RoutingAgentRow,
  filter: string,
  leased: number,
  now: number,
  policy: RoutingPolicy,
): { filter: string; recent: number; lastClaimAt: number | null } | null {
  if (leased === 0 && row.claim_filter === filter) return null;
  if (leased === 0) return { filter, recent: row.recent_claims, lastClaimAt: row.last_claim_at };
  return {
    filter,
    recent: decayRecent(row.recent_claims, row.last_claim_at, now, policy) + leased,
    lastClaimAt: now,
  };
}

function viewOf(
  row: RoutingAgentRow,
  inFlight: number,
  now: number,
  policy: RoutingPolicy,
): AgentView {
  return {
    id: row.id,
    labels: JSON.parse(row.labels) as Record<string, string>,
    concurrency: Math.max(1, row.concurrency),
    inFlight,
    recent: decayRecent(row.recent_claims, row.last_claim_at, now, policy),
    lastClaimAt: row.last_claim_at,
    history: new Map<string, TypeHistory>(),
  };
}

/**
 * Fill the views' history for the candidate task types from `agent_stats`. History compares two
 * agents only when both have `historyMinRuns` finished attempts of the type, so the peers' rows
 * are read only for the types the claiming agent has that many of. (`selfRead`: the types whose
 * row the claimer's view has read already.)
 */
function loadHistory(
  st: Statements,
  ns: string,
  self: AgentView,
  peers: readonly AgentView[],
  types: ReadonlySet<string>,
  selfRead: ReadonlySet<string>,
  policy: RoutingPolicy,
): void {
  for (const type of types) {
    const mine = selfRead.has(type) ? self.history.get(type) : historyOf(st, ns, self, type);
    if (!mine || mine.succeeded + mine.failed < policy.historyMinRuns) continue;
    for (const peer of peers) historyOf(st, ns, peer, type);
  }
}

/** An agent's record for a type, read into its view. */
function historyOf(
  st: Statements,
  ns: string,
  view: AgentView,
  type: string,
): TypeHistory | undefined {
  const row = st.agentStatsOfAgentType.get(ns, view.id, type) as
    { succeeded: number; failed: number; total_run_ms: number } | undefined;
  if (!row) return undefined;
  const history = { succeeded: row.succeeded, failed: row.failed, totalRunMs: row.total_run_ms };
  (view.history as Map<string, TypeHistory>).set(type, history);
  return history;
}
