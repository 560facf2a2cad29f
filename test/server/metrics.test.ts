import { afterEach, describe, expect, it } from 'vitest';

import type { Lease } from '../../src/core/types.ts';
import { ManualClock } from '../helpers/clock.ts';
import { closeAll, startServer } from './harness.ts';

afterEach(closeAll);

/** The value of one sample in Prometheus text format, or undefined when absent. */
function sample(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (line.slice(0, space) === name) return Number(line.slice(space + 1));
  }
  return undefined;
}

async function scrapeUntil(
  s: Awaited<ReturnType<typeof startServer>>,
  ok: (text: string) => boolean,
): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const res = await s.request('GET', '/metrics');
    expect(res.status).toBe(200);
    const text = res.body as string;
    if (ok(text)) return text;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('metrics never reached the expected values');
}

describe('GET /metrics', () => {
  it('counts tokens and USD of recorded model calls by model', async () => {
    const s = await startServer();
    const backend = s.baton.backend;
    await backend.registerAgent({ id: 'agt_u', capabilities: [], concurrency: 2 });
    await s.baton.submit({ type: 'call' });
    await s.baton.submit({ type: 'call' });
    // Let the metrics follow the stream from here on.
    await scrapeUntil(s, (text) => sample(text, 'baton_tasks_submitted_total') !== undefined);
    const leases = await backend.claim({
      agentId: 'agt_u',
      capabilities: [],
      max: 2,
      leaseTtlMs: 30_000,
    });
    const call = (lease: Lease, model: string, costUsd: number) =>
      backend.recordUsage({
        taskId: lease.taskId,
        token: lease.token,
        agentId: 'agt_u',
        provider: 'anthropic',
        model,
        inputTokens: 1000,
        outputTokens: 100,
        cacheReadTokens: 400,
        reasoningTokens: 20,
        costUsd,
        costBasis: 'table',
      });
    await call(leases[0]!, 'claude-sonnet-4-5', 0.25);
    await call(leases[1]!, 'claude-sonnet-4-5', 0.5);
    await call(leases[1]!, 'claude-haiku-4-5', 0.125);
    const sonnet = 'model="anthropic:claude-sonnet-4-5"';
    const text = await scrapeUntil(
      s,
      (t) => sample(t, 'baton_llm_cost_usd_total{model="anthropic:claude-haiku-4-5"}') === 0.125,
    );
    expect(sample(text, `baton_llm_cost_usd_total{${sonnet}}`)).toBe(0.75);
    expect(sample(text, `baton_llm_tokens_total{${sonnet},kind="input"}`)).toBe(2000);
    expect(sample(text, `baton_llm_tokens_total{${sonnet},kind="output"}`)).toBe(200);
    expect(sample(text, `baton_llm_tokens_total{${sonnet},kind="cache_read"}`)).toBe(800);
    expect(sample(text, `baton_llm_tokens_total{${sonnet},kind="reasoning"}`)).toBe(40);
    expect(
      sample(text, `baton_llm_tokens_total{${sonnet},kind="cache_write"}`),
      'no cache writes, no sample',
    ).toBeUndefined();
  });

  it('counts submitted, succeeded, failed and retried tasks, with queue wait and run time', async () => {
    const s = await startServer();
    const backend = s.baton.backend;
    await backend.registerAgent({ id: 'agt_m', capabilities: ['gpu'], concurrency: 4 });
    const a = await s.baton.submit({ type: 'echo', requires: ['gpu'] });
    const b = await s.baton.submit({
      type: 'echo',
      requires: ['gpu'],
      maxAttempts: 2,
      backoff: { baseMs: 0, jitter: 'none' },
    });
    await s.baton.submit({ type: 'echo', requires: ['gpu'] });
    await s.baton.submit({ type: 'echo' });
    const leases = await backend.claim({
      agentId: 'agt_m',
      capabilities: ['gpu'],
      max: 2,
      leaseTtlMs: 30_000,
    });
    const byTask = new Map(leases.map((l) => [l.taskId, l]));
    await backend.complete([
      { taskId: a.id, token: byTask.get(a.id)!.token, agentId: 'agt_m', result: 1 },
    ]);
    await backend.fail([
      { taskId: b.id, token: byTask.get(b.id)!.token, agentId: 'agt_m', error: { message: 'x' } },
    ]);

    const text = await scrapeUntil(
      s,
      (t) =>
        sample(t, 'baton_tasks_retried_total') === 1 &&
        sample(t, 'baton_tasks_succeeded_total') === 1,
    );
    expect(sample(text, 'baton_tasks_submitted_total')).toBe(4);
    expect(sample(text, 'baton_tasks_failed_total')).toBe(0);
    expect(sample(text, 'baton_task_queue_wait_seconds_count')).toBe(2);
    expect(sample(text, 'baton_task_run_seconds_count{outcome="succeeded"}')).toBe(1);
    expect(sample(text, 'baton_task_run_seconds_count{outcome="retried"}')).toBe(1);
    // Gauges come from the store.
    expect(sample(text, 'baton_tasks{state="running"}')).toBe(0);
    expect(sample(text, 'baton_ready_depth{requires="gpu"}')).toBe(2);
    expect(sample(text, 'baton_ready_depth{requires=""}')).toBe(1);
    expect(sample(text, 'baton_agents{state="active"}')).toBe(1);
  });

  it('never observes a negative queue wait or run time, even when the clock steps back', async () => {
    const clock = new ManualClock();
    const s = await startServer({ clock: clock.now });
    const backend = s.baton.backend;
    await backend.registerAgent({ id: 'agt_m', capabilities: [], concurrency: 1 });
    const claim = async (): Promise<Lease> => {
      const [lease] = await backend.claim({
        agentId: 'agt_m',
        capabilities: [],
        max: 1,
        leaseTtlMs: 30_000,
      });
      expect(lease, 'a task to claim').toBeDefined();
      return lease!;
    };
    await s.baton.submitRun({
      tasks: [
        { type: 'x', key: 'a' },
        { type: 'x', key: 'b', dependsOn: ['a'] },
      ],
    });
    const a = await claim();
    clock.advance(20);
    await backend.complete([
      { taskId: a.taskId, token: a.token, agentId: a.agentId, result: null },
    ]);
    // An NTP correction: b is claimed "before" a finished, and completed 10 ms after that.
    clock.set(clock.now() - 40);
    const b = await claim();
    clock.advance(10);
    await backend.complete([
      { taskId: b.taskId, token: b.token, agentId: b.agentId, result: null },
    ]);

    const text = await scrapeUntil(s, (t) => sample(t, 'baton_tasks_succeeded_total') === 2);
    expect(sample(text, 'baton_task_queue_wait_seconds_count')).toBe(2);
    // Both were claimed the moment they became ready, by the store's clock, which did not go
    // back: no wait at all, never a negative one.
    expect(sample(text, 'baton_task_queue_wait_seconds_sum'), 'queue waits').toBe(0);
    // a ran 20 ms; b started and ended while the store's clock stood still.
    expect(sample(text, 'baton_task_run_seconds_sum{outcome="succeeded"}'), 'run times').toBe(0.02);
  });

  it('needs the read scope, and can be turned off', async () => {
    const s = await startServer({ tokens: [{ token: 'w', scopes: ['work'] }] });
    expect((await s.request('GET', '/metrics')).status).toBe(401);
    expect(
      (await s.request('GET', '/metrics', { headers: { authorization: 'Bearer w' } })).status,
    ).toBe(403);
    const off = await startServer({ metrics: false });
    expect((await off.request('GET', '/metrics')).status).toBe(404);
  });
});
