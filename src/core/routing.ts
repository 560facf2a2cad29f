/**
 * Routing: which of several agents that could take a ready task should take it. Baton is
 * pull-based (an agent's claim decides), so routing is a claim-time *deferral* rule: the claiming
 * agent skips a task for a while when another live agent that can take it is a better fit, and
 * takes it otherwise. Nothing starves: every deferral ends (a window after the task became ready,
 * or when the better agent stops claiming), and a claim never waits for an agent that is not
 * alive. The full rule, its tie-break order and its knobs are documented in `docs/routing.md`;
 * both backends apply exactly this rule (the Redis adapter has a line-by-line port of it in
 * `lua/includes/routing.lua`; the conformance suite checks that they agree).
 *
 * Pure: no I/O, no clock of its own. The backend reads the claiming agent, its live peers and
 * the candidate tasks in its claim transaction and asks a {@link ClaimRouter} about each
 * candidate, in claim order.
 */
import type { AffinityRule } from './types.ts';

/** The knobs of the routing rule (docs/routing.md). Every backend takes them as `routing`. */
export interface RoutingPolicy {
  /**
   * Route at all. `false`: every claim takes the first ready tasks it can run, as if every agent
   * were alone.
   * @default true
   */
  enabled: boolean;
  /**
   * How long, after a task became ready, an agent that is not the best fit leaves it to a better
   * one (by label affinity, history or load). Past it, any capable agent takes it.
   * @default 300
   */
  preferWindowMs: number;
  /**
   * How long, after a retry became ready, the agents it already failed on leave it to another
   * capable agent that is alive (even a busy one). With no such agent they retry it at once.
   * @default 5000
   */
  fallbackGraceMs: number;
  /**
   * A peer counts as alive while its last heartbeat is at most this old (it must also be
   * active, not stalled, and have claimed at least once, which tells which tasks it takes).
   * @default 3000
   */
  agentLiveMs: number;
  /** Both agents need at least this many finished attempts of the type before their history counts. @default 5 */
  historyMinRuns: number;
  /**
   * Smallest difference of smoothed success rates, (succeeded + 1) / (runs + 2), that makes one
   * agent the better fit for a type.
   * @default 0.2
   */
  successMargin: number;
  /**
   * With success rates within the margin, the faster agent is the better fit when the slower
   * one's mean run time is more than this fraction above it …
   * @default 0.5
   */
  durationMargin: number;
  /** … and at least this many ms above it (shorter differences are timer noise). @default 100 */
  durationMinDiffMs: number;
  /**
   * Half-life of an agent's count of recently claimed tasks, part of its load: an agent that
   * has just taken many tasks is busier than one that has taken none, even when both have every
   * slot free again.
   * @default 1000
   */
  loadHalfLifeMs: number;
  /**
   * Most peers one claim weighs: the least loaded live agents that take the claim's queues (by
   * their load at their latest claim). A claim's cost then does not grow with the fleet; with
   * more live peers than this, a better fit outside them is not seen by this claim (the least
   * loaded are the ones load would defer to). 0: a claim weighs no peer (no routing). A claim
   * whose first tasks are all decided by load alone weighs fewer: see {@link contendersWeighed}.
   * @default 8
   */
  contenders: number;
}

export const DEFAULT_ROUTING: Readonly<RoutingPolicy> = Object.freeze({
  enabled: true,
  preferWindowMs: 300,
  fallbackGraceMs: 5000,
  agentLiveMs: 3000,
  historyMinRuns: 5,
  successMargin: 0.2,
  durationMargin: 0.5,
  durationMinDiffMs: 100,
  loadHalfLifeMs: 1000,
  contenders: 8,
});

/** Most contenders a policy may ask for: the point of the bound is that it is small. */
export const MAX_CONTENDERS = 256;

const NUMERIC_KNOBS = [
  'preferWindowMs',
  'fallbackGraceMs',
  'agentLiveMs',
  'historyMinRuns',
  'successMargin',
  'durationMargin',
  'durationMinDiffMs',
  'loadHalfLifeMs',
  'contenders',
] as const;

/**
 * The policy with defaults applied.
 *
 * @returns null and the problems found, when a knob is not a finite number >= 0 (or `enabled`
 *   not a boolean); the caller reports them in its own words.
 */
export function resolveRouting(overrides: Partial<RoutingPolicy> | undefined): {
  policy: RoutingPolicy;
  problems: string[];
} {
  const policy: RoutingPolicy = { ...DEFAULT_ROUTING };
  const problems: string[] = [];
  if (overrides === undefined) return { policy, problems };
  if (overrides === null || typeof overrides !== 'object') {
    return { policy, problems: ['must be an object of routing knobs'] };
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (name === 'enabled') {
      if (typeof value === 'boolean') policy.enabled = value;
      else problems.push(`enabled must be true or false; got ${String(value)}`);
    } else if ((NUMERIC_KNOBS as readonly string[]).includes(name)) {
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
        policy[name as (typeof NUMERIC_KNOBS)[number]] = value;
      } else {
        problems.push(`${name} must be a finite number >= 0; got ${String(value)}`);
      }
    } else {
      problems.push(`unknown knob '${name}'; known: enabled, ${NUMERIC_KNOBS.join(', ')}`);
    }
  }
  if (policy.loadHalfLifeMs === 0) problems.push('loadHalfLifeMs must be greater than 0');
  if (!Number.isInteger(policy.contenders) || policy.contenders > MAX_CONTENDERS)
    problems.push(`contenders must be a whole number from 0 to ${MAX_CONTENDERS}`);
  return { policy, problems };
}

/** An agent's record for one task type (the backend's per-agent counters). */
export interface TypeHistory {
  /** Attempts of the type it completed. */
  succeeded: number;
  /** Attempts of the type that failed or timed out while it held them. */
  failed: number;
  /** Summed run time of the succeeded attempts, in ms. */
  totalRunMs: number;
}

/** What routing needs to know about an agent, as of the claim. */
export interface AgentView {
  id: string;
  /** Its labels, for affinity. */
  labels: Readonly<Record<string, string>>;
  /** Slots. */
  concurrency: number;
  /** Tasks it holds now. */
  inFlight: number;
  /** Its decayed count of recently claimed tasks, as of now (see {@link decayRecent}). */
  recent: number;
  /** When it last claimed a task; null if never. */
  lastClaimAt: number | null;
  /** Its record by task type; types it never ran are absent. */
  history: ReadonlyMap<string, TypeHistory>;
}

/** What routing needs to know about a candidate task. */
export interface RoutingTask {
  type: string;
  affinity: readonly Required<AffinityRule>[];
  /** Agents an attempt of it failed on, timed out on, or was lost with. */
  failedAgents: readonly string[];
  /** When it last became ready (submitted, released by its dependencies, promoted, retried). */
  readySince: number;
}

/** The criteria of the rule, in tie-break order (docs/routing.md). */
export type RoutingCriterion = 'fallback' | 'affinity' | 'history' | 'load';

/**
 * How `a` compares with `b` as the agent for `task`: `order` < 0 when `a` is the better fit,
 * > 0 when `b` is, 0 when neither is; `criterion` names the first criterion that told them
 * apart (null on a tie).
 *
 * Lexicographic, in this order:
 * 1. fallback: an agent the task has not failed on beats one it has;
 * 2. affinity: the larger sum of the weights of the task's affinity rules the agent's labels match;
 * 3. history for the task's type, only when both agents have `historyMinRuns` finished attempts
 *    of it: the smoothed success rate when the rates differ by `successMargin` or more; else the
 *    mean run time (of successes, both with `historyMinRuns` of them) when the slower is more
 *    than `durationMargin` and `durationMinDiffMs` above the faster;
 * 4. load: in-flight plus recently claimed tasks per slot, when they differ by at least a half
 *    (half a set of slots' worth of tasks).
 */
export function compareAgents(
  task: RoutingTask,
  a: AgentView,
  b: AgentView,
  policy: RoutingPolicy,
): { order: number; criterion: RoutingCriterion | null } {
  const failedA = task.failedAgents.length > 0 && task.failedAgents.includes(a.id);
  const failedB = task.failedAgents.length > 0 && task.failedAgents.includes(b.id);
  if (failedA !== failedB) return { order: failedA ? 1 : -1, criterion: 'fallback' };

  if (task.affinity.length > 0) {
    const affinityA = affinityScore(task.affinity, a.labels);
    const affinityB = affinityScore(task.affinity, b.labels);
    if (affinityA !== affinityB)
      return { order: affinityA > affinityB ? -1 : 1, criterion: 'affinity' };
  }

  const history = compareHistory(a.history.get(task.type), b.history.get(task.type), policy);
  if (history !== 0) return { order: history, criterion: 'history' };

  const load = compareLoad(a, b);
  if (load !== 0) return { order: load, criterion: 'load' };
  return { order: 0, criterion: null };
}

/** Σ weights of the affinity rules whose label the agent has with that value. */
export function affinityScore(
  rules: readonly Required<AffinityRule>[],
  labels: Readonly<Record<string, string>>,
): number {
  let score = 0;
  for (const rule of rules) {
    if (Object.hasOwn(labels, rule.label) && labels[rule.label] === rule.value)
      score += rule.weight;
  }
  return score;
}

/** (succeeded + 1) / (runs + 2): a success rate that does not jump to 0 or 1 on a few runs. */
export function smoothedSuccessRate(h: TypeHistory): number {
  return (h.succeeded + 1) / (h.succeeded + h.failed + 2);
}

/** < 0 when history `a` is the better record, > 0 when `b` is, 0 when it does not tell. */
export function compareHistory(
  a: TypeHistory | undefined,
  b: TypeHistory | undefined,
  policy: RoutingPolicy,
): number {
  const min = policy.historyMinRuns;
  if (!a || !b || a.succeeded + a.failed < min || b.succeeded + b.failed < min) return 0;
  const rateA = smoothedSuccessRate(a);
  const rateB = smoothedSuccessRate(b);
  // A small epsilon, so a difference of exactly the margin counts on every platform.
  if (rateA !== rateB && Math.abs(rateA - rateB) >= policy.successMargin - 1e-9)
    return rateA > rateB ? -1 : 1;
  const successes = Math.max(min, 1);
  if (a.succeeded < successes || b.succeeded < successes) return 0;
  const meanA = a.totalRunMs / a.succeeded;
  const meanB = b.totalRunMs / b.succeeded;
  const fast = Math.min(meanA, meanB);
  const slow = Math.max(meanA, meanB);
  if (slow - fast >= policy.durationMinDiffMs && slow > fast * (1 + policy.durationMargin))
    return meanA < meanB ? -1 : 1;
  return 0;
}

/** Loads closer than this are equal (see {@link compareLoad}); a hair under ½ for rounding. */
const LOAD_TOLERANCE = 0.5 - 1e-9;

/** In-flight plus recently claimed tasks, per slot. */
export function loadOf(agent: AgentView): number {
  return (agent.inFlight + agent.recent) / agent.concurrency;
}

/**
 * < 0 when `a` is the less loaded, > 0 when `b` is, 0 when their loads differ by less than a
 * half (half a set of slots' worth of tasks): finer differences come and go with every claim and
 * complete, and deferring on them would only make agents wait on each other.
 */
export function compareLoad(a: AgentView, b: AgentView): number {
  const diff = loadOf(a) - loadOf(b);
  if (diff >= LOAD_TOLERANCE) return 1;
  if (diff <= -LOAD_TOLERANCE) return -1;
  return 0;
}

/**
 * Whether `task` is decided by load alone when `claimer` claims it: it failed on no agent, it has
 * no affinity rules, and the claimer has fewer than `historyMinRuns` finished attempts of its
 * type (history compares two agents only when both have that many). Then a peer is a better fit
 * only by being less loaded.
 */
export function decidedByLoad(
  task: RoutingTask,
  claimer: AgentView,
  policy: RoutingPolicy,
): boolean {
  if (task.failedAgents.length > 0 || task.affinity.length > 0) return false;
  const history = claimer.history.get(task.type);
  return history === undefined || history.succeeded + history.failed < policy.historyMinRuns;
}

/**
 * How many of its contenders (least loaded first, as the index has them) a claim of `max` tasks
 * weighs: `policy.contenders`, or only `max` of them when each of `first`, its first `max`
 * candidate tasks in claim order, is decided by load alone ({@link decidedByLoad}). Load leaves a
 * task to the least loaded peer that beats the claimer, so `max` tasks go to at most `max`
 * peers, the least loaded; weighing more only costs the claim reads (a contender costs a Redis
 * claim about as much as a twentieth of the claim itself). Fallback, affinity and history look
 * for a better fit anywhere among the contenders, so a claim with such a task weighs them all.
 */
export function contendersWeighed(
  first: readonly RoutingTask[],
  claimer: AgentView,
  max: number,
  policy: RoutingPolicy,
): number {
  for (const task of first) {
    if (!decidedByLoad(task, claimer, policy)) return policy.contenders;
  }
  return Math.min(policy.contenders, Math.max(1, max));
}

/** An agent's recent-claims count `recent` written at `at`, decayed to `now`. */
export function decayRecent(
  recent: number,
  at: number | null,
  now: number,
  policy: RoutingPolicy,
): number {
  if (at === null || recent <= 0) return 0;
  const age = Math.max(0, now - at);
  return recent * 2 ** (-age / policy.loadHalfLifeMs);
}

/** What to do with one candidate task. */
export type RouteDecision =
  | { take: true }
  | {
      take: false;
      /** The better fit. */
      peer: string;
      /** The criterion that made it better. */
      criterion: RoutingCriterion;
      /** When this agent may take the task after all (unless something changes first). */
      until: number;
    };

/** A peer while a claim is being decided: its view plus the tasks this claim left to it. */
interface PeerState {
  view: AgentView;
  /** Tasks this claim left to it (they count as in flight for the rest of the claim). */
  reserved: number;
}

/**
 * Decides one claim. Ask about each candidate in claim order; the router keeps count of the tasks
 * the claiming agent took and of those it left to each peer, so a batch claim spreads like a
 * series of single claims would (each task to the least loaded of the best-fitting agents):
 * a peer is only left as many tasks as it has free slots, and the claimer's own load grows
 * with each task it takes.
 */
export class ClaimRouter {
  readonly #self: AgentView;
  readonly #peers: PeerState[];
  readonly #policy: RoutingPolicy;
  readonly #now: number;
  #taken = 0;
  /** The earliest `until` of the tasks deferred so far. */
  #deferredUntil: number | null = null;
  #deferred = 0;
  readonly #leftTo = new Set<string>();

  constructor(self: AgentView, peers: readonly AgentView[], policy: RoutingPolicy, now: number) {
    this.#self = { ...self };
    this.#peers = peers.map((view) => ({ view: { ...view }, reserved: 0 }));
    this.#policy = policy;
    this.#now = now;
  }

  /**
   * Take `task`, or leave it to a better peer for now. `takes(peerId)` says whether that peer
   * can run the task (it has the required capabilities and handles the type).
   */
  decide(task: RoutingTask, takes: (peerId: string) => boolean): RouteDecision {
    const self = this.#projected(this.#self, this.#taken);
    let best: { peer: PeerState; criterion: RoutingCriterion; until: number } | null = null;
    for (const peer of this.#peers) {
      const view = this.#projected(peer.view, peer.reserved);
      const { order, criterion } = compareAgents(task, view, self, this.#policy);
      if (order >= 0 || criterion === null) continue;
      const until = this.#deferUntil(task, peer, criterion);
      if (until === null || until <= this.#now) continue;
      if (!takes(peer.view.id)) continue;
      if (
        best === null ||
        compareAgents(task, view, this.#projected(best.peer.view, best.peer.reserved), this.#policy)
          .order < 0
      ) {
        best = { peer, criterion, until };
      }
    }
    if (best === null) {
      this.#taken++;
      return { take: true };
    }
    best.peer.reserved++;
    this.#deferred++;
    this.#leftTo.add(best.peer.view.id);
    if (this.#deferredUntil === null || best.until < this.#deferredUntil)
      this.#deferredUntil = best.until;
    return { take: false, peer: best.peer.view.id, criterion: best.criterion, until: best.until };
  }

  /** Tasks taken so far. */
  get taken(): number {
    return this.#taken;
  }

  /** Tasks left to peers so far. */
  get deferred(): number {
    return this.#deferred;
  }

  /** The earliest time a task this claim left to a peer may be taken by the claimer; null if none. */
  get deferredUntil(): number | null {
    return this.#deferredUntil;
  }

  /** The peers this claim left tasks to (to wake them). */
  get leftTo(): ReadonlySet<string> {
    return this.#leftTo;
  }

  /** A slot free now that this claim has not already left a task for. */
  #hasUnreservedSlot(peer: PeerState): boolean {
    return peer.view.inFlight + peer.reserved < peer.view.concurrency;
  }

  #projected(view: AgentView, extra: number): AgentView {
    return extra === 0 ? view : { ...view, inFlight: view.inFlight + extra };
  }

  /**
   * Until when the claimer leaves `task` to `peer`, which is better by `criterion`; null when it
   * does not, because the peer has no slot for it:
   * - fallback needs none: a busy peer frees a slot soon enough, and the grace bounds the wait;
   * - affinity and history need a slot this claim has not already left a task for, so a good
   *   fit with one free slot is not left ten tasks while the claimer could run nine of them;
   * - load needs a free slot now: the peer's projected load (with what this claim left it)
   *   decides how much it is left, so an agent that has claimed far more than an idle peer
   *   leaves it tasks until their loads meet, even beyond its free slots; that is what stops
   *   one agent from draining the queue while another cannot get to it.
   */
  #deferUntil(task: RoutingTask, peer: PeerState, criterion: RoutingCriterion): number | null {
    const policy = this.#policy;
    if (criterion === 'fallback') return task.readySince + policy.fallbackGraceMs;
    const fresh = task.readySince + policy.preferWindowMs;
    if (criterion !== 'load') return this.#hasUnreservedSlot(peer) ? fresh : null;
    if (peer.view.inFlight >= peer.view.concurrency) return null;
    // Load also holds for older tasks while the peer keeps claiming: it will come for them.
    const active =
      peer.view.lastClaimAt === null ? 0 : peer.view.lastClaimAt + policy.preferWindowMs;
    return Math.max(fresh, active);
  }
}
