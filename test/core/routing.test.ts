import { describe, expect, it } from 'vitest';
import {
  ClaimRouter,
  DEFAULT_ROUTING,
  affinityScore,
  compareAgents,
  compareHistory,
  compareLoad,
  contendersWeighed,
  decayRecent,
  decidedByLoad,
  MAX_CONTENDERS,
  resolveRouting,
  smoothedSuccessRate,
  type AgentView,
  type RoutingTask,
  type TypeHistory,
} from '../../src/core/routing.ts';
import { normalizeTasks } from '../../src/core/validate.ts';
import { ValidationError } from '../../src/core/errors.ts';

const NOW = 1_700_000_000_000;
const policy = DEFAULT_ROUTING;

function agent(id: string, over: Partial<AgentView> = {}): AgentView {
  return {
    id,
    labels: {},
    concurrency: 4,
    inFlight: 0,
    recent: 0,
    lastClaimAt: null,
    history: new Map(),
    ...over,
  };
}

function task(over: Partial<RoutingTask> = {}): RoutingTask {
  return { type: 'x', affinity: [], failedAgents: [], readySince: NOW, ...over };
}

function history(succeeded: number, failed: number, meanMs = 100): TypeHistory {
  return { succeeded, failed, totalRunMs: succeeded * meanMs };
}

const everyone = (): boolean => true;

describe('resolveRouting', () => {
  it('applies the defaults and takes valid overrides', () => {
    expect(resolveRouting(undefined)).toEqual({ policy: DEFAULT_ROUTING, problems: [] });
    const { policy: p, problems } = resolveRouting({ preferWindowMs: 50, enabled: false });
    expect(problems).toEqual([]);
    expect(p).toEqual({ ...DEFAULT_ROUTING, preferWindowMs: 50, enabled: false });
  });

  it('names every bad knob', () => {
    const { problems } = resolveRouting({
      preferWindowMs: -1,
      fallbackGraceMs: Number.POSITIVE_INFINITY,
      enabled: 'yes' as unknown as boolean,
      loadHalfLifeMs: 0,
      ...({ prefer: 1 } as object),
    });
    expect(problems).toEqual([
      'preferWindowMs must be a finite number >= 0; got -1',
      'fallbackGraceMs must be a finite number >= 0; got Infinity',
      'enabled must be true or false; got yes',
      expect.stringMatching(/^unknown knob 'prefer'; known: enabled, preferWindowMs, /),
      'loadHalfLifeMs must be greater than 0',
    ]);
  });

  it('contenders: a whole number from 0 to MAX_CONTENDERS', () => {
    for (const contenders of [1.5, MAX_CONTENDERS + 1]) {
      expect(resolveRouting({ contenders }).problems).toEqual([
        `contenders must be a whole number from 0 to ${MAX_CONTENDERS}`,
      ]);
    }
    expect(resolveRouting({ contenders: -1 }).problems).toEqual([
      'contenders must be a finite number >= 0; got -1',
    ]);
    expect(resolveRouting({ contenders: 0 }).problems).toEqual([]);
  });
});

describe('the criteria', () => {
  it('affinity: the sum of the weights of matching rules; own labels only', () => {
    const rules = [
      { label: 'region', value: 'eu', weight: 2 },
      { label: 'gpu', value: 'a100', weight: 3 },
      { label: 'tier', value: 'spot', weight: -4 },
      { label: 'constructor', value: 'x', weight: 100 },
    ];
    expect(affinityScore(rules, { region: 'eu', gpu: 'a100' })).toBe(5);
    expect(affinityScore(rules, { region: 'eu', tier: 'spot' })).toBe(-2);
    expect(affinityScore(rules, { region: 'us' })).toBe(0);
    expect(affinityScore(rules, {}), 'inherited properties are no labels').toBe(0);
  });

  it('history: Laplace-smoothed success rates, compared only with enough runs and a clear margin', () => {
    expect(smoothedSuccessRate(history(0, 0))).toBe(0.5);
    expect(smoothedSuccessRate(history(5, 0))).toBeCloseTo(6 / 7);
    expect(compareHistory(history(5, 0), history(0, 5), policy)).toBe(-1);
    expect(compareHistory(history(0, 5), history(5, 0), policy)).toBe(1);
    expect(compareHistory(history(4, 0), history(0, 4), policy), 'too few runs').toBe(0);
    expect(compareHistory(history(5, 0), undefined, policy), 'no record').toBe(0);
    // 9/12 = 0.75 against 7/12 ≈ 0.583: under the 0.2 margin.
    expect(compareHistory(history(8, 2), history(6, 4), policy)).toBe(0);
    // (8+1)/12 = 0.75 against (5+1)/12 = 0.5: over it.
    expect(compareHistory(history(8, 2), history(5, 5), policy)).toBe(-1);
  });

  it('history: mean run time only when the slower is more than 50% and 100 ms slower', () => {
    expect(compareHistory(history(5, 0, 100), history(5, 0, 1000), policy)).toBe(-1);
    expect(compareHistory(history(5, 0, 1000), history(5, 0, 100), policy)).toBe(1);
    expect(compareHistory(history(5, 0, 100), history(5, 0, 140), policy), 'within 50%').toBe(0);
    expect(compareHistory(history(5, 0, 10), history(5, 0, 90), policy), 'under 100 ms').toBe(0);
    expect(
      compareHistory(history(5, 5, 100), history(6, 4, 1000), policy),
      'rates within the margin, durations far apart',
    ).toBe(-1);
  });

  it('load: in flight plus recent claims per slot, equal within a half', () => {
    expect(compareLoad(agent('a'), agent('b', { inFlight: 1 }))).toBe(0);
    expect(compareLoad(agent('a'), agent('b', { inFlight: 2 }))).toBe(-1);
    expect(compareLoad(agent('a', { recent: 4 }), agent('b'))).toBe(1);
    expect(
      compareLoad(agent('a', { concurrency: 1, inFlight: 1 }), agent('b', { concurrency: 10 })),
    ).toBe(1);
  });

  it('recent claims halve every loadHalfLifeMs', () => {
    expect(decayRecent(8, NOW, NOW, policy)).toBe(8);
    expect(decayRecent(8, NOW - policy.loadHalfLifeMs, NOW, policy)).toBeCloseTo(4);
    expect(decayRecent(8, NOW - 3 * policy.loadHalfLifeMs, NOW, policy)).toBeCloseTo(1);
    expect(decayRecent(8, null, NOW, policy)).toBe(0);
  });

  it('tie-break order: fallback, then affinity, then history, then load', () => {
    const eu = { region: 'eu' };
    const t = task({
      failedAgents: ['a'],
      affinity: [{ label: 'region', value: 'eu', weight: 1 }],
    });
    const a = agent('a', { labels: eu, history: new Map([['x', history(5, 0)]]) });
    const b = agent('b', { inFlight: 8, history: new Map([['x', history(0, 5)]]) });
    expect(compareAgents(t, a, b, policy)).toEqual({ order: 1, criterion: 'fallback' });
    const t2 = { ...t, failedAgents: [] };
    expect(compareAgents(t2, b, a, policy)).toEqual({ order: 1, criterion: 'affinity' });
    const t3 = { ...t2, affinity: [] };
    expect(compareAgents(t3, b, a, policy)).toEqual({ order: 1, criterion: 'history' });
    const t4 = { ...t3, type: 'y' };
    expect(compareAgents(t4, b, a, policy)).toEqual({ order: 1, criterion: 'load' });
    expect(compareAgents(t4, agent('c'), agent('d'), policy)).toEqual({
      order: 0,
      criterion: null,
    });
  });
});

describe('how many contenders a claim weighs', () => {
  it('a task is decided by load alone without failures, affinity rules or the claimer’s history', () => {
    const claimer = agent('a', { history: new Map([['seasoned', history(5, 0)]]) });
    expect(decidedByLoad(task(), claimer, policy)).toBe(true);
    expect(decidedByLoad(task({ failedAgents: ['b'] }), claimer, policy)).toBe(false);
    expect(
      decidedByLoad(task({ affinity: [{ label: 'r', value: 'eu', weight: 1 }] }), claimer, policy),
    ).toBe(false);
    // History compares only agents with historyMinRuns of the type: the claimer has them here.
    expect(decidedByLoad(task({ type: 'seasoned' }), claimer, policy)).toBe(false);
    const novice = agent('a', { history: new Map([['seasoned', history(3, 1)]]) });
    expect(decidedByLoad(task({ type: 'seasoned' }), novice, policy)).toBe(true);
  });

  it('its max when load alone decides its first tasks, else every contender', () => {
    const claimer = agent('a');
    expect(contendersWeighed([task()], claimer, 1, policy)).toBe(1);
    expect(contendersWeighed([task(), task()], claimer, 3, policy)).toBe(3);
    expect(contendersWeighed([task()], claimer, 50, policy)).toBe(policy.contenders);
    expect(contendersWeighed([task(), task({ failedAgents: ['b'] })], claimer, 2, policy)).toBe(
      policy.contenders,
    );
    expect(contendersWeighed([task()], claimer, 1, { ...policy, contenders: 0 })).toBe(0);
  });
});

describe('ClaimRouter', () => {
  it('takes every task when no peer is better', () => {
    const router = new ClaimRouter(agent('me'), [agent('p', { inFlight: 4 })], policy, NOW);
    for (let i = 0; i < 3; i++) expect(router.decide(task(), everyone)).toEqual({ take: true });
    expect(router.taken).toBe(3);
    expect(router.deferred).toBe(0);
    expect(router.deferredUntil).toBeNull();
  });

  it('leaves a retry to any other live peer, even a busy one, for the grace period', () => {
    const router = new ClaimRouter(
      agent('me'),
      [agent('busy', { inFlight: 4, recent: 20 })],
      policy,
      NOW,
    );
    const retry = task({ failedAgents: ['me'], readySince: NOW - 1000 });
    expect(router.decide(retry, everyone)).toEqual({
      take: false,
      peer: 'busy',
      criterion: 'fallback',
      until: NOW - 1000 + policy.fallbackGraceMs,
    });
    expect(router.leftTo).toEqual(new Set(['busy']));
    const old = task({ failedAgents: ['me'], readySince: NOW - policy.fallbackGraceMs });
    expect(router.decide(old, everyone), 'the grace ran out').toEqual({ take: true });
  });

  it('never waits for a peer that cannot run the task', () => {
    const router = new ClaimRouter(agent('me'), [agent('p')], policy, NOW);
    expect(router.decide(task({ failedAgents: ['me'] }), () => false)).toEqual({ take: true });
  });

  it('affinity leaves a peer only as many tasks as it has free slots', () => {
    const eu = agent('eu', { labels: { region: 'eu' }, concurrency: 2, inFlight: 1 });
    const router = new ClaimRouter(agent('me'), [eu], policy, NOW);
    const t = task({ affinity: [{ label: 'region', value: 'eu', weight: 1 }] });
    expect(router.decide(t, everyone)).toMatchObject({ take: false, criterion: 'affinity' });
    expect(router.decide(t, everyone), 'its one free slot is spoken for').toEqual({ take: true });
    const late = { ...t, readySince: NOW - policy.preferWindowMs };
    expect(new ClaimRouter(agent('me'), [eu], policy, NOW).decide(late, everyone)).toEqual({
      take: true,
    });
  });

  it('load spreads a batch like single claims would: each task to the least loaded', () => {
    const peers = [agent('p1', { concurrency: 2 }), agent('p2', { concurrency: 2 })];
    const router = new ClaimRouter(agent('me', { concurrency: 2 }), peers, policy, NOW);
    const taken = Array.from({ length: 9 }, () => router.decide(task(), everyone).take);
    // Each task to the least loaded, ties to the claimer: round robin.
    expect(taken).toEqual([true, false, false, true, false, false, true, false, false]);
    expect(router.taken).toBe(3);
    expect(router.deferred).toBe(6);
  });

  it('load leaves an idle peer more than its free slots when the claimer is far ahead', () => {
    const router = new ClaimRouter(
      agent('me', { recent: 12 }),
      [agent('idle', { concurrency: 4 })],
      policy,
      NOW,
    );
    const decisions = Array.from({ length: 10 }, () => router.decide(task(), everyone).take);
    expect(decisions.filter((take) => !take).length, 'until their loads meet').toBeGreaterThan(4);
  });

  it('load holds past the window while the peer keeps claiming, and not for a peer with no free slot', () => {
    const old = task({ readySince: NOW - 10_000 });
    const active = agent('active', { lastClaimAt: NOW - 100 });
    const claimer = agent('me', { recent: 8 });
    expect(new ClaimRouter(claimer, [active], policy, NOW).decide(old, everyone)).toEqual({
      take: false,
      peer: 'active',
      criterion: 'load',
      until: NOW - 100 + policy.preferWindowMs,
    });
    const idleLong = agent('idle', { lastClaimAt: NOW - 10_000 });
    expect(new ClaimRouter(claimer, [idleLong], policy, NOW).decide(old, everyone)).toEqual({
      take: true,
    });
    const full = agent('full', { concurrency: 1, inFlight: 1 });
    expect(new ClaimRouter(claimer, [full], policy, NOW).decide(task(), everyone)).toEqual({
      take: true,
    });
  });

  it('deferredUntil is the earliest window end of the tasks left', () => {
    const router = new ClaimRouter(agent('me'), [agent('p', { labels: { r: 'eu' } })], policy, NOW);
    const aff = [{ label: 'r', value: 'eu', weight: 1 }];
    router.decide(task({ affinity: aff, readySince: NOW - 50 }), everyone);
    router.decide(task({ affinity: aff, readySince: NOW - 100 }), everyone);
    expect(router.deferredUntil).toBe(NOW - 100 + policy.preferWindowMs);
  });
});

describe('affinity in task specs', () => {
  it('is normalised with weight 1 by default', () => {
    const [t] = normalizeTasks(
      [
        {
          type: 'x',
          affinity: [
            { label: 'region', value: 'eu' },
            { label: 'gpu', value: 'a100', weight: 2.5 },
          ],
        },
      ],
      { now: NOW },
    );
    expect(t?.affinity).toEqual([
      { label: 'region', value: 'eu', weight: 1 },
      { label: 'gpu', value: 'a100', weight: 2.5 },
    ]);
    expect(normalizeTasks([{ type: 'x' }], { now: NOW })[0]?.affinity).toEqual([]);
  });

  it('refuses bad rules with their paths', () => {
    let error: unknown;
    try {
      normalizeTasks(
        [
          {
            type: 'x',
            affinity: [
              { label: 'region' },
              { label: 'region', value: 'eu', weight: Number.POSITIVE_INFINITY },
            ],
          },
          { type: 'y', affinity: 'region=eu' },
          { type: 'z', affinity: Array.from({ length: 33 }, () => ({ label: 'a', value: 'b' })) },
        ],
        { now: NOW },
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path)).toEqual([
      'tasks[0].affinity[0].value',
      'tasks[0].affinity[1].weight',
      'tasks[1].affinity',
      'tasks[2].affinity',
    ]);
  });
});
